package dev.atrium.engine.onnx.audio;

/** The container an uploaded audio file came in, as found from its bytes. */
public enum SourceFormat {
    WAV, FLAC, MP3
}
