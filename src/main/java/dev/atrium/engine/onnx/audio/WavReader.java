package dev.atrium.engine.onnx.audio;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import dev.atrium.AtriumException;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/**
 * Reads RIFF WAVE: PCM 8 (unsigned), 16, 24 and 32-bit, IEEE float 32 and 64-bit, plain or WAVE_FORMAT_EXTENSIBLE.
 * Chunks other than {@code fmt } and {@code data} are skipped; the data chunk is streamed in blocks. A data size of
 * {@code 0xFFFFFFFF} (written by tools that stream to a pipe) means "to the end of the file".
 */
final class WavReader {
    private static final int FORMAT_PCM = 1;
    private static final int FORMAT_FLOAT = 3;
    private static final int FORMAT_EXTENSIBLE = 0xFFFE;
    private static final long UNKNOWN_SIZE = 0xFFFFFFFFL;
    private static final int MAX_CHANNELS = 64;
    private static final int MIN_RATE = 1_000;
    private static final int MAX_RATE = 768_000;
    private static final int BLOCK = 1 << 16;

    private WavReader() {}

    private record Format(int code, int channels, int sampleRate, int blockAlign, int bits) {
        String encoding() {
            return (code == FORMAT_FLOAT ? "IEEE float " : "PCM ") + bits + "-bit";
        }
    }

    static DecodedAudio read(InputStream in, MonoSink sink) throws IOException {
        in.skipNBytes(12); // RIFF, size (often wrong, so unused), WAVE
        Format format = null;
        while (true) {
            byte[] header = in.readNBytes(8);
            if (header.length < 8) {
                if (header.length == 0) {
                    throw invalid(format == null ? "the WAV file has no fmt chunk" : "the WAV file has no data chunk");
                }
                throw truncated("it ends inside a chunk header");
            }
            String id = new String(header, 0, 4, ISO_8859_1);
            long size = uint32(header, 4);
            if (id.equals("fmt ")) {
                format = format(in, size);
            } else if (id.equals("data")) {
                if (format == null) {
                    throw invalid("the WAV file's data chunk comes before its fmt chunk");
                }
                return data(in, size, format, sink);
            } else {
                try {
                    in.skipNBytes(size + (size & 1));
                } catch (EOFException e) {
                    throw truncated("it ends inside its '" + id.strip() + "' chunk");
                }
            }
        }
    }

    private static Format format(InputStream in, long size) throws IOException {
        if (size < 16 || size > 1024) {
            throw invalid("the WAV file's fmt chunk has an invalid size (" + size + " bytes)");
        }
        byte[] fmt = in.readNBytes((int) (size + (size & 1)));
        if (fmt.length < size) {
            throw truncated("it ends inside its fmt chunk");
        }
        int code = uint16(fmt, 0);
        int channels = uint16(fmt, 2);
        long sampleRate = uint32(fmt, 4);
        int blockAlign = uint16(fmt, 12);
        int bits = uint16(fmt, 14);
        if (code == FORMAT_EXTENSIBLE) {
            if (size < 40 || uint16(fmt, 16) < 22) {
                throw invalid("the WAV file's WAVE_FORMAT_EXTENSIBLE header is too short");
            }
            code = uint16(fmt, 24); // the first two bytes of the sub-format GUID are the format code
        }
        if (code != FORMAT_PCM && code != FORMAT_FLOAT) {
            throw invalid(String.format("the WAV file uses an unsupported encoding (format code 0x%04X); supported:"
                    + " PCM 8/16/24/32-bit and IEEE float 32/64-bit", code));
        }
        boolean supportedBits = code == FORMAT_PCM ? bits == 8 || bits == 16 || bits == 24 || bits == 32
                : bits == 32 || bits == 64;
        if (!supportedBits) {
            throw invalid("the WAV file has " + bits + "-bit " + (code == FORMAT_FLOAT ? "float" : "PCM")
                    + " samples; supported: PCM 8/16/24/32-bit and IEEE float 32/64-bit");
        }
        if (channels < 1 || channels > MAX_CHANNELS) {
            throw invalid("the WAV file declares " + channels + " channels; 1 to " + MAX_CHANNELS + " are supported");
        }
        if (sampleRate < MIN_RATE || sampleRate > MAX_RATE) {
            throw invalid("the WAV file declares a sample rate of " + sampleRate + " Hz; " + MIN_RATE + " to "
                    + MAX_RATE + " Hz are supported");
        }
        if (blockAlign != channels * (bits / 8)) {
            throw invalid("the WAV file's block alignment (" + blockAlign + ") does not match " + channels
                    + " channels of " + bits + "-bit samples");
        }
        return new Format(code, channels, (int) sampleRate, blockAlign, bits);
    }

