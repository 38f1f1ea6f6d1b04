package dev.atrium.engine.onnx.audio;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import dev.atrium.AtriumException;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;

/**
 * Decodes uploaded audio (WAV, FLAC or MP3, found from the bytes, never from a file name) at any sample rate and
 * channel count into 16 kHz mono floats, the input of speech recognition.
 *
 * <p>Design: each format's reader streams frames into a {@link MonoSink}, which averages the channels, resamples
 * with a band-limited filter and refuses the audio as soon as it passes {@code maxDuration}, without decoding the
 * rest. Memory is the 16 kHz output plus a few buffers: it follows what was decoded, not what a header declares.
 * Every problem with the bytes is an {@link AtriumException} for the request field {@code file}. Instances hold
 * only the limit and are safe to share between threads.
 */
public final class AudioDecoder {
    /** The sample rate of every decoded result. */
    public static final int SAMPLE_RATE = 16_000;
    static final String PARAM = "file";
    private static final String UNSUPPORTED = "the file is not audio in a supported format (WAV, FLAC, MP3)";

    private final double maxSeconds;

    /** @param maxDuration the longest audio accepted; longer files are refused while decoding */
    public AudioDecoder(Duration maxDuration) {
        if (maxDuration.isNegative() || maxDuration.isZero()) {
            throw new IllegalArgumentException("maxDuration must be positive: " + maxDuration);
        }
        this.maxSeconds = maxDuration.toNanos() / 1e9;
    }

    /** Decodes a whole file held in memory. */
    public DecodedAudio decode(byte[] bytes) {
        try {
            return decode(new ByteArrayInputStream(bytes));
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array does not fail to read
        }
    }

    /**
     * Decodes a file read from a stream (not closed here), reading no further than the limit needs.
     *
     * @throws IOException when the stream itself fails (not when its bytes are bad: those are 400s); a failure
     *     that jFLAC or JLayer catch themselves surfaces as a 400 for a corrupt file
     */
    public DecodedAudio decode(InputStream stream) throws IOException {
        BufferedInputStream in = new BufferedInputStream(stream, 1 << 16);
        byte[] head = peek(in, 12);
        if (head.length == 0) {
            throw AtriumException.invalidParam(PARAM, "the file is empty");
        }
        MonoSink sink = new MonoSink(maxSeconds);
        try {
            if (startsWith(head, "ID3")) {
                skipId3(in);
                head = peek(in, 4);
                if (startsWith(head, "fLaC")) {
                    return FlacReader.read(in, sink);
                }
                return Mp3Reader.read(in, sink);
            }
            if (startsWith(head, "RIFF") && head.length >= 12 && new String(head, 8, 4, ISO_8859_1).equals("WAVE")) {
                return WavReader.read(in, sink);
            }
            if (startsWith(head, "fLaC")) {
                return FlacReader.read(in, sink);
            }
            if (Mp3Reader.isFrameHeader(head)) {
                return Mp3Reader.read(in, sink);
            }
        } catch (EOFException e) {
            throw AtriumException.invalidParam(PARAM, "the " + formatOf(head) + " file is truncated: it ends in the middle of its data");
        }
        throw AtriumException.invalidParam(PARAM, other(head));
    }

    private static String formatOf(byte[] head) {
        return startsWith(head, "RIFF") ? "WAV" : startsWith(head, "fLaC") ? "FLAC" : "MP3";
    }

    /** A message that names a recognisable but unsupported container, so the client knows what to convert. */
    private static String other(byte[] head) {
        String name = startsWith(head, "OggS") ? "Ogg (Vorbis or Opus)"
                : head.length >= 8 && new String(head, 4, 4, ISO_8859_1).equals("ftyp") ? "MP4/M4A"
                : head.length >= 4 && (head[0] & 0xff) == 0x1a && (head[1] & 0xff) == 0x45 && (head[2] & 0xff) == 0xdf
                        && (head[3] & 0xff) == 0xa3 ? "WebM/Matroska"
                : startsWith(head, "RIFX") || startsWith(head, "RF64") ? "a WAV variant (" + new String(head, 0, 4, ISO_8859_1) + ")"
                : null;
        return name == null ? UNSUPPORTED : "the file is " + name + " audio, which this server does not decode; send WAV, FLAC or MP3";
    }

    /** Skips an ID3v2 tag (10-byte header, syncsafe size, optional footer). */
    private static void skipId3(InputStream in) throws IOException {
        byte[] header = in.readNBytes(10);
        if (header.length < 10) {
            throw AtriumException.invalidParam(PARAM, "the MP3 file is truncated: it ends inside its ID3 tag");
        }
        long size = ((header[6] & 0x7fL) << 21) | ((header[7] & 0x7fL) << 14) | ((header[8] & 0x7fL) << 7) | (header[9] & 0x7fL);
        if ((header[5] & 0x10) != 0) {
            size += 10;
        }
        try {
            in.skipNBytes(size);
        } catch (EOFException e) {
            throw AtriumException.invalidParam(PARAM, "the MP3 file is truncated: it ends inside its ID3 tag");
        }
    }

    private static byte[] peek(BufferedInputStream in, int count) throws IOException {
        in.mark(count);
        byte[] bytes = in.readNBytes(count);
        in.reset();
        return bytes;
    }

    static boolean startsWith(byte[] bytes, String magic) {
        if (bytes.length < magic.length()) {
            return false;
        }
        for (int i = 0; i < magic.length(); i++) {
            if (bytes[i] != (byte) magic.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
