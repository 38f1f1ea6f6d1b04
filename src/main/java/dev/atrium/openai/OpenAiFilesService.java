package dev.atrium.openai;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.gateway.Caller;
import dev.atrium.server.Json;
import dev.atrium.server.MultipartUpload;
import dev.atrium.training.FilePurpose;
import dev.atrium.training.TrainingFile;
import dev.atrium.training.TrainingFiles;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.apache.commons.fileupload2.core.FileItemInput;
import org.apache.commons.fileupload2.core.FileItemInputIterator;

/**
 * OpenAI's {@code /v1/files}, for training data: upload (multipart {@code file} and {@code purpose}), list, retrieve,
 * content and delete, each scoped to the caller's tenant (another tenant's file is not found). The file streams
 * into the encrypted store as it arrives, checked line by line (a {@code .zip} of image folders by its signature).
 */
public final class OpenAiFilesService implements HttpService {
    private final TrainingFiles files;

    public OpenAiFilesService(TrainingFiles files) {
        this.files = requireNonNull(files, "files is null");
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/files", this::upload)
                .get("/files", this::list)
                .get("/files/{file_id}", this::retrieve)
                .get("/files/{file_id}/content", this::content)
                .delete("/files/{file_id}", this::delete);
    }

    record FileView(String id, String object, long bytes, long createdAt, String filename, String purpose,
            String status, Long expiresAt) {
        static FileView of(TrainingFile file) {
            return new FileView(file.id(), "file", file.bytes(), file.createdAt().getEpochSecond(), file.filename(),
                    file.purpose().wireName(), "processed", null);
        }
    }

    record FileList(String object, List<FileView> data, String firstId, String lastId, boolean hasMore) {}

    record Deleted(String id, String object, boolean deleted) {}

    private void upload(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireCallsModels();
        if (!FormParts.isMultipart(request)) {
            throw new AtriumException(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "upload a file as multipart/form-data with a"
                    + " 'file' part and a 'purpose' field");
        }
        if (request.headers().contentLength().orElse(-1) > files.maxBytes() + 64 * 1024) {
            throw new AtriumException(ErrorCode.PAYLOAD_TOO_LARGE, "the file is larger than the limit of "
                    + files.maxBytes() + " bytes");
        }
        String tenant = caller.key().tenantId();
        TrainingFile uploaded = null;
        String purpose = null;
        try {
            FileItemInputIterator parts = MultipartUpload.parts(request);
            while (parts.hasNext()) {
                FileItemInput part = parts.next();
                String name = part.getFieldName() == null ? "" : part.getFieldName();
                switch (name) {
                    case "file" -> {
                        if (uploaded != null) {
                            throw AtriumException.invalidParam("file", "send one file per upload");
                        }
                        try (InputStream in = part.getInputStream()) {
                            uploaded = files.upload(tenant, part.getName(), FilePurpose.FINE_TUNE, in);
                        }
                    }
                    case "purpose" -> {
                        try (InputStream in = part.getInputStream()) {
                            purpose = new String(in.readNBytes(256), StandardCharsets.UTF_8).strip();
                        }
                    }
                    default -> throw AtriumException.invalidParam(name, "Unrecognized request argument supplied: "
                            + name);
                }
            }
        } catch (IOException | RuntimeException e) {
            if (uploaded != null) {
                files.delete(tenant, uploaded.id());
            }
            if (e instanceof AtriumException atrium) {
                throw atrium;
            }
            throw new AtriumException(ErrorCode.INVALID_REQUEST, "the multipart body is malformed or was cut off"
                    + " before it ended");
        }
        try {
            if (uploaded == null) {
                throw AtriumException.invalidParam("file", "the form needs a 'file' part");
            }
            if (purpose == null || purpose.isEmpty()) {
                throw AtriumException.invalidParam("purpose", "the form needs a 'purpose' field: fine-tune");
            }
            if (FilePurpose.fromWireName(purpose).isEmpty()) {
                throw AtriumException.invalidParam("purpose", "Atrium keeps files for fine-tuning: purpose must be"
                        + " fine-tune, not '" + purpose + "'");
            }
        } catch (AtriumException e) {
            if (uploaded != null) {
                files.delete(tenant, uploaded.id());
            }
            throw e;
        }
        Json.send(response, Status.OK_200, FileView.of(uploaded));
    }

    private void list(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        Optional<FilePurpose> purpose = parameter(request, "purpose").map(text -> FilePurpose.fromWireName(text)
                .orElseThrow(() -> AtriumException.invalidParam("purpose", "purpose must be fine-tune")));
        int limit = parameter(request, "limit").map(text -> {
            try {
                return Integer.parseInt(text);
            } catch (NumberFormatException e) {
                return -1;
            }
        }).orElse(10_000);
        if (limit < 1 || limit > 10_000) {
            throw AtriumException.invalidParam("limit", "limit must be an integer from 1 to 10000");
        }
        boolean ascending = parameter(request, "order").map(order -> switch (order) {
            case "asc" -> true;
            case "desc" -> false;
            default -> throw AtriumException.invalidParam("order", "order must be asc or desc");
        }).orElse(false);
        List<TrainingFile> page = files.list(caller.key().tenantId(), purpose, parameter(request, "after"),
                limit + 1, ascending);
        List<FileView> data = page.stream().limit(limit).map(FileView::of).toList();
        Json.send(response, Status.OK_200, new FileList("list", data, data.isEmpty() ? null : data.getFirst().id(),
                data.isEmpty() ? null : data.getLast().id(), page.size() > limit));
    }

    private void retrieve(ServerRequest request, ServerResponse response) {
        Json.send(response, Status.OK_200, FileView.of(files.get(Caller.current().key().tenantId(), id(request))));
    }

    private void content(ServerRequest request, ServerResponse response) {
        TrainingFile file = files.get(Caller.current().key().tenantId(), id(request));
        response.status(Status.OK_200);
        response.header(HeaderNames.CONTENT_TYPE, "application/octet-stream");
        try (InputStream in = files.content(file); OutputStream out = response.outputStream()) {
            in.transferTo(out);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private void delete(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireCallsModels();
        String id = id(request);
        files.delete(caller.key().tenantId(), id);
        Json.send(response, Status.OK_200, new Deleted(id, "file", true));
    }

    private static String id(ServerRequest request) {
        return request.path().pathParameters().get("file_id");
    }

    private static Optional<String> parameter(ServerRequest request, String name) {
        return request.query().first(name).asOptional().filter(value -> !value.isEmpty());
    }
}
