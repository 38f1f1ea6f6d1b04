package dev.atrium.testing;

import tools.jackson.databind.JsonNode;

/** Vector arithmetic for comparing embeddings in tests. */
public final class Vectors {
    private Vectors() {}

    public static float[] of(JsonNode array) {
        float[] vector = new float[array.size()];
        for (int i = 0; i < vector.length; i++) {
            vector[i] = array.get(i).floatValue();
        }
        return vector;
    }

    public static double cosine(float[] a, float[] b) {
        double dot = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
        }
        return dot / (norm(a) * norm(b));
    }

    public static double norm(float[] a) {
        double sum = 0;
        for (float value : a) {
            sum += (double) value * value;
        }
        return Math.sqrt(sum);
    }
}
