package dev.atrium.engine;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;

/**
 * The most output one request may produce, in bytes of tensor elements (or embedding vectors) before any
 * wire encoding: a model's owner decides what it returns, and one request must not take the server's memory
 * with it. Engines check it before they copy an output out of the runtime.
 *
 * @param maxBytes at least 1
 */
public record OutputLimit(long maxBytes) {
    /** The server's default: {@code max-output-size} of 16 MiB. */
    public static final OutputLimit DEFAULT = new OutputLimit(16L << 20);

    public OutputLimit {
        if (maxBytes < 1) {
            throw new IllegalArgumentException("maxBytes must be at least 1: " + maxBytes);
        }
    }

    /** Bytes of a tensor of this type and shape (BYTES elements counted as one byte each, a lower bound). */
    public static long bytes(DataType type, long[] shape) {
        long count;
        try {
            count = Tensor.elementCount(shape);
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
        return count < 0 ? Long.MAX_VALUE : saturatedMultiply(count, elementBytes(type));
    }

    /** Bytes of a tensor's elements as held ({@code BYTES}: the length of each element). */
    public static long bytes(Tensor tensor) {
        if (tensor.datatype() != DataType.BYTES) {
            return bytes(tensor.datatype(), tensor.shape());
        }
        long total = 0;
        for (byte[] element : (byte[][]) tensor.data()) {
            total += element.length;
        }
        return total;
    }

    /** The limit of {@code requests} requests run together: this one's, that many times. */
    public OutputLimit times(int requests) {
        return new OutputLimit(saturatedMultiply(maxBytes, requests));
    }

    /** Refuses an embedding request whose vectors (4-byte floats) would exceed the limit, before it runs. */
    public void checkEmbeddings(int vectors, int dimension) {
        check(saturatedMultiply(saturatedMultiply(vectors, dimension), Float.BYTES), "the embeddings");
    }

    /**
     * Refuses {@code bytes} of output past the limit.
     *
     * @param what the output, for the message: "the embeddings", "the output tensors"
     * @throws AtriumException {@link ErrorCode#OUTPUT_TOO_LARGE}
     */
    public void check(long bytes, String what) {
        if (bytes > maxBytes) {
            throw AtriumException.withParam(ErrorCode.OUTPUT_TOO_LARGE, null, what + " of this request would be "
                    + (bytes == Long.MAX_VALUE ? "too many" : Long.toString(bytes)) + " bytes, more than the server's"
                    + " limit of " + maxBytes + " bytes of output per request; send fewer or smaller inputs");
        }
    }

    private static int elementBytes(DataType type) {
        return switch (type) {
            case BOOL, UINT8, INT8, BYTES -> 1;
            case UINT16, INT16, FP16 -> 2;
            case UINT32, INT32, FP32 -> 4;
            case UINT64, INT64, FP64 -> 8;
        };
    }

    private static long saturatedMultiply(long a, long b) {
        long high = Math.multiplyHigh(a, b);
        long low = a * b;
        return high != 0 || low < 0 ? Long.MAX_VALUE : low;
    }
}
