package dev.atrium.registry;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.EngineKind;
import dev.atrium.engine.ModelMetadata;
import dev.atrium.engine.ModelTask;
import dev.atrium.scheduling.SchedulingOptions;
import dev.atrium.store.EpochMicros;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;

/** The registry's tables: models, versions, their files and aliases. Rules live in {@link ModelRegistry}. */
final class ModelStore {
    private static final ObjectMapper JSON = JsonMapper.builder().build();

    private final Jdbi jdbi;

    ModelStore(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    Model insertModel(String owner, String name, ModelTask task, EngineKind engine, String description, Instant now) {
        return jdbi.inTransaction(handle -> {
            if (findModel(handle, owner, name).isPresent()) {
                throw new AtriumException(ErrorCode.CONFLICT, "model '" + name + "' already exists");
            }
            long id = handle.createUpdate("""
                    INSERT INTO models (owner, name, task, engine, description, created_at)
                    VALUES (:owner, :name, :task, :engine, :description, :created_at)""")
                    .bind("owner", owner)
                    .bind("name", name)
                    .bind("task", task.wireName())
                    .bind("engine", engine.wireName())
                    .bind("description", description)
                    .bind("created_at", EpochMicros.of(now))
                    .executeAndReturnGeneratedKeys("id")
                    .mapTo(Long.class)
                    .one();
            return new Model(id, owner, name, task, engine, description, now);
        });
    }

    Optional<Model> findModel(String owner, String name) {
        return jdbi.withHandle(handle -> findModel(handle, owner, name));
    }

    private static Optional<Model> findModel(Handle handle, String owner, String name) {
        return handle.createQuery("SELECT * FROM models WHERE owner = :owner AND name = :name")
                .bind("owner", owner)
                .bind("name", name)
                .map((rs, ctx) -> model(rs))
                .findOne();
    }

    /** The models of one owner and the public ones, by name. */
    List<Model> listModels(String owner) {
        return jdbi.withHandle(handle -> handle.createQuery(
                        "SELECT * FROM models WHERE owner = :owner OR owner = '' ORDER BY name, owner DESC")
                .bind("owner", owner)
                .map((rs, ctx) -> model(rs))
                .list());
    }

    /** The models of one owner. */
    List<Model> listOwnedModels(String owner) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM models WHERE owner = :owner ORDER BY name")
                .bind("owner", owner)
                .map((rs, ctx) -> model(rs))
                .list());
    }

    /** Deletes a model with its versions and aliases; returns the versions it had. */
    List<Integer> deleteModel(long modelId) {
        return jdbi.inTransaction(handle -> {
            List<Integer> versions = handle.createQuery("SELECT version FROM model_versions WHERE model_id = :id")
                    .bind("id", modelId).mapTo(Integer.class).list();
            handle.createUpdate("DELETE FROM model_alias_splits WHERE model_id = :id").bind("id", modelId).execute();
            handle.createUpdate("DELETE FROM model_aliases WHERE model_id = :id").bind("id", modelId).execute();
            handle.createUpdate("DELETE FROM model_version_files WHERE model_id = :id").bind("id", modelId).execute();
            handle.createUpdate("DELETE FROM model_versions WHERE model_id = :id").bind("id", modelId).execute();
            handle.createUpdate("DELETE FROM models WHERE id = :id").bind("id", modelId).execute();
            return versions;
        });
    }

    /** Moves the model's next version number up to {@code next}, skipping the numbers before it (never down). */
    void skipVersionsTo(Model model, int next) {
        jdbi.useHandle(handle -> handle.createUpdate("UPDATE models SET next_version = MAX(next_version, :next)"
                + " WHERE id = :id").bind("next", next).bind("id", model.id()).execute());
    }

    /** Adds a version under the next number; numbers are never reused. */
    ModelVersion insertVersion(Model model, List<ArtifactFile> files, ModelMetadata metadata, String config,
            SchedulingOptions scheduling, Instant now) {
        return insertVersion(model, files, metadata, config, scheduling, now, null);
    }

    /**
     * Adds a version, with a secret sealed for it in the same transaction.
     *
     * @param sealSecret seals the secret for the version number it is given; null for a version with no secret
     */
    ModelVersion insertVersion(Model model, List<ArtifactFile> files, ModelMetadata metadata, String config,
            SchedulingOptions scheduling, Instant now, java.util.function.IntFunction<String> sealSecret) {
        return insertVersion(model, files, metadata, config, scheduling, now, sealSecret, null, null);
    }

    /**
     * Adds a version, with a secret sealed for it and the lineage of the job that made it in the same transaction.
     *
     * @param lineage the training job that made it and what from; null for an upload
     * @param signature the verified signature of a signed upload; null for any other version
     */
    ModelVersion insertVersion(Model model, List<ArtifactFile> files, ModelMetadata metadata, String config,
            SchedulingOptions scheduling, Instant now, java.util.function.IntFunction<String> sealSecret,
            Lineage lineage, VersionSignature signature) {
        String metadataJson = JSON.writeValueAsString(metadata);
        return jdbi.inTransaction(handle -> {
            int version = handle.createQuery("""
                    UPDATE models SET next_version = next_version + 1 WHERE id = :id
                    RETURNING next_version - 1""")
                    .bind("id", model.id())
                    .mapTo(Integer.class)
                    .findOne()
                    .orElseThrow(() -> new AtriumException(ErrorCode.MODEL_NOT_FOUND,
                            "model '" + model.name() + "' was deleted during the upload"));
            handle.createUpdate("""
                    INSERT INTO model_versions (model_id, version, metadata, config, scheduling, created_at)
                    VALUES (:model_id, :version, :metadata, :config, :scheduling, :created_at)""")
                    .bind("model_id", model.id())
                    .bind("version", version)
                    .bind("metadata", metadataJson)
                    .bind("config", config)
                    .bind("scheduling", JSON.writeValueAsString(scheduling))
                    .bind("created_at", EpochMicros.of(now))
                    .execute();
            for (ArtifactFile file : files) {
                handle.createUpdate("""
                        INSERT INTO model_version_files (model_id, version, role, sha256, size_bytes)
                        VALUES (:model_id, :version, :role, :sha256, :size_bytes)""")
                        .bind("model_id", model.id())
                        .bind("version", version)
                        .bind("role", file.role())
                        .bind("sha256", file.sha256())
                        .bind("size_bytes", file.sizeBytes())
                        .execute();
            }
            if (sealSecret != null) {
                handle.createUpdate("""
                        INSERT INTO model_version_secrets (model_id, version, ciphertext)
                        VALUES (:model_id, :version, :ciphertext)""")
                        .bind("model_id", model.id())
                        .bind("version", version)
                        .bind("ciphertext", sealSecret.apply(version))
                        .execute();
            }
            if (lineage != null) {
                handle.createUpdate("""
                        INSERT INTO model_version_lineage (model_id, version, job_id, lineage)
                        VALUES (:model_id, :version, :job, :lineage)""")
                        .bind("model_id", model.id())
                        .bind("version", version)
                        .bind("job", lineage.jobId())
                        .bind("lineage", lineage.json())
                        .execute();
            }
            if (signature != null) {
                handle.createUpdate("""
                        INSERT INTO model_version_signatures (model_id, version, publisher_id, key_id, model_sha256,
                            tokenizer_sha256, vad_sha256, config_sha256, signature, verified_at)
                        VALUES (:model_id, :version, :publisher, :key_id, :model_sha256, :tokenizer_sha256,
                            :vad_sha256, :config_sha256, :signature, :verified_at)""")
                        .bind("model_id", model.id())
                        .bind("version", version)
                        .bind("publisher", signature.publisherId())
                        .bind("key_id", signature.keyId())
                        .bind("model_sha256", signature.signed().model())
                        .bind("tokenizer_sha256", signature.signed().tokenizer())
                        .bind("vad_sha256", signature.signed().vad())
                        .bind("config_sha256", signature.signed().config())
                        .bind("signature", signature.signature())
                        .bind("verified_at", EpochMicros.of(signature.verifiedAt()))
                        .execute();
            }
            return new ModelVersion(model.id(), model.name(), version, files, metadata, config, scheduling, now);
        });
    }

    /** The signature a version was uploaded with, with its publisher as it stands now (revoked or not). */
    Optional<VersionSignature> signature(long modelId, int version) {
        return jdbi.withHandle(handle -> handle.createQuery("""
                        SELECT s.*, p.name AS publisher_name, p.revoked_at FROM model_version_signatures s
                        JOIN publisher_keys p ON p.id = s.publisher_id
                        WHERE s.model_id = :id AND s.version = :version""")
                .bind("id", modelId)
                .bind("version", version)
                .map((rs, ctx) -> new VersionSignature(rs.getString("publisher_id"), rs.getString("publisher_name"),
                        rs.getString("key_id"), EpochMicros.nullableInstant(rs, "revoked_at") != null,
                        new SignedFiles(rs.getString("model_sha256"), rs.getString("tokenizer_sha256"),
                                rs.getString("vad_sha256"), rs.getString("config_sha256")),
                        rs.getString("signature"), EpochMicros.instant(rs, "verified_at")))
                .findOne());
    }

    List<ModelVersion> listVersions(Model model) {
        return jdbi.withHandle(handle -> {
            Map<Integer, List<ArtifactFile>> files = new LinkedHashMap<>();
            handle.createQuery("""
                    SELECT version, role, sha256, size_bytes FROM model_version_files
                    WHERE model_id = :id ORDER BY version, role""")
                    .bind("id", model.id())
                    .map((rs, ctx) -> Map.entry(rs.getInt("version"), file(rs)))
                    .forEach(row -> files.computeIfAbsent(row.getKey(), v -> new ArrayList<>()).add(row.getValue()));
            return handle.createQuery("SELECT * FROM model_versions WHERE model_id = :id ORDER BY version")
                    .bind("id", model.id())
                    .map((rs, ctx) -> version(rs, model, files.getOrDefault(rs.getInt("version"), List.of())))
                    .list();
        });
    }

    Optional<ModelVersion> findVersion(Model model, int version) {
        return jdbi.withHandle(handle -> findVersion(handle, model, version));
    }

    private static Optional<ModelVersion> findVersion(Handle handle, Model model, int version) {
        List<ArtifactFile> files = handle.createQuery("""
                SELECT role, sha256, size_bytes FROM model_version_files
                WHERE model_id = :id AND version = :version ORDER BY role""")
                .bind("id", model.id())
                .bind("version", version)
                .map((rs, ctx) -> file(rs))
                .list();
        return handle.createQuery("SELECT * FROM model_versions WHERE model_id = :id AND version = :version")
                .bind("id", model.id())
                .bind("version", version)
                .map((rs, ctx) -> version(rs, model, files))
                .findOne();
    }

    /** Changes how a version is scheduled; false if there is no such version. */
    boolean setScheduling(Model model, int version, SchedulingOptions scheduling) {
        return jdbi.withHandle(handle -> handle.createUpdate(
                        "UPDATE model_versions SET scheduling = :scheduling WHERE model_id = :id AND version = :version")
                .bind("scheduling", JSON.writeValueAsString(scheduling))
                .bind("id", model.id())
                .bind("version", version)
                .execute() > 0);
    }

    /** Sets a model's residency (one row per model). */
    void setResidency(long modelId, dev.atrium.engine.residency.ResidencyPolicy policy, java.time.Instant now) {
        jdbi.useHandle(handle -> handle.createUpdate("""
                        INSERT INTO model_residency (model_id, pinned, keep_alive_seconds, updated_at)
                        VALUES (:id, :pinned, :keepAlive, :now)
                        ON CONFLICT (model_id) DO UPDATE SET pinned = excluded.pinned,
                            keep_alive_seconds = excluded.keep_alive_seconds, updated_at = excluded.updated_at""")
                .bind("id", modelId)
                .bind("pinned", policy.pinned() ? 1 : 0)
                .bind("keepAlive", policy.keepAliveSeconds())
                .bind("now", dev.atrium.store.EpochMicros.of(now))
                .execute());
    }

    /** Every model's residency that has one, by model id. */
    java.util.Map<Long, dev.atrium.engine.residency.ResidencyPolicy> residencies() {
        java.util.Map<Long, dev.atrium.engine.residency.ResidencyPolicy> policies = new java.util.LinkedHashMap<>();
        jdbi.useHandle(handle -> handle.createQuery(
                        "SELECT model_id, pinned, keep_alive_seconds FROM model_residency ORDER BY model_id")
                .map((rs, ctx) -> {
                    boolean pinned = rs.getInt("pinned") == 1;
                    long keepAlive = rs.getLong("keep_alive_seconds");
                    Long seconds = rs.wasNull() ? null : keepAlive;
                    return java.util.Map.entry(rs.getLong("model_id"),
                            new dev.atrium.engine.residency.ResidencyPolicy(pinned, seconds));
                })
                .forEach(entry -> policies.put(entry.getKey(), entry.getValue())));
        return policies;
    }

    /** What a trained version was made by and from. */
    record Lineage(String jobId, String json) {}

    /** The lineage of a version, if a job made it. */
    Optional<String> lineage(long modelId, int version) {
        return jdbi.withHandle(handle -> handle.createQuery(
                        "SELECT lineage FROM model_version_lineage WHERE model_id = :id AND version = :version")
                .bind("id", modelId)
                .bind("version", version)
                .mapTo(String.class)
                .findOne());
    }

    /** The version of a model a job made, if it made one. */
    OptionalInt versionMadeBy(long modelId, String jobId) {
        return jdbi.withHandle(handle -> handle.createQuery(
                        "SELECT version FROM model_version_lineage WHERE model_id = :id AND job_id = :job")
                .bind("id", modelId)
                .bind("job", jobId)
                .mapTo(Integer.class)
                .findOne()).map(OptionalInt::of).orElse(OptionalInt.empty());
    }

    /** The sealed secret of a version, if it has one. */
    Optional<String> sealedSecret(long modelId, int version) {
        return jdbi.withHandle(handle -> handle.createQuery(
                        "SELECT ciphertext FROM model_version_secrets WHERE model_id = :id AND version = :version")
                .bind("id", modelId)
                .bind("version", version)
                .mapTo(String.class)
                .findOne());
    }

    OptionalInt latestVersion(Model model) {
        return jdbi.withHandle(handle -> handle.createQuery(
                        "SELECT version FROM model_versions WHERE model_id = :id ORDER BY version DESC LIMIT 1")
                .bind("id", model.id())
                .mapTo(Integer.class)
                .findOne()
                .map(OptionalInt::of)
                .orElse(OptionalInt.empty()));
    }

    /**
     * Deletes one version.
     *
     * @return false if there was no such version
     * @throws AtriumException {@code CONFLICT} when an alias points at it
     */
    boolean deleteVersion(Model model, int version) {
        return jdbi.inTransaction(handle -> {
            List<String> aliases = handle.createQuery("""
                    SELECT alias FROM model_aliases WHERE model_id = :id AND version = :version
                    UNION SELECT alias FROM model_alias_splits WHERE model_id = :id AND version = :version
                    ORDER BY alias""")
                    .bind("id", model.id())
                    .bind("version", version)
                    .mapTo(String.class)
                    .list();
            if (!aliases.isEmpty()) {
                throw new AtriumException(ErrorCode.CONFLICT, "version " + version + " of model '" + model.name()
                        + "' is the target of alias " + String.join(", ", aliases) + "; move or delete the alias first");
            }
            handle.createUpdate("DELETE FROM model_version_files WHERE model_id = :id AND version = :version")
                    .bind("id", model.id()).bind("version", version).execute();
            return handle.createUpdate("DELETE FROM model_versions WHERE model_id = :id AND version = :version")
                    .bind("id", model.id()).bind("version", version).execute() > 0;
        });
    }

    /** Points an alias at a version, creating or moving it (its split, if it had one, ends) in one transaction. */
    void setAlias(Model model, String alias, int version, Instant now) {
        setSplit(model, alias, Map.of(version, 1), Split.Sticky.NONE, now);
    }

    /**
     * Points an alias at versions with weights (one version: a plain alias), replacing what it pointed at in one
     * transaction: a request resolves the old or the new split, never a mix.
     */
    void setSplit(Model model, String alias, Map<Integer, Integer> weights, Split.Sticky sticky, Instant now) {
        jdbi.useTransaction(handle -> {
            for (int version : weights.keySet()) {
                if (findVersion(handle, model, version).isEmpty()) {
                    throw new AtriumException(ErrorCode.NOT_FOUND, "model '" + model.name() + "' has no version "
                            + version);
                }
            }
            // the alias's own version is the heaviest (the lowest of equals): what listings show
            int version = weights.entrySet().stream()
                    .max(java.util.Map.Entry.<Integer, Integer>comparingByValue()
                            .thenComparing(java.util.Map.Entry.comparingByKey(java.util.Comparator.reverseOrder())))
                    .orElseThrow().getKey();
            handle.createUpdate("DELETE FROM model_alias_splits WHERE model_id = :id AND alias = :alias")
                    .bind("id", model.id()).bind("alias", alias).execute();
            if (weights.size() > 1) {
                for (Map.Entry<Integer, Integer> weight : weights.entrySet()) {
                    handle.createUpdate("""
                            INSERT INTO model_alias_splits (model_id, alias, version, weight)
                            VALUES (:id, :alias, :version, :weight)""")
                            .bind("id", model.id()).bind("alias", alias).bind("version", weight.getKey())
                            .bind("weight", weight.getValue()).execute();
                }
            }
            handle.createUpdate("""
                    INSERT INTO model_aliases (model_id, alias, version, updated_at, sticky)
                    VALUES (:model_id, :alias, :version, :updated_at, :sticky)
                    ON CONFLICT (model_id, alias) DO UPDATE SET version = excluded.version,
                                                                updated_at = excluded.updated_at,
                                                                sticky = excluded.sticky""")
                    .bind("model_id", model.id())
                    .bind("alias", alias)
                    .bind("version", version)
                    .bind("updated_at", EpochMicros.of(now))
                    .bind("sticky", sticky.wireName())
                    .execute();
        });
    }

    /** Deletes an alias, with its split and its shadow. */
    boolean deleteAlias(Model model, String alias) {
        return jdbi.inTransaction(handle -> {
            handle.createUpdate("DELETE FROM model_alias_splits WHERE model_id = :id AND alias = :alias")
                    .bind("id", model.id()).bind("alias", alias).execute();
            handle.createUpdate("DELETE FROM alias_shadows WHERE model_id = :id AND alias = :alias")
                    .bind("id", model.id()).bind("alias", alias).execute();
            return handle.createUpdate("DELETE FROM model_aliases WHERE model_id = :id AND alias = :alias")
                    .bind("id", model.id())
                    .bind("alias", alias)
                    .execute() > 0;
        });
    }

    /** An alias's split, if it points at more than one version. */
    Optional<Split> split(Model model, String alias) {
        return jdbi.withHandle(handle -> {
            Map<Integer, Integer> weights = new java.util.TreeMap<>();
            handle.createQuery("""
                    SELECT version, weight FROM model_alias_splits WHERE model_id = :id AND alias = :alias""")
                    .bind("id", model.id()).bind("alias", alias)
                    .map((rs, ctx) -> Map.entry(rs.getInt("version"), rs.getInt("weight")))
                    .forEach(row -> weights.put(row.getKey(), row.getValue()));
            if (weights.isEmpty()) {
                return Optional.empty();
            }
            String sticky = handle.createQuery(
                            "SELECT sticky FROM model_aliases WHERE model_id = :id AND alias = :alias")
                    .bind("id", model.id()).bind("alias", alias).mapTo(String.class).findOne().orElse("none");
            return Optional.of(new Split(weights, Split.Sticky.fromWireName(sticky)));
        });
    }

    /** Alias name to version, sorted by alias. */
    Map<String, Integer> aliases(Model model) {
        return jdbi.withHandle(handle -> {
            Map<String, Integer> aliases = new LinkedHashMap<>();
            handle.createQuery("SELECT alias, version FROM model_aliases WHERE model_id = :id ORDER BY alias")
                    .bind("id", model.id())
                    .map((rs, ctx) -> Map.entry(rs.getString("alias"), rs.getInt("version")))
                    .forEach(row -> aliases.put(row.getKey(), row.getValue()));
            return aliases;
        });
    }

    Set<String> referencedHashes() {
        return jdbi.withHandle(handle -> new HashSet<>(handle.createQuery("SELECT DISTINCT sha256 FROM model_version_files")
                .mapTo(String.class)
                .list()));
    }

    Optional<String> state(String name) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT value FROM server_state WHERE name = :name")
                .bind("name", name)
                .mapTo(String.class)
                .findOne());
    }

    void setState(String name, String value) {
        jdbi.useHandle(handle -> handle.createUpdate("""
                INSERT INTO server_state (name, value) VALUES (:name, :value)
                ON CONFLICT (name) DO UPDATE SET value = excluded.value""")
                .bind("name", name)
                .bind("value", value)
                .execute());
    }

    private static Model model(ResultSet rs) throws SQLException {
        return new Model(
                rs.getLong("id"),
                rs.getString("owner"),
                rs.getString("name"),
                ModelTask.fromWireName(rs.getString("task")).orElseThrow(),
                EngineKind.fromWireName(rs.getString("engine")).orElseThrow(),
                rs.getString("description"),
                EpochMicros.instant(rs, "created_at"));
    }

    private static ArtifactFile file(ResultSet rs) throws SQLException {
        return new ArtifactFile(rs.getString("role"), rs.getString("sha256"), rs.getLong("size_bytes"));
    }

    private static ModelVersion version(ResultSet rs, Model model, List<ArtifactFile> files) throws SQLException {
        return new ModelVersion(
                model.id(),
                model.name(),
                rs.getInt("version"),
                files,
                JSON.readValue(rs.getString("metadata"), ModelMetadata.class),
                rs.getString("config"),
                JSON.readValue(rs.getString("scheduling"), SchedulingOptions.class),
                EpochMicros.instant(rs, "created_at"));
    }
}
