package dev.atrium.training.tabular;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;

/**
 * The state of a boosting run after some rounds, from which {@link GradientBoostingTrainer#resume} goes on to the
 * same model an uninterrupted run makes: the trees so far (XGBoost's UBJSON model), the early-stopping state, and
 * a digest of the parameters and data it was made with, so that it is not resumed with others.
 *
 * @param rounds rounds done
 * @param bestRounds the rounds at which the validation metric was best (0 before any round)
 * @param bestMetric that best value (+∞ before any round)
 * @param digest of the parameters (but the round count and checkpoint interval) and of the data's shape
 * @param model XGBoost's model bytes; not to be modified
 */
public record BoostingCheckpoint(int rounds, int bestRounds, double bestMetric, String digest, byte[] model) {
    private static final int MAGIC = 0x41544742; // "ATGB"
    private static final int VERSION = 1;

    public BoostingCheckpoint {
        requireNonNull(digest, "digest is null");
        requireNonNull(model, "model is null");
        if (rounds < 0 || bestRounds < 0 || bestRounds > rounds) {
            throw new IllegalArgumentException("rounds " + rounds + " and best rounds " + bestRounds + " do not fit");
        }
    }

    /** The checkpoint as bytes to store. */
    public byte[] toBytes() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(model.length + 128);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(MAGIC);
            out.writeInt(VERSION);
            out.writeInt(rounds);
            out.writeInt(bestRounds);
            out.writeDouble(bestMetric);
            byte[] digestBytes = digest.getBytes(UTF_8);
            out.writeInt(digestBytes.length);
            out.write(digestBytes);
            out.writeInt(model.length);
            out.write(model);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /**
     * Reads what {@link #toBytes} wrote; lengths are checked against the bytes given, never trusted.
     *
     * @throws AtriumException {@code INVALID_ARTIFACT} for anything else
     */
    public static BoostingCheckpoint fromBytes(byte[] bytes) {
        requireNonNull(bytes, "bytes is null");
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            if (in.readInt() != MAGIC || in.readInt() != VERSION) {
                throw invalid();
            }
            int rounds = in.readInt();
            int bestRounds = in.readInt();
            double bestMetric = in.readDouble();
            byte[] digest = readBlock(in, bytes.length);
            byte[] model = readBlock(in, bytes.length);
            if (in.available() != 0 || rounds < 0 || bestRounds < 0 || bestRounds > rounds) {
                throw invalid();
            }
            return new BoostingCheckpoint(rounds, bestRounds, bestMetric, new String(digest, UTF_8), model);
        } catch (IOException e) {
            throw invalid();
        }
    }

    private static byte[] readBlock(DataInputStream in, int total) throws IOException {
        int length = in.readInt();
        if (length < 0 || length > total) {
            throw invalid();
        }
        return in.readNBytes(length);
    }

    private static AtriumException invalid() {
        return new AtriumException(ErrorCode.INVALID_ARTIFACT, "the training checkpoint is not one Atrium wrote");
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof BoostingCheckpoint that && rounds == that.rounds && bestRounds == that.bestRounds
                && Double.compare(bestMetric, that.bestMetric) == 0 && digest.equals(that.digest)
                && Arrays.equals(model, that.model);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(model) + rounds;
    }

    @Override
    public String toString() {
        return "BoostingCheckpoint[rounds=" + rounds + ", bestRounds=" + bestRounds + ", bestMetric=" + bestMetric
                + ", model=" + model.length + " bytes]";
    }
}
