package dev.atrium.training;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * A protobuf message being written, its fields in the order added: what the ONNX writers of training (and the test
 * models) encode onnx.proto's messages with, so that no protobuf library is needed. Repeated numbers can be written
 * packed, which every protobuf parser reads. Not thread-safe.
 */
public final class ProtoMessage {
    private static final int VARINT = 0;
    private static final int LENGTH_DELIMITED = 2;
    private static final int FIXED32 = 5;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    public ProtoMessage varint(int field, long value) {
        tag(field, VARINT);
        rawVarint(value);
        return this;
    }

    public ProtoMessage fixed32(int field, float value) {
        tag(field, FIXED32);
        int bits = Float.floatToIntBits(value);
        for (int i = 0; i < 4; i++) {
            out.write((bits >>> (8 * i)) & 0xFF);
        }
        return this;
    }

    public ProtoMessage string(int field, String value) {
        return bytes(field, value.getBytes(StandardCharsets.UTF_8));
    }

    public ProtoMessage message(int field, ProtoMessage message) {
        return bytes(field, message.toBytes());
    }

    public ProtoMessage bytes(int field, byte[] value) {
        tag(field, LENGTH_DELIMITED);
        rawVarint(value.length);
        out.writeBytes(value);
        return this;
    }

    public ProtoMessage packedVarints(int field, long[] values) {
        ProtoMessage packed = new ProtoMessage();
        for (long value : values) {
            packed.rawVarint(value);
        }
        return bytes(field, packed.toBytes());
    }

    public ProtoMessage packedFloats(int field, float[] values) {
        return bytes(field, littleEndian(values));
    }

    /**
     * The tag and length of a length-delimited field whose {@code length} bytes the caller writes after this
     * message's, elsewhere (a field too large to hold in memory, copied from a file).
     */
    public ProtoMessage lengthDelimitedHeader(int field, long length) {
        tag(field, LENGTH_DELIMITED);
        rawVarint(length);
        return this;
    }

    /** Fields already encoded, appended as they are. */
    public ProtoMessage raw(byte[] fields) {
        out.writeBytes(fields);
        return this;
    }

    public byte[] toBytes() {
        return out.toByteArray();
    }

    /** Floats as a TensorProto's {@code raw_data} holds them. */
    public static byte[] littleEndian(float[] values) {
        ByteBuffer raw = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(values);
        return raw.array();
    }

    private void tag(int field, int wireType) {
        rawVarint(((long) field << 3) | wireType);
    }

    private void rawVarint(long value) {
        // negative int64 values take ten bytes, as protobuf writes them
        while ((value & ~0x7FL) != 0) {
            out.write((int) ((value & 0x7F) | 0x80));
            value >>>= 7;
        }
        out.write((int) value);
    }
}
