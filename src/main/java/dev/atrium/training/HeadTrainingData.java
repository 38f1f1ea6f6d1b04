package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import java.util.HashSet;
import java.util.List;

/**
 * The embedded examples a softmax head is trained and validated on: vectors of one dimension, each with its class,
 * an index into {@link #labels()}. Holds the caller's arrays without copying them (they may be large): the caller
 * must not change them while training runs.
 */
final class HeadTrainingData {
    /** The widest embedding a head takes. */
    static final int MAX_DIMENSION = 65_536;

    private final List<String> labels;
    private final int dimension;
    private final float[][] trainVectors;
    private final int[] trainClasses;
    private final float[][] validationVectors;
    private final int[] validationClasses;
    private final long fingerprint;

    /**
     * @param labels the class names, distinct, without commas (at least 2)
     * @throws IllegalArgumentException when the vectors differ in dimension or hold a non-finite value, a class is
     *     out of range, or either part is empty
     */
    HeadTrainingData(List<String> labels, float[][] trainVectors, int[] trainClasses, float[][] validationVectors,
            int[] validationClasses) {
        this.labels = List.copyOf(labels);
        if (this.labels.size() < 2) {
            throw new IllegalArgumentException("a head has at least 2 labels, not " + this.labels.size());
        }
        if (new HashSet<>(this.labels).size() != this.labels.size()) {
            throw new IllegalArgumentException("labels name a class twice: " + this.labels);
        }
        for (String label : this.labels) {
            if (label.isBlank() || label.indexOf(',') >= 0 || !label.strip().equals(label)) {
                throw new IllegalArgumentException("a label is stripped, not blank and has no comma: '" + label + "'");
            }
        }
        this.trainVectors = requireNonNull(trainVectors, "trainVectors is null");
        this.trainClasses = requireNonNull(trainClasses, "trainClasses is null");
        this.validationVectors = requireNonNull(validationVectors, "validationVectors is null");
        this.validationClasses = requireNonNull(validationClasses, "validationClasses is null");
        if (trainVectors.length == 0 || validationVectors.length == 0) {
            throw new IllegalArgumentException("training and validation each need an example");
        }
        this.dimension = trainVectors[0].length;
        if (dimension < 1 || dimension > MAX_DIMENSION) {
            throw new IllegalArgumentException("the dimension must be 1 to " + MAX_DIMENSION + ", not " + dimension);
        }
        check(trainVectors, trainClasses, "training");
        check(validationVectors, validationClasses, "validation");
        long hash = 0xcbf29ce484222325L;
        hash = mix(hash, trainVectors, trainClasses);
        this.fingerprint = mix(hash, validationVectors, validationClasses);
    }

    private void check(float[][] vectors, int[] classes, String part) {
        if (vectors.length != classes.length) {
            throw new IllegalArgumentException(part + " has " + vectors.length + " vectors but " + classes.length
                    + " classes");
        }
        for (int i = 0; i < vectors.length; i++) {
            if (vectors[i].length != dimension) {
                throw new IllegalArgumentException(part + " vector " + i + " has dimension " + vectors[i].length
                        + ", not " + dimension);
            }
            for (float value : vectors[i]) {
                if (!Float.isFinite(value)) {
                    throw new IllegalArgumentException(part + " vector " + i + " holds " + value);
                }
            }
            if (classes[i] < 0 || classes[i] >= labels.size()) {
                throw new IllegalArgumentException(part + " class " + classes[i] + " is not one of the "
                        + labels.size() + " labels");
            }
        }
    }

    /** FNV-1a over the values' bits: a checkpoint records it so that it resumes only on the data it started on. */
    private static long mix(long hash, float[][] vectors, int[] classes) {
        for (int i = 0; i < vectors.length; i++) {
            for (float value : vectors[i]) {
                hash = (hash ^ Float.floatToIntBits(value)) * 0x100000001b3L;
            }
            hash = (hash ^ classes[i]) * 0x100000001b3L;
        }
        return (hash ^ vectors.length) * 0x100000001b3L;
    }

    List<String> labels() {
        return labels;
    }

    int classCount() {
        return labels.size();
    }

    int dimension() {
        return dimension;
    }

    float[][] trainVectors() {
        return trainVectors;
    }

    int[] trainClasses() {
        return trainClasses;
    }

    float[][] validationVectors() {
        return validationVectors;
    }

    int[] validationClasses() {
        return validationClasses;
    }

    long fingerprint() {
        return fingerprint;
    }
}
