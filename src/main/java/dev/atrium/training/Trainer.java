package dev.atrium.training;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/** A training method's trainer: checks a job's files, then trains on them and hands back the version to publish. */
public interface Trainer {

    /** What a trainer is given for one job. */
    interface Run {
        FineTuningJob job();

        /** The training file's rows, decrypted as they are read; each call opens it anew. */
        Supplier<InputStream> trainingFile();

        /** The name the training file was uploaded with: its format is told by it ({@code .jsonl}, {@code .csv}). */
        String trainingFileName();

        /** The validation file's name, if the job named one. */
        Optional<String> validationFileName();

        /** The validation file's, if the job named one; else the trainer splits the training file (seeded). */
        Optional<Supplier<InputStream>> validationFile();

        /**
         * The sha256 of the training file's bytes, which what is made of them (cached embeddings) is kept by; this
         * default reads the file to hash it, a run that knows it answers it at once.
         */
        default String trainingFileSha256() {
            return sha256(trainingFile());
        }

        /** The validation file's sha256, if the job named one; as {@link #trainingFileSha256()}. */
        default Optional<String> validationFileSha256() {
            return validationFile().map(Run::sha256);
        }

        /** Tells the job's events: {@code info} with the step's figures. */
        void event(String message, JsonNode data);

        /** A checkpoint at a step (an epoch), with its metrics. */
        void checkpoint(long step, Map<String, Double> metrics);

        /** Whether the job was cancelled: checked between steps, which then stop. */
        boolean cancelled();

        /**
         * The state this job saved last in a run the server stopped under (a crash, a restart), to go on from; empty
         * in a job's first run. A trainer checks that it is its own (a magic number, a digest) before using it.
         */
        Optional<byte[]> savedState();

        /**
         * Keeps the job's state to go on from (encrypted as the tenant's data), in place of the last. A run may keep
         * only some of the states it is given (one every few seconds): a job goes on from the last one kept.
         */
        void saveState(byte[] state);

        /** Whether a state given now would be kept: a trainer may skip making one that would not. */
        default boolean wantsState() {
            return true;
        }

        private static String sha256(Supplier<InputStream> file) {
            try (InputStream in = file.get()) {
                MessageDigest digest = MessageDigest.getInstance("SHA-256");
                byte[] buffer = new byte[64 * 1024];
                for (int n; (n = in.read(buffer)) >= 0; ) {
                    digest.update(buffer, 0, n);
                }
                return HexFormat.of().formatHex(digest.digest());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("every JDK has SHA-256", e);
            }
        }
    }

    /**
     * A trained model, to become a new version of the job's target model.
     *
     * @param task the version's task
     * @param onnx the version's ONNX file
     * @param config its upload config
     * @param metrics the evaluation on the validation split ({@link Evaluations}: accuracy, macro-F1, ...)
     * @param leaderboard an AutoML search's trials, best first; null for a job that trained one configuration
     * @param hyperparameters those the model was trained with, as the job names them (a search's best)
     */
    record Trained(dev.atrium.engine.ModelTask task, byte[] onnx, ObjectNode config, ObjectNode metrics,
            JsonNode leaderboard, ObjectNode hyperparameters) {
        /** One configuration's model. */
        public Trained(dev.atrium.engine.ModelTask task, byte[] onnx, ObjectNode config, ObjectNode metrics,
                ObjectNode hyperparameters) {
            this(task, onnx, config, metrics, null, hyperparameters);
        }
    }

    /**
     * Checks the job's files for this method before it queues.
     *
     * @throws dev.atrium.AtriumException 400 naming the file and line of the first bad row
     */
    void validate(Run run);

    /**
     * Trains.
     *
     * @throws java.util.concurrent.CancellationException when the job was cancelled between steps
     * @throws dev.atrium.AtriumException when the data or the base model cannot be trained on
     */
    Trained train(Run run);
}
