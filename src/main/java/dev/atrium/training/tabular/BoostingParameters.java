package dev.atrium.training.tabular;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The hyperparameters of a gradient-boosted trees run (XGBoost's names in brackets).
 *
 * @param maxRounds boosting rounds at most ({@code num_boost_round}), 1 to 10,000
 * @param learningRate shrinkage of each tree ({@code eta}), in (0, 1]
 * @param maxDepth depth of each tree ({@code max_depth}), 1 to 16
 * @param minChildWeight least hessian sum of a leaf ({@code min_child_weight})
 * @param l2 L2 regularization of leaf weights ({@code lambda})
 * @param subsample fraction of rows each tree sees, in (0, 1]
 * @param columnSample fraction of columns each tree sees ({@code colsample_bytree}), in (0, 1]
 * @param earlyStoppingRounds stop after this many rounds without a better validation metric; 0 never stops early
 * @param checkpointEvery hand a checkpoint to the listener every this many rounds; 0 never
 * @param seed the random seed of row and column sampling
 * @param threads native threads XGBoost uses ({@code nthread}), 1 to 64
 */
public record BoostingParameters(int maxRounds, double learningRate, int maxDepth, double minChildWeight, double l2,
        double subsample, double columnSample, int earlyStoppingRounds, int checkpointEvery, long seed, int threads) {
    public BoostingParameters {
        check(maxRounds >= 1 && maxRounds <= 10_000, "maxRounds must be 1 to 10000: " + maxRounds);
        check(learningRate > 0 && learningRate <= 1, "learningRate must be in (0, 1]: " + learningRate);
        check(maxDepth >= 1 && maxDepth <= 16, "maxDepth must be 1 to 16: " + maxDepth);
        check(minChildWeight >= 0 && Double.isFinite(minChildWeight), "minChildWeight must be >= 0: " + minChildWeight);
        check(l2 >= 0 && Double.isFinite(l2), "l2 must be >= 0: " + l2);
        check(subsample > 0 && subsample <= 1, "subsample must be in (0, 1]: " + subsample);
        check(columnSample > 0 && columnSample <= 1, "columnSample must be in (0, 1]: " + columnSample);
        check(earlyStoppingRounds >= 0, "earlyStoppingRounds must be >= 0: " + earlyStoppingRounds);
        check(checkpointEvery >= 0, "checkpointEvery must be >= 0: " + checkpointEvery);
        check(threads >= 1 && threads <= 64, "threads must be 1 to 64: " + threads);
    }

    private static void check(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }

    /** 300 rounds at 0.1, depth 6, early stopping after 20, no checkpoints, seed 0, 2 threads. */
    public static BoostingParameters defaults() {
        return new BoostingParameters(300, 0.1, 6, 1, 1, 1, 1, 20, 0, 0, 2);
    }

    public BoostingParameters withMaxRounds(int rounds) {
        return new BoostingParameters(rounds, learningRate, maxDepth, minChildWeight, l2, subsample, columnSample,
                earlyStoppingRounds, checkpointEvery, seed, threads);
    }

    public BoostingParameters withEarlyStopping(int rounds) {
        return new BoostingParameters(maxRounds, learningRate, maxDepth, minChildWeight, l2, subsample, columnSample,
                rounds, checkpointEvery, seed, threads);
    }

    public BoostingParameters withCheckpointEvery(int rounds) {
        return new BoostingParameters(maxRounds, learningRate, maxDepth, minChildWeight, l2, subsample, columnSample,
                earlyStoppingRounds, rounds, seed, threads);
    }

    public BoostingParameters withSampling(double rows, double columns, long randomSeed) {
        return new BoostingParameters(maxRounds, learningRate, maxDepth, minChildWeight, l2, rows, columns,
                earlyStoppingRounds, checkpointEvery, randomSeed, threads);
    }

    /**
     * XGBoost's parameters for a task. {@code seed_per_iteration} reseeds the sampler from the seed and the round
     * number, so that a run resumed from a checkpoint grows the same trees as one never interrupted.
     */
    Map<String, Object> xgboost(String objective, int classes, String metric) {
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("booster", "gbtree");
        params.put("tree_method", "hist");
        params.put("objective", objective);
        if (classes > 2) {
            params.put("num_class", classes);
        }
        params.put("eval_metric", metric);
        params.put("eta", learningRate);
        params.put("max_depth", maxDepth);
        params.put("min_child_weight", minChildWeight);
        params.put("lambda", l2);
        params.put("subsample", subsample);
        params.put("colsample_bytree", columnSample);
        params.put("seed", seed);
        params.put("seed_per_iteration", true);
        params.put("nthread", threads);
        params.put("verbosity", 0);
        return params;
    }
}
