package dev.atrium.training;

/**
 * What one epoch of training a head reached, for progress reports.
 *
 * @param epoch the epoch just finished, from 1
 * @param epochs how many the run has
 * @param trainingLoss the mean cross-entropy over the training examples after the epoch
 * @param validationLoss the mean cross-entropy over the validation examples after the epoch
 * @param validationAccuracy the share of validation examples whose most probable class is theirs
 */
record EpochProgress(int epoch, int epochs, double trainingLoss, double validationLoss, double validationAccuracy) {
    EpochProgress {
        if (epoch < 1 || epoch > epochs) {
            throw new IllegalArgumentException("epoch " + epoch + " of " + epochs);
        }
        if (!(trainingLoss >= 0) || !(validationLoss >= 0)) {
            throw new IllegalArgumentException("losses are non-negative numbers: " + trainingLoss + ", "
                    + validationLoss);
        }
        if (!(validationAccuracy >= 0 && validationAccuracy <= 1)) {
            throw new IllegalArgumentException("validationAccuracy is a share, not " + validationAccuracy);
        }
    }
}
