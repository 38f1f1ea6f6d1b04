package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The whole state of a head training run after some epochs: its weights, Adam's moment estimates and step count,
 * and the progress so far, with the options, labels and data fingerprint it belongs to. Resuming from it gives,
 * bit for bit, what the uninterrupted run would have. {@link #toBytes} and {@link #fromBytes} store it (a small
 * versioned binary format). Immutable.
 */
final class HeadCheckpoint {
    private static final int MAGIC = 0x41544831; // "ATH1"
    private static final int MAX_LABELS = 100_000;

    private final HeadTrainingOptions options;
    private final List<String> labels;
    private final int dimension;
    private final long dataFingerprint;
    private final int epoch;
    private final long step;
    private final double[] parameters;
    private final double[] firstMoments;
    private final double[] secondMoments;
    private final List<EpochProgress> history;

    /**
     * @param parameters the weights, {@code dimension × labels} row by row, then the {@code labels} biases
     * @param history one entry for each epoch done
     */
    HeadCheckpoint(HeadTrainingOptions options, List<String> labels, int dimension, long dataFingerprint, int epoch,
            long step, double[] parameters, double[] firstMoments, double[] secondMoments,
            List<EpochProgress> history) {
        this.options = requireNonNull(options, "options is null");
        this.labels = List.copyOf(labels);
        this.dimension = dimension;
        this.dataFingerprint = dataFingerprint;
        this.epoch = epoch;
        this.step = step;
        this.parameters = parameters.clone();
        this.firstMoments = firstMoments.clone();
        this.secondMoments = secondMoments.clone();
        this.history = List.copyOf(history);
        if (this.labels.size() < 2 || this.labels.size() > MAX_LABELS) {
            throw new IllegalArgumentException("a head has 2 to " + MAX_LABELS + " labels, not " + this.labels.size());
        }
        if (dimension < 1 || dimension > HeadTrainingData.MAX_DIMENSION) {
            throw new IllegalArgumentException("dimension " + dimension);
        }
        long size = (long) dimension * this.labels.size() + this.labels.size();
        if (parameters.length != size || firstMoments.length != size || secondMoments.length != size) {
            throw new IllegalArgumentException("a head of dimension " + dimension + " and " + this.labels.size()
                    + " labels has " + size + " parameters");
        }
        if (epoch < 0 || epoch > options.epochs() || this.history.size() != epoch || step < 0) {
            throw new IllegalArgumentException("epoch " + epoch + " of " + options.epochs() + " with "
                    + this.history.size() + " epochs of history, step " + step);
        }
    }

    HeadTrainingOptions options() {
        return options;
    }

    List<String> labels() {
        return labels;
    }

    int dimension() {
        return dimension;
    }

    long dataFingerprint() {
        return dataFingerprint;
    }

    /** The epochs done. */
    int epoch() {
        return epoch;
    }

    long step() {
        return step;
    }

    double[] parameters() {
        return parameters.clone();
    }

    double[] firstMoments() {
        return firstMoments.clone();
    }

    double[] secondMoments() {
        return secondMoments.clone();
    }

    List<EpochProgress> history() {
        return history;
    }

    byte[] toBytes() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(32 + parameters.length * 24);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(MAGIC);
            out.writeInt(options.epochs());
            out.writeInt(options.batchSize());
            out.writeDouble(options.learningRate());
            out.writeDouble(options.l2());
            out.writeLong(options.seed());
            out.writeInt(labels.size());
            for (String label : labels) {
                out.writeUTF(label);
            }
            out.writeInt(dimension);
            out.writeLong(dataFingerprint);
            out.writeInt(epoch);
            out.writeLong(step);
            for (double[] values : List.of(parameters, firstMoments, secondMoments)) {
                for (double value : values) {
                    out.writeDouble(value);
                }
            }
            for (EpochProgress progress : history) {
                out.writeDouble(progress.trainingLoss());
                out.writeDouble(progress.validationLoss());
                out.writeDouble(progress.validationAccuracy());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /**
     * Reads what {@link #toBytes} wrote.
     *
     * @throws IllegalArgumentException when the bytes are not a whole checkpoint
     */
    static HeadCheckpoint fromBytes(byte[] bytes) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            if (in.readInt() != MAGIC) {
                throw new IllegalArgumentException("not a head checkpoint");
            }
            HeadTrainingOptions options = new HeadTrainingOptions(in.readInt(), in.readInt(), in.readDouble(),
                    in.readDouble(), in.readLong());
            int labelCount = in.readInt();
            if (labelCount < 2 || labelCount > MAX_LABELS) {
                throw new IllegalArgumentException("a head checkpoint with " + labelCount + " labels");
            }
            List<String> labels = new ArrayList<>(labelCount);
            for (int i = 0; i < labelCount; i++) {
                labels.add(in.readUTF());
            }
            int dimension = in.readInt();
            if (dimension < 1 || dimension > HeadTrainingData.MAX_DIMENSION) {
                throw new IllegalArgumentException("a head checkpoint of dimension " + dimension);
            }
            long fingerprint = in.readLong();
            int epoch = in.readInt();
            if (epoch < 0 || epoch > options.epochs()) {
                throw new IllegalArgumentException("a head checkpoint at epoch " + epoch);
            }
            long step = in.readLong();
            long parameterCount = (long) dimension * labelCount + labelCount;
            if (parameterCount > Integer.MAX_VALUE / 8) {
                throw new IllegalArgumentException("a head checkpoint of " + parameterCount + " parameters");
            }
            int size = (int) parameterCount;
            // the three arrays and the history must all be there before any is allocated
            if (in.available() != (long) size * 3 * Double.BYTES + (long) epoch * 3 * Double.BYTES) {
                throw new IllegalArgumentException("a head checkpoint of the wrong length");
            }
            double[][] arrays = new double[3][size];
            for (double[] values : arrays) {
                for (int i = 0; i < size; i++) {
                    values[i] = in.readDouble();
                }
            }
            List<EpochProgress> history = new ArrayList<>(epoch);
            for (int i = 1; i <= epoch; i++) {
                history.add(new EpochProgress(i, options.epochs(), in.readDouble(), in.readDouble(), in.readDouble()));
            }
            return new HeadCheckpoint(options, labels, dimension, fingerprint, epoch, step, arrays[0], arrays[1],
                    arrays[2], history);
        } catch (IOException e) {
            throw new IllegalArgumentException("a truncated head checkpoint", e);
        }
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof HeadCheckpoint that && options.equals(that.options) && labels.equals(that.labels)
                && dimension == that.dimension && dataFingerprint == that.dataFingerprint && epoch == that.epoch
                && step == that.step && Arrays.equals(parameters, that.parameters)
                && Arrays.equals(firstMoments, that.firstMoments) && Arrays.equals(secondMoments, that.secondMoments)
                && history.equals(that.history);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * epoch + Arrays.hashCode(parameters)) + labels.hashCode();
    }

    @Override
    public String toString() {
        return "HeadCheckpoint[epoch " + epoch + " of " + options.epochs() + ", " + labels.size() + " labels, dimension "
                + dimension + "]";
    }
}
