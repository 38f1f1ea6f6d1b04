package dev.atrium.registry;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.ArtifactEngine;
import dev.atrium.engine.ArtifactFiles;
import dev.atrium.engine.Deployment;
import dev.atrium.engine.ModelOptions;
import dev.atrium.engine.Engine;
import dev.atrium.engine.EngineKind;
import dev.atrium.engine.ModelMetadata;
import dev.atrium.engine.ModelTask;
import dev.atrium.engine.RemoteMetadata;
import dev.atrium.engine.Secret;
import dev.atrium.engine.VersionKey;
import tools.jackson.databind.JsonNode;
import dev.atrium.scheduling.SchedulingOptions;
import dev.atrium.store.SecretCipher;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Models, their immutable versions and aliases, and the rules that tie them to the artifact store and the
 * engines: an upload becomes a version only once its files are validated by the engine and stored; deleting a
 * version unloads it and removes files no other version uses.
 */
public final class ModelRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(ModelRegistry.class);

    private final ModelStore store;
    private final ArtifactStore artifacts;
    private final Map<EngineKind, Engine> engines;
    private final SecretCipher secrets;
    private final UpstreamHosts upstreams;
    private final Clock clock;
    /** Serializes committing and deleting files, so a sweep never removes a file an upload is committing. */
    private final ReentrantLock fileLock = new ReentrantLock();
    /**
     * Resolutions of references that requests used, so that serving a request reads no table. Every change made
     * through this registry clears it (after its commit) and bumps the generation, so a resolution read before a
     * change is never kept after it. A change made by another node sharing the store is not seen here: the
     * distributed mode will need a short time-to-live on top.
     */
    /** Resolutions served lately; bounded, since callers choose the references (and tenants the scopes). */
    private final Cache<ResolutionKey, ResolvedModel> resolutions = Caffeine.newBuilder().maximumSize(10_000).build();

    private record ResolutionKey(String owner, ModelReference reference) {}

    /** Aliases' splits by owner, model name and alias; empty for an alias that points at one version. */
    private final Cache<SplitKey, Optional<Split>> splits = Caffeine.newBuilder().maximumSize(10_000).build();

    private record SplitKey(String owner, String model, String alias) {}
    private final AtomicLong generation = new AtomicLong();

    private final dev.atrium.store.ChangeFeed changes;

    public ModelRegistry(Jdbi jdbi, ArtifactStore artifacts, Map<EngineKind, Engine> engines, SecretCipher secrets,
            UpstreamHosts upstreams, Clock clock) {
        this(jdbi, artifacts, engines, secrets, upstreams, clock, dev.atrium.store.ChangeFeed.none());
    }

    /** A registry whose changes other replicas hear of through the feed, and theirs here. */
    public ModelRegistry(Jdbi jdbi, ArtifactStore artifacts, Map<EngineKind, Engine> engines, SecretCipher secrets,
            UpstreamHosts upstreams, Clock clock, dev.atrium.store.ChangeFeed changes) {
        this.changes = requireNonNull(changes, "changes is null");
        changes.subscribe(dev.atrium.store.ChangeFeed.Topic.MODELS, this::forget);
        this.store = new ModelStore(jdbi);
        this.artifacts = requireNonNull(artifacts, "artifacts is null");
        this.engines = Map.copyOf(engines);
        this.secrets = requireNonNull(secrets, "secrets is null");
        this.upstreams = requireNonNull(upstreams, "upstreams is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    public ArtifactStore artifacts() {
        return artifacts;
    }

    public UpstreamHosts upstreams() {
        return upstreams;
    }

    // ---- models -------------------------------------------------------------------------------------------------

    /**
     * Creates a model owned by the scope: its tenant's, or a public one for the platform. A tenant cannot take
     * the name of a public model it sees.
     */
    public Model createModel(ModelScope scope, String name, ModelTask task, EngineKind engine, String description) {
        if (!Model.isValidName(name)) {
            throw AtriumException.invalidParam("name", "model name '" + name + "' is not valid: use lowercase"
                    + " letters, digits, '-', '.' and '_', starting with a letter or digit, at most 128 characters");
        }
        if (!engine.serves(task)) {
            throw AtriumException.invalidParam("engine", "engine '" + engine.wireName() + "' does not serve "
                    + task.wireName() + " models");
        }
        if (scope.tenantId() != null && store.findModel(Model.PUBLIC, name).isPresent()) {
            throw new AtriumException(ErrorCode.CONFLICT, "model '" + name + "' already exists as a public model");
        }
        Model model = store.insertModel(scope.owner(), name, task, engine, description, clock.instant());
        changed();
        return model;
    }

    /** The models the scope sees, by name; a tenant's own model hides a public one of the same name. */
    public List<Model> listModels(ModelScope scope) {
        Map<String, Model> byName = new LinkedHashMap<>();
        for (Model model : store.listModels(scope.owner())) {
            if (scope.allowed().test(model.name())) {
                byName.putIfAbsent(model.name(), model);
            }
        }
        return List.copyOf(byName.values());
    }

    /** A model the scope sees, or 404: another tenant's model answers exactly like one that does not exist. */
    public Model model(ModelScope scope, String name) {
        return findModel(scope, name).orElseThrow(() -> modelNotFound(name));
    }

    public Optional<Model> findModel(ModelScope scope, String name) {
        if (!Model.isValidName(name) || !scope.allowed().test(name)) {
            return Optional.empty();
        }
        return store.findModel(scope.owner(), name).or(() -> store.findModel(Model.PUBLIC, name));
    }

    /** A model the scope may change: its own (a tenant's, or a public one for the platform); 403 if only seen. */
    public Model manageable(ModelScope scope, String name) {
        Model model = model(scope, name);
        if (!model.owner().equals(scope.owner())) {
            throw new AtriumException(ErrorCode.PERMISSION_DENIED, "model '" + name
                    + "' is public; only the platform admin can change it");
        }
        return model;
    }

    public void deleteModel(ModelScope scope, String name) {
        Model model = manageable(scope, name);
        deleteModel(model);
    }

    /** Deletes every model a tenant owns, when the tenant is deleted. */
    public void deleteModelsOf(String tenantId) {
        for (Model model : store.listOwnedModels(tenantId)) {
            deleteModel(model);
        }
    }

    private void deleteModel(Model model) {
        fileLock.lock();
        try {
            List<Integer> versions = store.deleteModel(model.id());
            changed();
            versions.forEach(version -> unloadDeleted(model, version));
            sweepArtifacts();
        } finally {
            fileLock.unlock();
        }
        LOG.info("deleted model {}", model.name());
    }

    // ---- versions -----------------------------------------------------------------------------------------------

    /**
     * Makes staged uploads a new version: the engine validates them, then they are moved into the store and the
     * version is committed. On any failure the staged files are removed and no version exists.
     *
     * @param staged uploaded files by role ({@code onnx}, {@code tokenizer})
     * @param config the upload's config JSON as sent, or {@code {}}
     */
    public ModelVersion addVersion(ModelScope scope, String name, Map<String, StagedArtifact> staged,
            ModelOptions options, String config, SchedulingOptions scheduling) {
        return addVersion(scope, name, staged, options, config, scheduling, null, null, null);
    }

    /**
     * Makes a signed upload a new version, as {@link #addVersion(ModelScope, String, Map, ModelOptions, String,
     * SchedulingOptions)} does, with its verified signature kept in the same transaction.
     *
     * @param signature the upload's signature, verified against a trusted publisher key; null for an unsigned one
     */
    public ModelVersion addVersion(ModelScope scope, String name, Map<String, StagedArtifact> staged,
            ModelOptions options, String config, SchedulingOptions scheduling, VersionSignature signature) {
        return addVersion(scope, name, staged, options, config, scheduling, null, null, signature);
    }

    /**
     * Makes a training job's model a new version, with its lineage in the same transaction; or, when the job made a
     * version of the model already (it ran again after a restart), answers that one.
     *
     * @param jobId the job
     * @param lineage what the version was made from, a JSON object
     */
    public ModelVersion addTrainedVersion(ModelScope scope, String name, Map<String, StagedArtifact> staged,
            ModelOptions options, String config, String jobId, String lineage) {
        Model model = manageable(scope, name);
        java.util.OptionalInt made = store.versionMadeBy(model.id(), jobId);
        if (made.isPresent()) {
            staged.values().forEach(file -> artifacts.discard(file.path()));
            return version(scope, name, made.getAsInt());
        }
        return addVersion(scope, name, staged, options, config, SchedulingOptions.none(), jobId, lineage, null);
    }

    /**
     * Makes the model's next version {@code next}, skipping the numbers before it: a version imported from a bundle
     * keeps the number it had where it was made. Numbers are never reused, so this never moves back.
     */
    public void skipVersionsTo(ModelScope scope, String name, int next) {
        if (next < 1) {
            throw new IllegalArgumentException("version numbers start at 1: " + next);
        }
        store.skipVersionsTo(manageable(scope, name), next);
    }

    /** Provisional keys of {@link #trial} deployments: negative, so never a version's. */
    private final AtomicLong trials = new AtomicLong();

    /**
     * A deployment of a staged model file that is not a version yet, beside the version it was made from (a
     * quantized copy of it), so that the two can be measured against each other before it becomes one: inspected
     * as an upload of it with the source's tokenizer and options would be, under a provisional key (a negative
     * version number) that the caller unloads when done.
     */
    public Deployment trial(ResolvedModel source, StagedArtifact onnx, ModelOptions options) {
        Model model = source.model();
        if (!(engine(model) instanceof ArtifactEngine inspector)) {
            throw AtriumException.invalidParam("model", "a model of engine " + model.engine().wireName()
                    + " has no files to measure");
        }
        Deployment base = source.deployment();
        ArtifactFiles files = new ArtifactFiles(onnx.path(), base.files().tokenizer(), base.files().voiceActivity());
        ModelMetadata metadata = inspector.inspect(model.task(), files, options, base.parts());
        int provisional = (int) -(trials.incrementAndGet() % Integer.MAX_VALUE);
        return new Deployment(new VersionKey(model.id(), model.name(), provisional), model.task(), files, metadata,
                SchedulingOptions.none(), null, base.config(), base.parts());
    }

    /** A version's lineage, if a training job made it. */
    public Optional<JsonNode> lineage(ModelVersion version) {
        return store.lineage(version.modelId(), version.version()).map(CONFIG_READER::readTree);
    }

    private static String hash(Optional<StagedArtifact> file) {
        return file.map(StagedArtifact::sha256).orElse(SignedFiles.NONE);
    }

    /** Who signed a version's files, if it was a signed upload; versions Atrium made itself have none. */
    public Optional<VersionSignature> signature(ModelVersion version) {
        return store.signature(version.modelId(), version.version());
    }

    private ModelVersion addVersion(ModelScope scope, String name, Map<String, StagedArtifact> staged,
            ModelOptions options, String config, SchedulingOptions scheduling, String jobId, String lineage,
            VersionSignature signature) {
        try {
            Model model = manageable(scope, name);
            String role = model.engine().artifactRole();
            if (role == null) {
                throw new AtriumException(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "model '" + name + "' is a remote model:"
                        + " create its versions with a JSON body (base_url, upstream_model, api_key, ...), not an upload");
            }
            StagedArtifact main = staged.get(role);
            if (main == null) {
                throw AtriumException.invalidParam(role, "the upload needs a part named '" + role
                        + "' with the model file (engine " + model.engine().wireName() + ")");
            }
            for (String part : staged.keySet()) {
                boolean vad = part.equals(ArtifactFile.VAD) && model.task() == ModelTask.TRANSCRIPTION;
                if (!part.equals(role) && !part.equals(ArtifactFile.TOKENIZER) && !vad) {
                    throw AtriumException.invalidParam(part, "a model of engine " + model.engine().wireName()
                            + " takes no '" + part + "' part");
                }
            }
            Optional<StagedArtifact> tokenizer = Optional.ofNullable(staged.get(ArtifactFile.TOKENIZER));
            if (!(engine(model) instanceof ArtifactEngine inspector)) {
                throw AtriumException.invalidParam("model", "a model of engine " + model.engine().wireName()
                        + " has no files to upload");
            }
            if (signature != null && !signature.signed().covers(main.sha256(), hash(tokenizer),
                    hash(Optional.ofNullable(staged.get(ArtifactFile.VAD))))) {
                throw AtriumException.withParam(ErrorCode.SIGNATURE_INVALID, "signature", "the signature is not over"
                        + " this upload's files");
            }
            // only safe formats reach an engine: no pickle, no ONNX that opens files beside it
            staged.forEach((part, file) -> ArtifactFormats.check(part, file.path()));
            Map<String, Deployment> parts = new LinkedHashMap<>();
            config = pinParts(scope, model, config, parts);
            Optional<StagedArtifact> voiceActivity = Optional.ofNullable(staged.get(ArtifactFile.VAD));
            ModelMetadata metadata = inspector.inspect(model.task(), new ArtifactFiles(main.path(),
                    tokenizer.map(StagedArtifact::path), voiceActivity.map(StagedArtifact::path)), options, parts);
            List<ArtifactFile> files = new ArrayList<>();
            files.add(new ArtifactFile(role, main.sha256(), main.sizeBytes()));
            tokenizer.ifPresent(t -> files.add(new ArtifactFile(ArtifactFile.TOKENIZER, t.sha256(), t.sizeBytes())));
            voiceActivity.ifPresent(v -> files.add(new ArtifactFile(ArtifactFile.VAD, v.sha256(), v.sizeBytes())));
            fileLock.lock();
            try {
                staged.values().forEach(artifacts::commit);
                try {
                    ModelVersion version = store.insertVersion(model, files, metadata, config, scheduling,
                            clock.instant(), null, jobId == null ? null : new ModelStore.Lineage(jobId, lineage),
                            signature);
                    changed();
                    LOG.info("added version {} of model {} (sha256 {})", version.version(), name, main.sha256());
                    return version;
                } catch (RuntimeException e) {
                    sweepArtifacts();
                    throw e;
                }
            } finally {
                fileLock.unlock();
            }
        } finally {
            staged.values().forEach(file -> artifacts.discard(file.path()));
        }
    }

    /**
     * Adds a version of a remote model: its upstream (which must be on the allowlist), its fallbacks (models the
     * scope sees, with the same task) and its API key, sealed for this version in the same transaction.
     *
     * @param apiKey the upstream's API key, or null when it takes none
     */
    public ModelVersion addRemoteVersion(ModelScope scope, String name, RemoteMetadata requested, String apiKey,
            String config) {
        Model model = manageable(scope, name);
        if (model.engine() != EngineKind.REMOTE) {
            throw new AtriumException(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "model '" + name + "' is served by engine "
                    + model.engine().wireName() + ": upload its files as multipart/form-data");
        }
        String baseUrl = upstreams.checkBaseUrl(requested.baseUrl());
        for (String fallback : requested.fallbacks()) {
            ModelReference reference;
            try {
                reference = ModelReference.parse(fallback);
            } catch (AtriumException e) {
                throw AtriumException.invalidParam("fallbacks", "fallback '" + fallback + "' is not a model reference");
            }
            if (reference.name().equals(model.name())) {
                throw AtriumException.invalidParam("fallbacks", "a model cannot be its own fallback");
            }
            Model target = findModel(scope, reference.name()).orElseThrow(() -> AtriumException.invalidParam(
                    "fallbacks", "fallback model '" + reference.name() + "' does not exist"));
            if (target.task() != model.task()) {
                throw AtriumException.invalidParam("fallbacks", "fallback model '" + target.name() + "' is a "
                        + target.task().wireName() + " model; '" + name + "' is a " + model.task().wireName() + " model");
            }
        }
        RemoteMetadata remote = new RemoteMetadata(baseUrl, requested.upstreamModel(), requested.timeoutMillis(),
                requested.maxAttempts(), requested.initialBackoffMillis(), requested.maxBackoffMillis(),
                requested.fallbacks(), requested.contextLength(), requested.maxOutputTokens(), apiKey != null);
        ModelVersion version = store.insertVersion(model, List.of(), ModelMetadata.remote(remote), config,
                SchedulingOptions.none(), clock.instant(), apiKey == null ? null : number -> secrets.seal(apiKey, secretContext(model.id(), number)));
        changed();
        LOG.info("added version {} of remote model {} (upstream {}, model {})", version.version(), name, baseUrl,
                remote.upstreamModel());
        return version;
    }

    /** What a version's sealed secret is bound to, so it opens for that version only. */
    private static String secretContext(long modelId, int version) {
        return "model-version:" + modelId + ":" + version;
    }

    public List<ModelVersion> listVersions(Model model) {
        return store.listVersions(model);
    }

    public ModelVersion version(ModelScope scope, String name, int version) {
        Model model = model(scope, name);
        return store.findVersion(model, version).orElseThrow(() -> versionNotFound(model, version));
    }

    /**
     * A version of a model the scope sees, with its files on disk and a composed version's parts, for reading them
     * (an export); 404 for a model or version the scope does not see, as {@link #version} answers.
     */
    public ResolvedModel readableVersion(ModelScope scope, String name, int version) {
        Model model = model(scope, name);
        ModelVersion found = store.findVersion(model, version).orElseThrow(() -> versionNotFound(model, version));
        return new ResolvedModel(model, found, deployment(model, found));
    }

    /** A version of a model the scope may change, ready to load or unload. */
    public ResolvedModel manageableVersion(ModelScope scope, String name, int version) {
        Model model = manageable(scope, name);
        ModelVersion found = store.findVersion(model, version).orElseThrow(() -> versionNotFound(model, version));
        return new ResolvedModel(model, found, deployment(model, found));
    }

    public void deleteVersion(ModelScope scope, String name, int version) {
        Model model = manageable(scope, name);
        fileLock.lock();
        try {
            if (!store.deleteVersion(model, version)) {
                throw versionNotFound(model, version);
            }
            changed();
            unloadDeleted(model, version);
            sweepArtifacts();
        } finally {
            fileLock.unlock();
        }
        LOG.info("deleted version {} of model {}", version, name);
    }

    /**
     * Changes how a version is scheduled. A loaded version is reloaded with the new settings at once (requests
     * waiting in its old queue run there first); others take them when they load.
     */
    public ModelVersion setScheduling(ModelScope scope, String name, int version, SchedulingOptions scheduling) {
        Model model = manageable(scope, name);
        if (!model.engine().hasArtifacts()) {
            throw AtriumException.invalidParam("scheduling", "a remote model is not scheduled here; its upstream is");
        }
        if (!store.setScheduling(model, version, scheduling)) {
            throw versionNotFound(model, version);
        }
        changed();
        VersionKey key = new VersionKey(model.id(), model.name(), version);
        ModelVersion updated = store.findVersion(model, version).orElseThrow(() -> versionNotFound(model, version));
        Engine engine = engine(model);
        if (engine.isLoaded(key)) {
            engine.unload(key);
            engine.load(deployment(model, updated));
        }
        LOG.info("version {} of model {} is now scheduled with {}", version, name, scheduling);
        return updated;
    }

    // ---- aliases ------------------------------------------------------------------------------------------------

    public void setAlias(ModelScope scope, String name, String alias, int version) {
        checkAlias(alias);
        Model model = manageable(scope, name);
        store.setAlias(model, alias, version, clock.instant());
        changed();
        LOG.info("alias {}:{} now points at version {}", name, alias, version);
    }

    public void deleteAlias(ModelScope scope, String name, String alias) {
        checkAlias(alias);
        Model model = manageable(scope, name);
        if (!store.deleteAlias(model, alias)) {
            throw new AtriumException(ErrorCode.NOT_FOUND, "model '" + name + "' has no alias '" + alias + "'");
        }
        changed();
    }

    /** Alias to version, sorted by alias; {@code latest} is included when the model has a version. */
    public Map<String, Integer> aliases(Model model) {
        Map<String, Integer> aliases = new LinkedHashMap<>(store.aliases(model));
        store.latestVersion(model).ifPresent(latest -> aliases.put(ModelReference.LATEST, latest));
        return aliases;
    }

    private static void checkAlias(String alias) {
        if (!ModelReference.isValidAlias(alias)) {
            throw AtriumException.invalidParam("alias", "alias '" + alias + "' is not valid: start with a"
                    + " lowercase letter; use lowercase letters, digits, '-', '.' and '_'");
        }
        if (alias.equals(ModelReference.LATEST)) {
            throw AtriumException.invalidParam("alias", "'latest' always means the newest version and cannot be set");
        }
    }

    // ---- resolution ---------------------------------------------------------------------------------------------

    /** Resolves a reference to one version: a version, an alias, or {@code production} if set, else the latest. */
    public ResolvedModel resolve(ModelScope scope, ModelReference reference) {
        if (!scope.allowed().test(reference.name())) {
            throw modelNotFound(reference.toString());
        }
        ResolutionKey key = new ResolutionKey(scope.owner(), reference);
        ResolvedModel cached = resolutions.getIfPresent(key);
        if (cached != null) {
            return cached;
        }
        long seen = generation.get();
        ResolvedModel resolved = resolveInStore(scope, reference);
        if (generation.get() == seen) {
            resolutions.put(key, resolved);
            if (generation.get() != seen) {
                resolutions.asMap().remove(key, resolved);
            }
        }
        return resolved;
    }

    /** Forgets every cached resolution, and tells the other replicas; called after each committed change. */
    private void changed() {
        forget();
        changes.publish(dev.atrium.store.ChangeFeed.Topic.MODELS);
    }

    /** Forgets every cached resolution (this replica's change, or another's). */
    private void forget() {
        generation.incrementAndGet();
        resolutions.invalidateAll();
        splits.invalidateAll();
    }

    /**
     * Resolves a reference for one request: an alias with a split lands on one of its versions, as the split's
     * weights and stickiness decide for this routing; anything else as {@link #resolve(ModelScope, ModelReference)}.
     */
    public ResolvedModel resolve(ModelScope scope, ModelReference reference, Split.Routing routing) {
        if (reference.version().isEmpty()) {
            String alias = reference.alias().orElse(ModelReference.PRODUCTION);
            if (!alias.equals(ModelReference.LATEST) && scope.allowed().test(reference.name())) {
                Optional<Split> split = split(scope, reference.name(), alias);
                if (split.isPresent()) {
                    int version = split.get().pick(routing, reference.name() + ":" + alias);
                    return resolve(scope, ModelReference.parse(reference.name() + ":" + version));
                }
            }
        }
        return resolve(scope, reference);
    }

    private Optional<Split> split(ModelScope scope, String name, String alias) {
        SplitKey key = new SplitKey(scope.owner(), name, alias);
        Optional<Split> cached = splits.getIfPresent(key);
        if (cached != null) {
            return cached;
        }
        long seen = generation.get();
        Optional<Split> split = findModel(scope, name).flatMap(model -> store.split(model, alias));
        if (generation.get() == seen) {
            splits.put(key, split);
            if (generation.get() != seen) {
                splits.asMap().remove(key, split);
            }
        }
        return split;
    }

    /** An alias's split, if it points at more than one version. */
    public Optional<Split> split(Model model, String alias) {
        return store.split(model, alias);
    }

    /**
     * Points an alias at several versions with weights (or one: a plain alias), atomically: each request resolves
     * the alias before or after, never a mix.
     */
    public void setSplit(ModelScope scope, String name, String alias, Map<Integer, Integer> weights,
            Split.Sticky sticky) {
        checkAlias(alias);
        Model model = manageable(scope, name);
        new Split(weights, sticky); // checks the weights
        store.setSplit(model, alias, weights, sticky, clock.instant());
        changed();
        LOG.info("alias {}:{} now splits {} ({})", name, alias, weights, sticky.wireName());
    }

    private ResolvedModel resolveInStore(ModelScope scope, ModelReference reference) {
        Model model = findModel(scope, reference.name()).orElseThrow(() -> modelNotFound(reference.toString()));
        int version;
        if (reference.version().isPresent()) {
            version = reference.version().getAsInt();
        } else {
            String alias = reference.alias().orElse(ModelReference.PRODUCTION);
            Integer target = alias.equals(ModelReference.LATEST) ? null : store.aliases(model).get(alias);
            if (target != null) {
                version = target;
            } else if (reference.alias().isPresent() && !alias.equals(ModelReference.LATEST)) {
                throw AtriumException.withParam(ErrorCode.MODEL_NOT_FOUND, "model",
                        "model '" + model.name() + "' has no alias '" + alias + "'");
            } else {
                version = store.latestVersion(model).orElseThrow(() -> AtriumException.withParam(
                        ErrorCode.MODEL_NOT_FOUND, "model", "model '" + model.name() + "' has no versions yet"));
            }
        }
        ModelVersion found = store.findVersion(model, version).orElseThrow(() -> AtriumException.withParam(
                ErrorCode.MODEL_NOT_FOUND, "model", "model '" + model.name() + "' has no version " + version));
        return new ResolvedModel(model, found, deployment(model, found));
    }

    public ResolvedModel resolve(ModelScope scope, String reference) {
        return resolve(scope, ModelReference.parse(reference));
    }

    /**
     * Sets how a model's loaded versions are kept (pinned, keep-alive), for the residency to apply; the caller
     * hands it to the server's {@link dev.atrium.engine.residency.Residency}.
     *
     * @return the model
     */
    public Model setResidency(ModelScope scope, String name, dev.atrium.engine.residency.ResidencyPolicy policy) {
        Model model = manageable(scope, name);
        if (!model.engine().hasArtifacts()) {
            throw AtriumException.invalidParam("model", "a remote model is not loaded here; its upstream holds it");
        }
        store.setResidency(model.id(), policy, clock.instant());
        changes.publish(dev.atrium.store.ChangeFeed.Topic.MODELS);
        LOG.info("model {} is now kept with {}", name, policy);
        return model;
    }

    /** Every model's residency that has one, by model id, as stored. */
    public Map<Long, dev.atrium.engine.residency.ResidencyPolicy> residencies() {
        return store.residencies();
    }

    public Engine engine(Model model) {
        Engine engine = engines.get(model.engine());
        if (engine == null) {
            throw new AtriumException(ErrorCode.UNSUPPORTED_BY_MODEL, "engine '" + model.engine().wireName()
                    + "' of model '" + model.name() + "' is not available on this server");
        }
        return engine;
    }

    /** Frees what a deleted version held, where its engine can; one that cannot keeps it until the process ends. */
    private void unloadDeleted(Model model, int version) {
        VersionKey key = new VersionKey(model.id(), model.name(), version);
        try {
            engine(model).unload(key);
        } catch (AtriumException e) {
            LOG.info("deleted version {} stays in memory: {}", key, e.getMessage());
        }
    }

    /** The engine of a kind, if this server has it. */
    public java.util.Optional<Engine> engine(EngineKind kind) {
        return java.util.Optional.ofNullable(engines.get(kind));
    }

    /** Whether any engine has a model with work waiting and no progress (the server is then not ready). */
    public boolean anyEngineStalled() {
        return engines.values().stream().anyMatch(Engine::isStalled);
    }

    public boolean isLoaded(Model model, int version) {
        return engine(model).isLoaded(new VersionKey(model.id(), model.name(), version));
    }

    /** The config fields that name another model version a composed model is made of, by the part's role. */
    public static final Map<String, String> PART_FIELDS = Map.of(Deployment.EMBEDDING_PART, "embedding_model");

    /**
     * Resolves the parts a config names (an embedding model under a classifier head) as the uploader sees them, and
     * pins each to the version it resolved to, so that the composed version never changes. Returns the config with
     * the pinned references.
     */
    private String pinParts(ModelScope scope, Model model, String config, Map<String, Deployment> parts) {
        JsonNode node = parseConfig(config);
        boolean changed = false;
        for (Map.Entry<String, String> part : new java.util.TreeMap<>(PART_FIELDS).entrySet()) {
            JsonNode field = node.get(part.getValue());
            if (field == null) {
                continue;
            }
            if (model.task() != ModelTask.TEXT_CLASSIFICATION) {
                throw AtriumException.invalidParam("config", "'" + part.getValue() + "' is only for "
                        + ModelTask.TEXT_CLASSIFICATION.wireName() + " models");
            }
            if (!field.isString()) {
                throw AtriumException.invalidParam("config", "'" + part.getValue() + "' must be a model reference"
                        + " such as \"all-minilm-l6-v2:1\"");
            }
            ResolvedModel resolved;
            try {
                resolved = resolve(scope, ModelReference.parse(field.stringValue()));
            } catch (AtriumException e) {
                throw AtriumException.invalidParam("config", "'" + part.getValue() + "': " + e.getMessage());
            }
            if (resolved.model().task() != ModelTask.EMBEDDING || resolved.model().engine() != EngineKind.ONNX) {
                throw AtriumException.invalidParam("config", "'" + part.getValue() + "' must name an ONNX embedding"
                        + " model; '" + resolved.model().name() + "' is a " + resolved.model().task().wireName()
                        + " model of engine " + resolved.model().engine().wireName());
            }
            parts.put(part.getKey(), resolved.deployment());
            ((tools.jackson.databind.node.ObjectNode) node).put(part.getValue(), resolved.model().name() + ":"
                    + resolved.version().version());
            changed = true;
        }
        return changed ? node.toString() : config;
    }

    /** The parts of a composed version, as pinned in its config, resolved as its owner sees them. */
    private Map<String, Deployment> parts(Model model, ModelVersion version) {
        if (model.task() != ModelTask.TEXT_CLASSIFICATION) {
            return Map.of();
        }
        JsonNode config = config(version);
        ModelScope owner = new ModelScope(model.owner().equals(Model.PUBLIC) ? null : model.owner(), name -> true);
        Map<String, Deployment> parts = new LinkedHashMap<>();
        PART_FIELDS.forEach((role, field) -> {
            JsonNode reference = config.get(field);
            if (reference != null && reference.isString()) {
                parts.put(role, resolveInStore(owner, ModelReference.parse(reference.stringValue())).deployment());
            }
        });
        return parts;
    }

    private static JsonNode config(ModelVersion version) {
        return parseConfig(version.config());
    }

    private static JsonNode parseConfig(String config) {
        JsonNode node = CONFIG_READER.readTree(config);
        return node != null && node.isObject() ? node : CONFIG_READER.createObjectNode();
    }

    private static final tools.jackson.databind.ObjectMapper CONFIG_READER = new tools.jackson.databind.ObjectMapper();

    private Deployment deployment(Model model, ModelVersion version) {
        VersionKey key = new VersionKey(model.id(), model.name(), version.version());
        if (!model.engine().hasArtifacts()) {
            Secret secret = store.sealedSecret(model.id(), version.version()).map(sealed -> {
                try {
                    return new Secret(secrets.open(sealed, secretContext(model.id(), version.version())));
                } catch (IllegalStateException e) {
                    throw AtriumException.internal("the upstream key of model '" + model.name()
                            + "' cannot be decrypted: " + e.getMessage(), null);
                }
            }).orElse(null);
            return new Deployment(key, model.task(), ArtifactFiles.none(), version.metadata(),
                    SchedulingOptions.none(), secret);
        }
        ArtifactFiles files = new ArtifactFiles(
                artifacts.path(version.artifact()),
                version.file(ArtifactFile.TOKENIZER).map(file -> artifacts.path(file)),
                version.file(ArtifactFile.VAD).map(file -> artifacts.path(file)));
        return new Deployment(key, model.task(), files, version.metadata(), version.scheduling(), null,
                config(version), parts(model, version));
    }

    // ---- housekeeping -------------------------------------------------------------------------------------------

    /** Removes stored files that no version references (after deletes, failed commits or a crash). */
    public void sweepArtifacts() {
        fileLock.lock();
        try {
            int deleted = artifacts.retainOnly(store.referencedHashes());
            if (deleted > 0) {
                LOG.info("removed {} unreferenced artifact files", deleted);
            }
        } finally {
            fileLock.unlock();
        }
    }

    /** Whether a one-time start-up step has been done in this data directory. */
    public boolean isDone(String step) {
        return store.state(step).isPresent();
    }

    public void markDone(String step) {
        store.setState(step, clock.instant().toString());
    }

    private static AtriumException modelNotFound(String name) {
        return AtriumException.withParam(ErrorCode.MODEL_NOT_FOUND, "model", "model '" + name + "' does not exist");
    }

    private static AtriumException versionNotFound(Model model, int version) {
        return new AtriumException(ErrorCode.NOT_FOUND, "model '" + model.name() + "' has no version " + version);
    }
}
