package dev.atrium.training.tabular;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.onnx.tabular.FeatureSchema.Task;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import ml.dmlc.xgboost4j.java.Booster;
import ml.dmlc.xgboost4j.java.DMatrix;
import ml.dmlc.xgboost4j.java.XGBoost;
import ml.dmlc.xgboost4j.java.XGBoostError;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Trains gradient-boosted trees with XGBoost on a {@link TabularSplit}, one round at a time: after each round the
 * listener hears the training and validation metric, cancellation is checked, and every
 * {@link BoostingParameters#checkpointEvery} rounds a checkpoint is handed out. With early stopping the run ends
 * once the validation metric has not improved for that many rounds, and the model keeps the rounds up to its best.
 * The model is exported to ONNX by {@link XgboostOnnxConverter}.
 *
 * <p>Objectives: squared error (metric {@code rmse}) for a regression, logistic ({@code logloss}) for two classes,
 * softprob ({@code mlogloss}) for more. A run resumed from a checkpoint gives the same trees as one never
 * interrupted (sampling is reseeded each round from the seed and the round number).
 *
 * <p>Thread-safe: each call has its own native booster and matrices, freed before it returns; the training work
 * runs on the calling thread and XGBoost's own {@code threads}.
 */
public final class GradientBoostingTrainer {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final Clock clock;

    public GradientBoostingTrainer(Clock clock) {
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** Trains from the first round. */
    public BoostingResult train(TabularSplit data, BoostingParameters parameters, TrainingListener listener,
            BooleanSupplier cancelled) {
        return run(data, parameters, null, listener, cancelled);
    }

    /**
     * Goes on from a checkpoint of a run with the same data and parameters (but perhaps more rounds).
     *
     * @throws AtriumException {@code INVALID_REQUEST} when the checkpoint was made with other data or parameters
     */
    public BoostingResult resume(TabularSplit data, BoostingParameters parameters, BoostingCheckpoint checkpoint,
            TrainingListener listener, BooleanSupplier cancelled) {
        requireNonNull(checkpoint, "checkpoint is null");
        return run(data, parameters, checkpoint, listener, cancelled);
    }

    private BoostingResult run(TabularSplit data, BoostingParameters parameters, BoostingCheckpoint from,
            TrainingListener listener, BooleanSupplier cancelled) {
        requireNonNull(data, "data is null");
        requireNonNull(parameters, "parameters is null");
        requireNonNull(listener, "listener is null");
        requireNonNull(cancelled, "cancelled is null");
        TabularEncoding encoding = data.encoding();
        int classes = encoding.labels().size();
        String objective = encoding.task() == Task.REGRESSION ? "reg:squarederror"
                : classes == 2 ? "binary:logistic" : "multi:softprob";
        String metric = encoding.task() == Task.REGRESSION ? "rmse" : classes == 2 ? "logloss" : "mlogloss";
        Map<String, Object> params = parameters.xgboost(objective, classes, metric);
        String digest = digest(parameters, data);
        if (from != null && !from.digest().equals(digest)) {
            throw AtriumException.invalidParam("checkpoint", "the checkpoint was made with other data or"
                    + " hyperparameters; it can only resume the run that made it");
        }

        DMatrix train = null;
        DMatrix validation = null;
        Booster booster = null;
        try {
            train = matrix(data.train());
            validation = matrix(data.validation());
            if (from == null) {
                booster = XGBoost.train(train, params, 0, Map.of(), null, null);
            } else {
                booster = XGBoost.loadModel(from.model());
                booster.setParams(params);
            }
            DMatrix[] sets = {train, validation};
            String[] names = {"train", "validation"};
            int rounds = from == null ? 0 : from.rounds();
            int bestRounds = from == null ? 0 : from.bestRounds();
            double bestMetric = from == null ? Double.POSITIVE_INFINITY : from.bestMetric();
            List<RoundReport> history = new ArrayList<>();
            StopReason stop = StopReason.COMPLETED;
            while (rounds < parameters.maxRounds()) {
                if (cancelled.getAsBoolean()) {
                    stop = StopReason.CANCELLED;
                    break;
                }
                booster.update(train, rounds);
                float[] metrics = new float[2];
                booster.evalSet(sets, names, rounds, metrics);
                rounds++;
                // strictly better only: a plateau does not move the best round forward
                if (metrics[1] < bestMetric) {
                    bestMetric = metrics[1];
                    bestRounds = rounds;
                }
                RoundReport report = new RoundReport(rounds, metric, metrics[0], metrics[1], clock.instant());
                history.add(report);
                listener.round(report);
                if (parameters.checkpointEvery() > 0 && rounds % parameters.checkpointEvery() == 0
                        && listener.wantsCheckpoint()) {
                    listener.checkpoint(new BoostingCheckpoint(rounds, bestRounds, bestMetric, digest,
                            booster.toByteArray("ubj")));
                }
                if (parameters.earlyStoppingRounds() > 0 && rounds - bestRounds >= parameters.earlyStoppingRounds()
                        && rounds < parameters.maxRounds()) {
                    stop = StopReason.EARLY_STOPPED;
                    break;
                }
            }
            BoostingCheckpoint last = new BoostingCheckpoint(rounds, bestRounds, bestMetric, digest,
                    booster.toByteArray("ubj"));
            if (stop == StopReason.CANCELLED) {
                return new BoostingResult(stop, rounds, rounds, history, last, Optional.empty(), Optional.empty());
            }
            int kept = stop == StopReason.EARLY_STOPPED ? bestRounds : rounds;
            byte[] model = booster.toByteArray("json");
            if (kept < rounds) {
                model = truncate(model, kept);
            }
            double validationMetric = kept == rounds ? history.isEmpty() ? from.bestMetric()
                    : history.getLast().validationMetric() : bestMetric;
            byte[] onnx = XgboostOnnxConverter.convert(model, encoding.width(), Integer.MAX_VALUE);
            TrainedTabularModel trained = new TrainedTabularModel(ModelFamily.GRADIENT_BOOSTED_TREES, onnx,
                    encoding.config(), metric, validationMetric);
            return new BoostingResult(stop, rounds, kept, history, last, Optional.of(model), Optional.of(trained));
        } catch (XGBoostError | IOException e) {
            throw AtriumException.internal("gradient boosting failed", e);
        } catch (LinkageError e) {
            throw new AtriumException(ErrorCode.ENGINE_UNAVAILABLE, "gradient-boosted trees are not available on this"
                    + " server: XGBoost's native library did not load");
        } finally {
            if (booster != null) {
                booster.dispose();
            }
            if (train != null) {
                train.dispose();
            }
            if (validation != null) {
                validation.dispose();
            }
        }
    }

    private static DMatrix matrix(EncodedRows rows) throws XGBoostError {
        DMatrix matrix = new DMatrix(rows.features(), rows.rowCount(), rows.width(), Float.NaN);
        matrix.setLabel(rows.targets());
        return matrix;
    }

    /**
     * The model of its first {@code rounds} rounds, loaded back by XGBoost (which checks it) and saved again: the
     * trees past them, their classes and round boundaries dropped.
     */
    private static byte[] truncate(byte[] json, int rounds) throws XGBoostError, IOException {
        int trees = rounds * XgboostOnnxConverter.treesPerRound(json);
        ObjectNode root = (ObjectNode) JSON.readTree(json);
        ObjectNode model = (ObjectNode) root.get("learner").get("gradient_booster").get("model");
        ArrayNode kept = JSON.createArrayNode();
        ArrayNode info = JSON.createArrayNode();
        for (int tree = 0; tree < trees; tree++) {
            kept.add(model.get("trees").get(tree));
            info.add(model.get("tree_info").get(tree));
        }
        model.set("trees", kept);
        model.set("tree_info", info);
        ArrayNode bounds = JSON.createArrayNode();
        for (int round = 0; round <= rounds; round++) {
            bounds.add(model.get("iteration_indptr").get(round));
        }
        model.set("iteration_indptr", bounds);
        ((ObjectNode) model.get("gbtree_model_param")).put("num_trees", Integer.toString(trees));
        Booster booster = XGBoost.loadModel(JSON.writeValueAsBytes(root));
        try {
            return booster.toByteArray("json");
        } finally {
            booster.dispose();
        }
    }

    /** What a checkpoint must share with the run it resumes: every parameter that shapes trees, and the data's shape. */
    static String digest(BoostingParameters parameters, TabularSplit data) {
        BoostingParameters shaping = parameters.withMaxRounds(1).withCheckpointEvery(0);
        String text = shaping + "|" + data.encoding().schema() + "|" + data.train().rowCount() + "|"
                + data.validation().rowCount() + "|" + sum(data.train()) + "|" + sum(data.validation());
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing", e);
        }
    }

    /** A cheap fingerprint of the rows' values (not a proof of identity, a guard against mix-ups). */
    private static double sum(EncodedRows rows) {
        double sum = 0;
        float[] features = rows.features();
        for (int i = 0; i < features.length; i++) {
            sum += features[i] * (1 + (i % 7));
        }
        for (float target : rows.targets()) {
            sum += target;
        }
        return sum;
    }
}
