package dev.atrium.registry;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * An alias's traffic split: the versions it points at, each with a weight, and what keeps one caller on one
 * version. A request lands on a version with probability weight / total: drawn at random, or (sticky) by a hash of
 * its key or {@code user} to a point in [0, 1), so that the same one always lands on the same version, and moving
 * the weights moves only the callers whose point the boundary passed.
 *
 * @param weights version to weight, each at least 1, sorted by version
 */
public record Split(Map<Integer, Integer> weights, Sticky sticky) {
    /** The most versions one alias splits over. */
    public static final int MAX_VERSIONS = 16;
    /** The largest weight one version may have. */
    public static final int MAX_WEIGHT = 1_000_000;

    /** What a caller is kept on one version by. */
    public enum Sticky {
        /** Nothing: each request is drawn. */
        NONE("none"),
        /** Its API key. */
        KEY("key"),
        /** The request's {@code user} (OpenAI's field), or its key when it names none. */
        USER("user");

        private final String wireName;

        Sticky(String wireName) {
            this.wireName = wireName;
        }

        public String wireName() {
            return wireName;
        }

        public static Sticky fromWireName(String name) {
            return Arrays.stream(values()).filter(sticky -> sticky.wireName.equals(name)).findFirst()
                    .orElseThrow(() -> AtriumException.invalidParam("sticky", "sticky must be none, key or user, not '"
                            + name + "'"));
        }
    }

    /** Who a request is for, as a split's stickiness reads it. */
    public record Routing(String keyId, String user) {}

    public Split {
        weights = java.util.Collections.unmodifiableMap(new TreeMap<>(requireNonNull(weights, "weights is null")));
        requireNonNull(sticky, "sticky is null");
        if (weights.isEmpty() || weights.size() > MAX_VERSIONS) {
            throw AtriumException.invalidParam("split", "a split points at 1 to " + MAX_VERSIONS + " versions");
        }
        for (Map.Entry<Integer, Integer> weight : weights.entrySet()) {
            if (weight.getValue() == null || weight.getValue() < 1 || weight.getValue() > MAX_WEIGHT) {
                throw AtriumException.invalidParam("split", "version " + weight.getKey() + "'s weight must be an"
                        + " integer from 1 to " + MAX_WEIGHT);
            }
        }
    }

    /**
     * The version a request lands on.
     *
     * @param salt what the split belongs to ({@code model:alias}): a sticky caller's point differs between splits,
     *     so that the same callers are not the canaries of every model at once
     */
    public int pick(Routing routing, String salt) {
        long total = weights.values().stream().mapToLong(Integer::longValue).sum();
        String by = switch (sticky) {
            case NONE -> null;
            case KEY -> routing.keyId();
            case USER -> routing.user() != null ? "user:" + routing.user() : routing.keyId();
        };
        // a point in [0, 1): a sticky caller's stays where it is, so moving weights moves only the callers between
        // the old and the new boundary
        double point = by == null ? ThreadLocalRandom.current().nextDouble()
                : (hash(salt + "|" + by) >>> 11) * 0x1.0p-53;
        long below = 0;
        int last = 0;
        for (Map.Entry<Integer, Integer> weight : weights.entrySet()) {
            below += weight.getValue();
            last = weight.getKey();
            if (point < (double) below / total) {
                return weight.getKey();
            }
        }
        return last;
    }

    /** A well-mixed 64-bit hash of the routing value (the first eight bytes of its SHA-256). */
    private static long hash(String value) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
            long hash = 0;
            for (int i = 0; i < 8; i++) {
                hash = (hash << 8) | (digest[i] & 0xFF);
            }
            return hash;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