    private static DecodedAudio data(InputStream in, long size, Format format, MonoSink sink) throws IOException {
        sink.start(format.sampleRate(), format.channels());
        boolean toEnd = size == UNKNOWN_SIZE;
        long remaining = toEnd ? Long.MAX_VALUE : size - size % format.blockAlign();
        int framesPerBlock = BLOCK / format.blockAlign();
        byte[] block = new byte[framesPerBlock * format.blockAlign()];
        float[] samples = new float[framesPerBlock * format.channels()];
        int carry = 0;
        long read = 0;
        while (remaining > 0) {
            int want = (int) Math.min(block.length - carry, remaining);
            int got = in.readNBytes(block, carry, want);
            read += got;
            remaining -= got;
            int available = carry + got;
            int frames = available / format.blockAlign();
            convert(block, frames * format.channels(), format, samples);
            sink.interleaved(samples, frames);
            carry = available - frames * format.blockAlign();
            System.arraycopy(block, frames * format.blockAlign(), block, 0, carry);
            if (got < want) {
                if (!toEnd) {
                    throw truncated("its data chunk declares " + size + " bytes but " + read + " are present");
                }
                break;
            }
        }
        if (sink.frames() == 0) {
            throw invalid("the WAV file has no audio samples");
        }
        return new DecodedAudio(sink.finish(), sink.frames() / (double) format.sampleRate(),
                new AudioSource(SourceFormat.WAV, format.encoding(), format.sampleRate(), format.channels()));
    }

    private static void convert(byte[] bytes, int count, Format format, float[] out) {
        int bits = format.bits();
        for (int i = 0; i < count; i++) {
            if (format.code() == FORMAT_FLOAT) {
                out[i] = bits == 32 ? Float.intBitsToFloat((int) uint32(bytes, i * 4))
                        : (float) Double.longBitsToDouble(int64(bytes, i * 8));
                if (!Float.isFinite(out[i])) {
                    out[i] = 0; // NaN or infinity would poison the filter
                }
                continue;
            }
            out[i] = switch (bits) {
                case 8 -> ((bytes[i] & 0xff) - 128) / 128f;
                case 16 -> (short) uint16(bytes, i * 2) / 32768f;
                case 24 -> (((bytes[i * 3] & 0xff) | (bytes[i * 3 + 1] & 0xff) << 8 | bytes[i * 3 + 2] << 16)) / 8388608f;
                default -> (int) uint32(bytes, i * 4) / 2147483648f;
            };
        }
    }

    private static int uint16(byte[] bytes, int offset) {
        return (bytes[offset] & 0xff) | (bytes[offset + 1] & 0xff) << 8;
    }

    private static long uint32(byte[] bytes, int offset) {
        return (uint16(bytes, offset) | (long) uint16(bytes, offset + 2) << 16);
    }

    private static long int64(byte[] bytes, int offset) {
        return uint32(bytes, offset) | uint32(bytes, offset + 4) << 32;
    }

    private static AtriumException invalid(String message) {
        return AtriumException.invalidParam(AudioDecoder.PARAM, message);
    }

    private static AtriumException truncated(String detail) {
        return invalid("the WAV file is truncated: " + detail);
    }
}
