package dev.atrium.server;

import io.helidon.webserver.http.ServerRequest;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import org.apache.commons.fileupload2.core.AbstractFileUpload;
import org.apache.commons.fileupload2.core.DiskFileItem;
import org.apache.commons.fileupload2.core.DiskFileItemFactory;
import org.apache.commons.fileupload2.core.FileItemInputIterator;
import org.apache.commons.fileupload2.core.FileUploadException;
import org.apache.commons.fileupload2.core.RequestContext;

/**
 * Streams the parts of a {@code multipart/form-data} request body one at a time (Apache Commons FileUpload's
 * streaming API), so that uploads go to disk as they arrive and are never held in memory.
 */
public final class MultipartUpload extends AbstractFileUpload<RequestContext, DiskFileItem, DiskFileItemFactory> {

    /**
     * Iterates the parts of the request; each part's stream must be read before the next is taken. Sizes are
     * limited by the caller while it stores each part, so that a too-large upload is told apart from a broken one.
     */
    public static FileItemInputIterator parts(ServerRequest request) throws IOException {
        MultipartUpload upload = new MultipartUpload();
        upload.setMaxFileCount(16);
        return upload.getItemIterator(context(request));
    }

    private static RequestContext context(ServerRequest request) {
        return new RequestContext() {
            @Override
            public String getCharacterEncoding() {
                return null;
            }

            @Override
            public long getContentLength() {
                return request.headers().contentLength().orElse(-1);
            }

            @Override
            public String getContentType() {
                return request.headers().contentType().map(type -> type.text()).orElse(null);
            }

            @Override
            public InputStream getInputStream() {
                // an upload of gigabytes may take longer than the body timeout, but never stall longer than it
                return ConnectionGuard.streamedBody(request.content().inputStream());
            }

            @Override
            public boolean isMultipartRelated() {
                return false;
            }
        };
    }

    @Override
    public FileItemInputIterator getItemIterator(RequestContext request) throws FileUploadException, IOException {
        return super.getItemIterator(request);
    }

    @Override
    public Map<String, List<DiskFileItem>> parseParameterMap(RequestContext request) throws FileUploadException {
        throw new UnsupportedOperationException("uploads are streamed, never buffered");
    }

    @Override
    public List<DiskFileItem> parseRequest(RequestContext request) throws FileUploadException {
        throw new UnsupportedOperationException("uploads are streamed, never buffered");
    }
}
