package dev.atrium.training;

/**
 * How a softmax head is trained: mini-batch gradient descent with Adam steps and L2 regularization of the weights.
 *
 * @param epochs passes over the training examples, 1 to 10,000
 * @param batchSize examples per step, 1 to 65,536
 * @param learningRate Adam's step size, above 0 and at most 10
 * @param l2 the weight of {@code l2 / 2 * ||W||²} in the loss (the bias is not regularized), 0 to 1,000
 * @param seed decides the order of the examples in each epoch; the same seed and data give the same head
 */
record HeadTrainingOptions(int epochs, int batchSize, double learningRate, double l2, long seed) {
    /** 30 epochs of batches of 32 at a learning rate of 0.01 with an L2 weight of 1e-4, seed 0. */
    static final HeadTrainingOptions DEFAULTS = new HeadTrainingOptions(30, 32, 0.01, 1e-4, 0);

    HeadTrainingOptions {
        if (epochs < 1 || epochs > 10_000) {
            throw new IllegalArgumentException("epochs must be 1 to 10000, not " + epochs);
        }
        if (batchSize < 1 || batchSize > 65_536) {
            throw new IllegalArgumentException("batchSize must be 1 to 65536, not " + batchSize);
        }
        if (!(learningRate > 0 && learningRate <= 10)) {
            throw new IllegalArgumentException("learningRate must be above 0 and at most 10, not " + learningRate);
        }
        if (!(l2 >= 0 && l2 <= 1_000)) {
            throw new IllegalArgumentException("l2 must be 0 to 1000, not " + l2);
        }
    }

    HeadTrainingOptions withEpochs(int newEpochs) {
        return new HeadTrainingOptions(newEpochs, batchSize, learningRate, l2, seed);
    }
}
