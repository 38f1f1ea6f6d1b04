package dev.atrium.engine.onnx.audio;

import java.util.Arrays;

/** A growable array of floats: decoded samples, grown as they arrive so memory follows what was decoded. */
final class FloatList {
    private float[] values;
    private int size;

    FloatList(int initialCapacity) {
        values = new float[Math.max(16, initialCapacity)];
    }

    void add(float value) {
        if (size == values.length) {
            values = Arrays.copyOf(values, values.length * 2);
        }
        values[size++] = value;
    }

    void add(float[] source, int count) {
        if (size + count > values.length) {
            values = Arrays.copyOf(values, Math.max(values.length * 2, size + count));
        }
        System.arraycopy(source, 0, values, size, count);
        size += count;
    }

    int size() {
        return size;
    }

    float[] toArray() {
        return Arrays.copyOf(values, size);
    }
}
