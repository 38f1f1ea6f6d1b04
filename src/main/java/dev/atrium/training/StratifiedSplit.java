package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A seeded train/validation split of a classification dataset that keeps each class's share in both parts: of a
 * class's {@code n} examples, {@code round(n * validationFraction)} go to validation, at least one and at most
 * {@code n - 1} when the class has two or more (a class of one stays in training). The same classes, fraction and
 * seed give the same split on every machine. Immutable.
 */
public final class StratifiedSplit {
    private final int[] train;
    private final int[] validation;

    private StratifiedSplit(int[] train, int[] validation) {
        this.train = train;
        this.validation = validation;
    }

    /**
     * Splits examples by class.
     *
     * @param classes each example's class, from 0
     * @param validationFraction the share of each class that goes to validation, strictly between 0 and 1
     * @param seed decides which examples of a class go where
     */
    public static StratifiedSplit of(int[] classes, double validationFraction, long seed) {
        requireNonNull(classes, "classes is null");
        if (!(validationFraction > 0 && validationFraction < 1)) {
            throw new IllegalArgumentException("validationFraction must be between 0 and 1, not " + validationFraction);
        }
        int classCount = 0;
        for (int c : classes) {
            if (c < 0) {
                throw new IllegalArgumentException("classes are from 0, not " + c);
            }
            classCount = Math.max(classCount, c + 1);
        }
        int[][] members = new int[classCount][];
        int[] sizes = new int[classCount];
        for (int c : classes) {
            sizes[c]++;
        }
        for (int c = 0; c < classCount; c++) {
            members[c] = new int[sizes[c]];
            sizes[c] = 0;
        }
        for (int i = 0; i < classes.length; i++) {
            members[classes[i]][sizes[classes[i]]++] = i;
        }
        boolean[] toValidation = new boolean[classes.length];
        int validationCount = 0;
        SplittableRandom random = new SplittableRandom(seed);
        for (int[] member : members) {
            int n = member.length;
            if (n < 2) {
                continue;
            }
            int k = (int) Math.min(n - 1, Math.max(1, Math.round(n * validationFraction)));
            // a partial Fisher-Yates shuffle: the first k places end up a uniform sample of the class
            for (int i = 0; i < k; i++) {
                int j = i + random.nextInt(n - i);
                int swap = member[i];
                member[i] = member[j];
                member[j] = swap;
                toValidation[member[i]] = true;
            }
            validationCount += k;
        }
        int[] train = new int[classes.length - validationCount];
        int[] validation = new int[validationCount];
        int t = 0;
        int v = 0;
        for (int i = 0; i < classes.length; i++) {
            if (toValidation[i]) {
                validation[v++] = i;
            } else {
                train[t++] = i;
            }
        }
        return new StratifiedSplit(train, validation);
    }

    /** The indices of the training examples, ascending. */
    public int[] train() {
        return train.clone();
    }

    /** The indices of the validation examples, ascending. */
    public int[] validation() {
        return validation.clone();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof StratifiedSplit split && Arrays.equals(train, split.train)
                && Arrays.equals(validation, split.validation);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(train) + Arrays.hashCode(validation);
    }

    @Override
    public String toString() {
        return "StratifiedSplit[train=" + train.length + ", validation=" + validation.length + "]";
    }
}
