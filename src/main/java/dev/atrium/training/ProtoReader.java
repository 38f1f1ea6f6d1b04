package dev.atrium.training;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Reads a protobuf message in wire format, one field at a time, without a schema: each field's number and wire
 * type, its value when it is a varint, and where its bytes lie, so that a caller can decode the few fields it needs
 * and copy the others as they are. It reads from a buffer (a memory-mapped ONNX file) at absolute positions and
 * copies nothing it is not asked for. Every length is checked against the enclosing message, so a malformed message
 * fails with {@link IllegalArgumentException} instead of reading past its end. Not thread-safe.
 */
final class ProtoReader {
    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LENGTH_DELIMITED = 2;
    static final int FIXED32 = 5;

    private final ByteBuffer buffer;
    private final int end;
    private int position;
    private int field;
    private int wireType;
    private int fieldStart;
    private int valueStart;
    private long varint;

    /** A reader of the whole buffer, from its position to its limit, as one message. */
    ProtoReader(ByteBuffer buffer) {
        this(buffer, buffer.position(), buffer.limit());
    }

    private ProtoReader(ByteBuffer buffer, int start, int end) {
        this.buffer = buffer;
        this.position = start;
        this.end = end;
    }

    /** Moves to the next field; false at the message's end. */
    boolean next() {
        if (position >= end) {
            return false;
        }
        fieldStart = position;
        long tag = readVarint();
        field = (int) (tag >>> 3);
        wireType = (int) (tag & 7);
        if (field <= 0 || tag >>> 3 > 0x1FFFFFFF) {
            throw malformed("a field number of " + (tag >>> 3));
        }
        switch (wireType) {
            case VARINT -> {
                valueStart = position;
                varint = readVarint();
            }
            case FIXED64 -> skip(8);
            case LENGTH_DELIMITED -> {
                long length = readVarint();
                if (length < 0 || length > end - position) {
                    throw malformed("field " + field + " of " + length + " bytes where " + (end - position)
                            + " are left");
                }
                valueStart = position;
                position += (int) length;
            }
            case FIXED32 -> skip(4);
            default -> throw malformed("wire type " + wireType + " (groups are not read)");
        }
        return true;
    }

    int field() {
        return field;
    }

    int wireType() {
        return wireType;
    }

    /** The field's value as a varint (an int64, enum or bool field). */
    long varint() {
        expect(VARINT);
        return varint;
    }

    /** The field's bytes as a message of their own. */
    ProtoReader message() {
        expect(LENGTH_DELIMITED);
        return new ProtoReader(buffer, valueStart, position);
    }

    String string() {
        expect(LENGTH_DELIMITED);
        byte[] bytes = new byte[position - valueStart];
        buffer.get(valueStart, bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** Where the field starts in the buffer, its tag included. */
    int fieldStart() {
        return fieldStart;
    }

    /** Where the field ends in the buffer. */
    int fieldEnd() {
        return position;
    }

    /** A copy of the whole field, its tag included, to write again as it is. */
    byte[] fieldBytes() {
        byte[] bytes = new byte[position - fieldStart];
        buffer.get(fieldStart, bytes);
        return bytes;
    }

    private void expect(int type) {
        if (wireType != type) {
            throw malformed("field " + field + " of wire type " + wireType + " where " + type + " was expected");
        }
    }

    private void skip(int bytes) {
        if (bytes > end - position) {
            throw malformed("a field " + field + " cut off at the end of its message");
        }
        position += bytes;
    }

    private long readVarint() {
        long value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (position >= end) {
                throw malformed("a varint cut off at the end of its message");
            }
            byte b = buffer.get(position++);
            value |= (long) (b & 0x7F) << shift;
            if (b >= 0) {
                return value;
            }
        }
        throw malformed("a varint longer than ten bytes");
    }

    private IllegalArgumentException malformed(String what) {
        return new IllegalArgumentException("malformed protobuf at byte " + position + ": " + what);
    }
}
