package dev.atrium.engine.onnx.audio;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import dev.atrium.AtriumException;
import java.io.BufferedInputStream;
import java.io.IOException;
import javazoom.jl.decoder.Bitstream;
import javazoom.jl.decoder.BitstreamException;
import javazoom.jl.decoder.Decoder;
import javazoom.jl.decoder.DecoderException;
import javazoom.jl.decoder.Header;
import javazoom.jl.decoder.SampleBuffer;

/**
 * Reads MPEG audio (Layer I, II and III: MP3) with JLayer, frame by frame. A Xing/Info frame (what LAME writes
 * first) is metadata, not audio: its output is dropped, and its frame count (which counts the tag's own frame), when it
 * has one, finds files that were cut short. LAME writes none where a frame is too small to hold it (e.g. 16 kHz mono
 * at its default 24 kbit/s). A file without one that ends on a frame boundary cannot be told from a shorter recording.
 */
final class Mp3Reader {
    private static final int PEEK = 64;

    private Mp3Reader() {}

    /** Whether the bytes start with a plausible MPEG audio frame header. */
    static boolean isFrameHeader(byte[] bytes) {
        if (bytes.length < 4 || (bytes[0] & 0xff) != 0xff || (bytes[1] & 0xe0) != 0xe0) {
            return false;
        }
        int version = (bytes[1] >> 3) & 3;
        int layer = (bytes[1] >> 1) & 3;
        int bitrate = (bytes[2] >> 4) & 0xf;
        int rate = (bytes[2] >> 2) & 3;
        return version != 1 && layer != 0 && bitrate != 0xf && rate != 3;
    }

    static DecodedAudio read(BufferedInputStream in, MonoSink sink) throws IOException {
        in.mark(PEEK);
        byte[] first = in.readNBytes(PEEK);
        in.reset();
        if (!isFrameHeader(first)) {
            throw invalid("the file is not audio in a supported format (WAV, FLAC, MP3)");
        }
        long declaredFrames = xingFrames(first);
        Bitstream bitstream = new Bitstream(in);
        Decoder decoder = new Decoder();
        int rate = 0;
        int channels = 0;
        String encoding = null;
        long frames = 0;
        float[] samples = new float[0];
        while (true) {
            Header header;
            try {
                header = bitstream.readFrame();
            } catch (BitstreamException | RuntimeException e) {
                throw invalid("the MP3 file is corrupt: a frame header could not be read");
            }
            if (header == null) {
                break;
            }
            int frameChannels = header.mode() == Header.SINGLE_CHANNEL ? 1 : 2;
            if (encoding == null) {
                rate = header.frequency();
                channels = frameChannels;
                encoding = header.version_string() + " Layer " + header.layer_string();
                sink.start(rate, channels);
            } else if (header.frequency() != rate || frameChannels != channels) {
                throw invalid("the MP3 file changes its sample rate or channel count mid-stream");
            }
            SampleBuffer output;
            try {
                output = (SampleBuffer) decoder.decodeFrame(header, bitstream);
            } catch (DecoderException | RuntimeException e) {
                throw invalid("the MP3 file is corrupt: a frame could not be decoded");
            }
            bitstream.closeFrame();
            frames++;
            if (frames == 1 && declaredFrames >= 0) {
                continue; // the Xing/Info frame decodes to silence that is not in the recording
            }
            int count = output.getBufferLength();
            if (samples.length < count) {
                samples = new float[count];
            }
            short[] buffer = output.getBuffer();
            for (int i = 0; i < count; i++) {
                samples[i] = buffer[i] / 32768f;
            }
            sink.interleaved(samples, count / channels);
        }
        if (sink.frames() == 0) {
            throw frames == 0 ? invalid("the file is not audio in a supported format (WAV, FLAC, MP3)")
                    : invalid("the MP3 file has no audio samples");
        }
        if (declaredFrames > 0 && frames < declaredFrames) {
            throw invalid("the MP3 file is truncated: it holds " + frames + " of the " + declaredFrames
                    + " frames its Xing/Info header declares");
        }
        return new DecodedAudio(sink.finish(), sink.frames() / (double) rate,
                new AudioSource(SourceFormat.MP3, encoding, rate, channels));
    }

    /**
     * The frame count of a Xing/Info tag in the first frame: -1 when there is no tag, 0 when the tag has no count.
     * The tag follows the side information, whose length depends on the MPEG version and channel mode.
     */
    private static long xingFrames(byte[] frame) {
        boolean mpeg1 = ((frame[1] >> 3) & 3) == 3;
        boolean mono = ((frame[3] >> 6) & 3) == 3;
        boolean crc = (frame[1] & 1) == 0;
        int offset = 4 + (crc ? 2 : 0) + (mpeg1 ? (mono ? 17 : 32) : (mono ? 9 : 17));
        if (frame.length < offset + 12) {
            return -1;
        }
        String tag = new String(frame, offset, 4, ISO_8859_1);
        if (!tag.equals("Xing") && !tag.equals("Info")) {
            return -1;
        }
        boolean hasFrames = (frame[offset + 7] & 1) != 0;
        return hasFrames ? ((frame[offset + 8] & 0xffL) << 24 | (frame[offset + 9] & 0xffL) << 16
                | (frame[offset + 10] & 0xffL) << 8 | (frame[offset + 11] & 0xffL)) : 0;
    }

    private static AtriumException invalid(String message) {
        return AtriumException.invalidParam(AudioDecoder.PARAM, message);
    }
}
