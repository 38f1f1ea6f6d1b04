package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Trains a {@link SoftmaxHead} (multinomial logistic regression) on embedding vectors: mini-batch gradient descent
 * on the mean cross-entropy plus {@code l2 / 2 * ||W||²}, with Adam steps, from zero weights.
 *
 * <p>Design note: a run is a pure function of its options and data. Each epoch's order of examples comes from a
 * generator seeded by {@code (seed, epoch)} alone, and all arithmetic is in doubles in a fixed order with
 * {@link StrictMath}, so a run repeats bit for bit on any machine, and one resumed from a {@link HeadCheckpoint}
 * (which holds the weights, Adam's moments and step) ends exactly where the uninterrupted run does. Work per epoch
 * is {@code O(examples × dimension × labels)}; memory is the caller's vectors plus three parameter-sized arrays.
 * Instances are immutable; a run happens on the calling thread.
 */
final class SoftmaxHeadTrainer {
    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.999;
    private static final double EPSILON = 1e-8;

    private final HeadTrainingOptions options;

    SoftmaxHeadTrainer(HeadTrainingOptions options) {
        this.options = requireNonNull(options, "options is null");
    }

    /** Trains from zero weights, reporting to the listener after each epoch. */
    HeadTrainingOutcome train(HeadTrainingData data, HeadTrainingListener listener) {
        requireNonNull(data, "data is null");
        int size = data.dimension() * data.classCount() + data.classCount();
        return run(data, listener, new State(new double[size], new double[size], new double[size], 0, 0,
                new ArrayList<>()));
    }

    /**
     * Continues a run from its checkpoint, on the same data and options.
     *
     * @throws IllegalArgumentException when the checkpoint is of other options, labels or data
     */
    HeadTrainingOutcome resume(HeadCheckpoint checkpoint, HeadTrainingData data, HeadTrainingListener listener) {
        requireNonNull(checkpoint, "checkpoint is null");
        requireNonNull(data, "data is null");
        if (!checkpoint.options().equals(options)) {
            throw new IllegalArgumentException("the checkpoint is of a run with options " + checkpoint.options()
                    + ", not " + options);
        }
        if (!checkpoint.labels().equals(data.labels()) || checkpoint.dimension() != data.dimension()
                || checkpoint.dataFingerprint() != data.fingerprint()) {
            throw new IllegalArgumentException("the checkpoint is of a run on other data");
        }
        return run(data, listener, new State(checkpoint.parameters(), checkpoint.firstMoments(),
                checkpoint.secondMoments(), checkpoint.epoch(), checkpoint.step(),
                new ArrayList<>(checkpoint.history())));
    }

    private HeadTrainingOutcome run(HeadTrainingData data, HeadTrainingListener listener, State state) {
        requireNonNull(listener, "listener is null");
        int classes = data.classCount();
        int weightCount = data.dimension() * classes;
        double[] gradient = new double[state.parameters.length];
        double[] probabilities = new double[classes];
        int[] order = new int[data.trainVectors().length];
        while (state.epoch < options.epochs()) {
            if (listener.cancelRequested()) {
                return new HeadTrainingOutcome.Cancelled(checkpoint(data, state), state.history);
            }
            int epoch = state.epoch + 1;
            shuffle(order, epoch);
            for (int start = 0; start < order.length; start += options.batchSize()) {
                int end = Math.min(order.length, start + options.batchSize());
                java.util.Arrays.fill(gradient, 0);
                for (int k = start; k < end; k++) {
                    int i = order[k];
                    float[] x = data.trainVectors()[i];
                    predict(state.parameters, x, classes, probabilities);
                    probabilities[data.trainClasses()[i]] -= 1; // d(cross-entropy)/d(logits) = p - onehot
                    for (int d = 0; d < x.length; d++) {
                        double value = x[d];
                        int offset = d * classes;
                        for (int c = 0; c < classes; c++) {
                            gradient[offset + c] += value * probabilities[c];
                        }
                    }
                    for (int c = 0; c < classes; c++) {
                        gradient[weightCount + c] += probabilities[c];
                    }
                }
                double scale = 1.0 / (end - start);
                for (int j = 0; j < gradient.length; j++) {
                    gradient[j] *= scale;
                }
                for (int j = 0; j < weightCount; j++) {
                    gradient[j] += options.l2() * state.parameters[j];
                }
                adamStep(state, gradient);
            }
            state.epoch = epoch;
            Evaluation training = evaluate(state.parameters, data.trainVectors(), data.trainClasses(), classes);
            Evaluation validation = evaluate(state.parameters, data.validationVectors(), data.validationClasses(),
                    classes);
            EpochProgress progress = new EpochProgress(epoch, options.epochs(), training.loss(), validation.loss(),
                    validation.accuracy());
            state.history.add(progress);
            listener.epochFinished(progress, checkpoint(data, state));
        }
        return new HeadTrainingOutcome.Completed(head(data, state.parameters), state.history);
    }

    /** The order of the training examples in an epoch: a Fisher-Yates shuffle seeded by the seed and epoch only. */
    private void shuffle(int[] order, int epoch) {
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        SplittableRandom random = new SplittableRandom(options.seed() * 0x9E3779B97F4A7C15L + epoch);
        for (int i = order.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int swap = order[i];
            order[i] = order[j];
            order[j] = swap;
        }
    }

    private void adamStep(State state, double[] gradient) {
        state.step++;
        double correction1 = 1 - StrictMath.pow(BETA1, state.step);
        double correction2 = 1 - StrictMath.pow(BETA2, state.step);
        double[] parameters = state.parameters;
        double[] m = state.firstMoments;
        double[] v = state.secondMoments;
        for (int j = 0; j < parameters.length; j++) {
            double g = gradient[j];
            m[j] = BETA1 * m[j] + (1 - BETA1) * g;
            v[j] = BETA2 * v[j] + (1 - BETA2) * g * g;
            parameters[j] -= options.learningRate() * (m[j] / correction1) / (Math.sqrt(v[j] / correction2) + EPSILON);
        }
    }

    /** Softmax of {@code x · W + b} into {@code out}. */
    private static void predict(double[] parameters, float[] x, int classes, double[] out) {
        int biasOffset = x.length * classes;
        for (int c = 0; c < classes; c++) {
            out[c] = parameters[biasOffset + c];
        }
        for (int d = 0; d < x.length; d++) {
            double value = x[d];
            int offset = d * classes;
            for (int c = 0; c < classes; c++) {
                out[c] += value * parameters[offset + c];
            }
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < classes; c++) {
            max = Math.max(max, out[c]);
        }
        double sum = 0;
        for (int c = 0; c < classes; c++) {
            out[c] = StrictMath.exp(out[c] - max);
            sum += out[c];
        }
        for (int c = 0; c < classes; c++) {
            out[c] /= sum;
        }
    }

    private record Evaluation(double loss, double accuracy) {}

    private static Evaluation evaluate(double[] parameters, float[][] vectors, int[] classes, int classCount) {
        double[] probabilities = new double[classCount];
        double loss = 0;
        int correct = 0;
        for (int i = 0; i < vectors.length; i++) {
            predict(parameters, vectors[i], classCount, probabilities);
            loss -= StrictMath.log(Math.max(probabilities[classes[i]], 1e-15));
            int best = 0;
            for (int c = 1; c < classCount; c++) {
                if (probabilities[c] > probabilities[best]) {
                    best = c;
                }
            }
            if (best == classes[i]) {
                correct++;
            }
        }
        return new Evaluation(loss / vectors.length, (double) correct / vectors.length);
    }

    private HeadCheckpoint checkpoint(HeadTrainingData data, State state) {
        return new HeadCheckpoint(options, data.labels(), data.dimension(), data.fingerprint(), state.epoch,
                state.step, state.parameters, state.firstMoments, state.secondMoments, state.history);
    }

    private static SoftmaxHead head(HeadTrainingData data, double[] parameters) {
        int weightCount = data.dimension() * data.classCount();
        float[] weights = new float[weightCount];
        float[] bias = new float[data.classCount()];
        for (int j = 0; j < weightCount; j++) {
            weights[j] = (float) parameters[j];
        }
        for (int c = 0; c < bias.length; c++) {
            bias[c] = (float) parameters[weightCount + c];
        }
        return new SoftmaxHead(data.labels(), data.dimension(), weights, bias);
    }

    /** A run's mutable state, confined to the run's thread. */
    private static final class State {
        final double[] parameters;
        final double[] firstMoments;
        final double[] secondMoments;
        int epoch;
        long step;
        final List<EpochProgress> history;

        State(double[] parameters, double[] firstMoments, double[] secondMoments, int epoch, long step,
                List<EpochProgress> history) {
            this.parameters = parameters;
            this.firstMoments = firstMoments;
            this.secondMoments = secondMoments;
            this.epoch = epoch;
            this.step = step;
            this.history = history;
        }
    }
}
