package dev.atrium.openai;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.server.Json;
import dev.atrium.server.MultipartUpload;
import io.helidon.webserver.http.ServerRequest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.commons.fileupload2.core.FileItemInput;
import org.apache.commons.fileupload2.core.FileItemInputIterator;

/**
 * A {@code multipart/form-data} request read whole within a byte limit: its text fields by name (repeatable, as
 * {@code timestamp_granularities[]} is) and its files in order. What is held is what the client sent, at most the
 * limit: a declared length is never trusted for sizing.
 */
record FormParts(Map<String, List<String>> fields, List<FilePart> files) {
    /** The longest text field read; longer ones are refused. */
    private static final int MAX_FIELD_BYTES = 64 * 1024;

    /** An uploaded file: its field name, the name the client gave it, and its bytes. */
    record FilePart(String field, String filename, byte[] bytes) {}

    static boolean isMultipart(ServerRequest request) {
        return Json.mediaType(request).orElse("").equals("multipart/form-data");
    }

    /**
     * @param fileFields the field names that hold files; any other part is a text field
     * @throws AtriumException 413 past {@code maxBytes}, 400 for a malformed body
     */
    static FormParts read(ServerRequest request, long maxBytes, List<String> fileFields) {
        if (request.headers().contentLength().orElse(-1) > maxBytes) {
            throw tooLarge(maxBytes);
        }
        Map<String, List<String>> fields = new LinkedHashMap<>();
        List<FilePart> files = new ArrayList<>();
        long budget = maxBytes;
        try {
            FileItemInputIterator parts = MultipartUpload.parts(request);
            while (parts.hasNext()) {
                FileItemInput part = parts.next();
                String name = part.getFieldName() == null ? "" : part.getFieldName();
                boolean file = fileFields.contains(name);
                long limit = file ? budget : Math.min(budget, MAX_FIELD_BYTES);
                byte[] bytes;
                try (InputStream in = part.getInputStream()) {
                    bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, limit + 1));
                }
                if (bytes.length > limit) {
                    if (!file && limit == MAX_FIELD_BYTES) {
                        throw AtriumException.invalidParam(name, "the form field '" + name + "' is longer than 64 KiB");
                    }
                    throw tooLarge(maxBytes);
                }
                budget -= bytes.length;
                if (file) {
                    files.add(new FilePart(name, part.getName() == null ? "" : part.getName(), bytes));
                } else {
                    fields.computeIfAbsent(name, key -> new ArrayList<>()).add(new String(bytes, StandardCharsets.UTF_8));
                }
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof AtriumException atrium) {
                throw atrium;
            }
            throw new AtriumException(ErrorCode.INVALID_REQUEST, "the multipart body is malformed or was cut off"
                    + " before it ended");
        }
        return new FormParts(fields, files);
    }

    /** A field given once at most. */
    Optional<String> field(String name) {
        List<String> values = fields.getOrDefault(name, List.of());
        if (values.size() > 1) {
            throw AtriumException.invalidParam(name, "the form field '" + name + "' is given more than once");
        }
        return values.stream().findFirst();
    }

    String requiredField(String name) {
        return field(name).filter(value -> !value.isBlank()).orElseThrow(() -> AtriumException.invalidParam(name,
                "the form field '" + name + "' is required"));
    }

    /** Refuses text fields not in the list, naming the first. */
    void rejectUnknownFields(List<String> allowed) {
        for (String name : fields.keySet()) {
            if (!allowed.contains(name)) {
                throw AtriumException.invalidParam(name, "Unrecognized request argument supplied: " + name);
            }
        }
    }

    private static AtriumException tooLarge(long maxBytes) {
        return new AtriumException(ErrorCode.PAYLOAD_TOO_LARGE, "the request body is larger than the limit of "
                + maxBytes + " bytes");
    }
}
