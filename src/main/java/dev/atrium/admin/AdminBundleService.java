package dev.atrium.admin;

import static java.util.Objects.requireNonNull;

import dev.atrium.gateway.Caller;
import dev.atrium.registry.BundleExport;
import dev.atrium.registry.ModelRegistry;
import dev.atrium.registry.ResolvedModel;
import dev.atrium.registry.SigningKey;
import dev.atrium.server.Json;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.Map;
import java.util.function.Function;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Signed bundles of versions for the edge ({@code GET /admin/models/{name}/versions/{version}/bundle}, see
 * {@link dev.atrium.registry.Bundle}), and the public key they are signed with ({@code GET /admin/signing-key}).
 * Whoever may read a version may export its bundle, as its ONNX file; the key is public.
 */
public final class AdminBundleService implements HttpService {
    private final ModelRegistry registry;
    private final java.util.function.Supplier<SigningKey> key;
    private final Function<ResolvedModel, Map<String, String>> runtimes;
    private final Clock clock;

    /** @param runtimes the runtimes (and their versions) a version needs, written in its manifest */
    public AdminBundleService(ModelRegistry registry, java.util.function.Supplier<SigningKey> key,
            Function<ResolvedModel, Map<String, String>> runtimes, Clock clock) {
        this.registry = requireNonNull(registry, "registry is null");
        this.key = requireNonNull(key, "key is null");
        this.runtimes = requireNonNull(runtimes, "runtimes is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/models/{name}/versions/{version}/bundle", this::bundle)
                .get("/signing-key", this::signingKey);
    }

    private void bundle(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        String name = request.path().pathParameters().get("name");
        int version = AdminModelsService.versionNumber(request);
        // refused before the version is resolved for its files: resolving a remote version opens its upstream key
        BundleExport.requireBundleable(registry.model(caller.modelScope(), name));
        registry.version(caller.modelScope(), name, version);
        ResolvedModel resolved = registry.readableVersion(caller.modelScope(), name, version);
        SigningKey signer = key.get();
        response.status(Status.OK_200);
        response.header(HeaderNames.CONTENT_TYPE, "application/zip");
        // model names are lowercase letters, digits, '-', '.' and '_': nothing to quote
        response.header(HeaderNames.CONTENT_DISPOSITION, "attachment; filename=\"" + resolved.model().name() + "-"
                + version + ".atrium.zip\"");
        try (OutputStream out = response.outputStream()) {
            BundleExport.write(registry, resolved, runtimes.apply(resolved), signer, clock.instant(), out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void signingKey(ServerRequest request, ServerResponse response) {
        SigningKey key = this.key.get();
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("object", "signing_key");
        node.put("algorithm", SigningKey.ALGORITHM);
        node.put("key_id", key.keyId());
        node.put("public_key", key.publicKeyBase64());
        node.put("encoding", "x509-spki-base64");
        Json.send(response, Status.OK_200, node);
    }
}
