package dev.atrium.training.tabular;

import dev.atrium.engine.onnx.tabular.FeatureSchema.Task;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;

/**
 * CSV tables of known functions, generated from a seed, with columns of each type: {@code x1} uniform in [-3, 3],
 * {@code x2} standard normal, {@code color} red / green / blue, {@code member} true / false, and {@code noise},
 * unrelated to the target and empty on a tenth of the rows.
 */
final class SyntheticTables {
    static final String HEADER = "x1,x2,color,member,noise,y";
    static final String[] COLORS = {"red", "green", "blue"};

    private SyntheticTables() {}

    /** y = 2 sin(x1) + x2² / 2 + (red: 1, green: -1, blue: 0) + (member: 0.5) + N(0, σ²). */
    static String regression(int rows, double sigma, long seed) {
        Random random = new Random(seed);
        StringBuilder csv = new StringBuilder(HEADER).append('\n');
        for (int row = 0; row < rows; row++) {
            Cells cells = new Cells(random);
            double y = signal(cells) + sigma * random.nextGaussian();
            cells.append(csv, Double.toString(y));
        }
        return csv.toString();
    }

    static double signal(Cells cells) {
        double color = cells.color == 0 ? 1 : cells.color == 1 ? -1 : 0;
        return 2 * Math.sin(cells.x1) + cells.x2 * cells.x2 / 2 + color + (cells.member ? 0.5 : 0);
    }

    /** y = 1.5 x1 - 2 x2 + (red: 1, green: -1) + (member: 0.5) + 3 + N(0, σ²). */
    static String linear(int rows, double sigma, long seed) {
        Random random = new Random(seed);
        StringBuilder csv = new StringBuilder(HEADER).append('\n');
        for (int row = 0; row < rows; row++) {
            Cells cells = new Cells(random);
            double color = cells.color == 0 ? 1 : cells.color == 1 ? -1 : 0;
            double y = 1.5 * cells.x1 - 2 * cells.x2 + color + (cells.member ? 0.5 : 0) + 3 + sigma * random.nextGaussian();
            cells.append(csv, Double.toString(y));
        }
        return csv.toString();
    }

    /** "yes" where x1 - x2 + (red: 0.5) > 0, flipped on a {@code flip} share of the rows at random. */
    static String binary(int rows, double flip, long seed) {
        Random random = new Random(seed);
        StringBuilder csv = new StringBuilder(HEADER).append('\n');
        for (int row = 0; row < rows; row++) {
            Cells cells = new Cells(random);
            boolean yes = cells.x1 - cells.x2 + (cells.color == 0 ? 0.5 : 0) > 0;
            if (random.nextDouble() < flip) {
                yes = !yes;
            }
            cells.append(csv, yes ? "yes" : "no");
        }
        return csv.toString();
    }

    /** "low" below x1 = -1 (-0.5 for members), "high" above 1, "mid" between; a {@code flip} share relabelled at random. */
    static String multiclass(int rows, double flip, long seed) {
        Random random = new Random(seed);
        String[] classes = {"low", "mid", "high"};
        StringBuilder csv = new StringBuilder(HEADER).append('\n');
        for (int row = 0; row < rows; row++) {
            Cells cells = new Cells(random);
            int label = cells.x1 < (cells.member ? -0.5 : -1) ? 0 : cells.x1 > 1 ? 2 : 1;
            if (random.nextDouble() < flip) {
                label = (label + 1 + random.nextInt(2)) % 3;
            }
            cells.append(csv, classes[label]);
        }
        return csv.toString();
    }

    static TabularDataset read(String csv, Task task) {
        return TabularCsvReader.read(new ByteArrayInputStream(csv.getBytes(StandardCharsets.UTF_8)),
                TabularDatasetSpec.of("y", task), TabularCsvLimits.DEFAULT);
    }

    /** One row's generated feature cells. */
    static final class Cells {
        final double x1;
        final double x2;
        final int color;
        final boolean member;
        final double noise;

        Cells(Random random) {
            x1 = -3 + 6 * random.nextDouble();
            x2 = random.nextGaussian();
            color = random.nextInt(3);
            member = random.nextBoolean();
            noise = random.nextDouble() < 0.1 ? Double.NaN : random.nextGaussian();
        }

        void append(StringBuilder csv, String target) {
            csv.append(x1).append(',').append(x2).append(',').append(COLORS[color]).append(',').append(member)
                    .append(',').append(Double.isNaN(noise) ? "" : Double.toString(noise)).append(',').append(target)
                    .append('\n');
        }
    }
}
