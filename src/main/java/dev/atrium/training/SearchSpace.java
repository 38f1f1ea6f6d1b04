package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Optional;
import tools.jackson.databind.JsonNode;

/**
 * What a trainer offers an AutoML search once it has read a job's data: the families the job may train, the
 * hyperparameters of each that a search draws, and the training of one configuration on the data already read.
 */
public interface SearchSpace {
    /** How a searched hyperparameter is drawn between its bounds. */
    enum Scale {
        /** Uniformly. */
        LINEAR,
        /** Uniformly in its logarithm (learning rates, regularization). */
        LOG,
        /** A whole number, uniformly. */
        INTEGER
    }

    /**
     * A searched hyperparameter by the name a job sets it with.
     *
     * @param low the least value a trial may draw (and a {@code search.space} range may ask for)
     * @param high the largest
     */
    record Parameter(String name, double low, double high, Scale scale) {
        public Parameter {
            requireNonNull(name, "name is null");
            requireNonNull(scale, "scale is null");
            if (!(low <= high) || (scale == Scale.LOG && !(low > 0))) {
                throw new IllegalArgumentException(name + ": bounds " + low + " and " + high);
            }
        }
    }

    /** The families the job may train (a tabular job's {@code model: "auto"} gives several), the first its default. */
    List<String> families();

    /** The hyperparameters a search draws for a family. */
    List<Parameter> parameters(String family);

    /**
     * The hyperparameter of a family that successive halving gives less of in its first rungs (its rounds, its
     * epochs), with the value a full trial has when the job does not set it; empty for a family trained in one go.
     */
    Optional<Budget> budget(String family);

    /** A budget hyperparameter and its full value. */
    record Budget(String name, int full) {}

    /** The metric trials are ranked by unless the search names one. */
    String defaultMetric();

    /**
     * Trains one configuration on the data read.
     *
     * @param hyperparameters the job's, with the trial's values over them
     * @param run the job's run as the trial sees it (its events, checkpoints and cancellation)
     * @throws java.util.concurrent.CancellationException when the run is cancelled between steps
     */
    Trainer.Trained train(String family, JsonNode hyperparameters, Trainer.Run run);
}
