package dev.atrium.engine.onnx.audio;

import dev.atrium.AtriumException;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import org.jflac.FLACDecoder;
import org.jflac.frame.Frame;
import org.jflac.metadata.StreamInfo;

/**
 * Reads FLAC with jFLAC, frame by frame. jFLAC skips frames it cannot decode and stops quietly at the end of the
 * bytes, so a stream that ends before the sample count its STREAMINFO declares is reported as truncated here.
 */
final class FlacReader {
    private FlacReader() {}

    static DecodedAudio read(InputStream in, MonoSink sink) throws IOException {
        FLACDecoder decoder = new FLACDecoder(in);
        StreamInfo info;
        try {
            decoder.readMetadata();
            info = decoder.getStreamInfo();
        } catch (EOFException e) {
            throw invalid("the FLAC file is truncated: it ends inside its metadata");
        } catch (IOException | RuntimeException e) {
            throw invalid("the FLAC file's metadata is corrupt");
        }
        if (info == null) {
            throw invalid("the FLAC file has no STREAMINFO block");
        }
        int rate = info.getSampleRate();
        int channels = info.getChannels();
        int bits = info.getBitsPerSample();
        if (rate < 1_000 || rate > 768_000 || channels < 1 || channels > 8 || bits < 4 || bits > 32) {
            throw invalid("the FLAC file's STREAMINFO is invalid (" + rate + " Hz, " + channels + " channels, "
                    + bits + "-bit)");
        }
        sink.start(rate, channels);
        float scale = 1f / (1L << (bits - 1));
        while (true) {
            Frame frame;
            try {
                frame = decoder.readNextFrame();
            } catch (IOException | RuntimeException e) {
                throw invalid("the FLAC file is corrupt: a frame could not be decoded");
            }
            if (frame == null) {
                break;
            }
            if (frame.header.channels != channels) {
                throw invalid("the FLAC file's frames do not match its STREAMINFO (" + frame.header.channels
                        + " channels, not " + channels + ")");
            }
            int[][] outputs = new int[channels][];
            for (int channel = 0; channel < channels; channel++) {
                outputs[channel] = decoder.getChannelData()[channel].getOutput();
            }
            for (int i = 0; i < frame.header.blockSize; i++) {
                float sum = 0;
                for (int[] output : outputs) {
                    sum += output[i] * scale;
                }
                sink.add(sum / channels);
            }
        }
        long declared = info.getTotalSamples();
        if (sink.frames() == 0) {
            throw invalid(declared > 0 ? "the FLAC file is truncated: it ends before its first frame"
                    : "the FLAC file has no audio samples");
        }
        if (declared > 0 && sink.frames() < declared) {
            throw invalid("the FLAC file is truncated: it holds " + sink.frames() + " of the " + declared
                    + " samples its header declares");
        }
        return new DecodedAudio(sink.finish(), sink.frames() / (double) rate,
                new AudioSource(SourceFormat.FLAC, "FLAC " + bits + "-bit", rate, channels));
    }

    private static AtriumException invalid(String message) {
        return AtriumException.invalidParam(AudioDecoder.PARAM, message);
    }
}
