package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

/** One input to classify: a text, or an encoded image (JPEG, PNG, GIF, BMP or WebP bytes). */
public sealed interface ClassificationInput {
    record Text(String text) implements ClassificationInput {
        public Text {
            requireNonNull(text, "text is null");
        }
    }

    record Image(byte[] bytes) implements ClassificationInput {
        public Image {
            requireNonNull(bytes, "bytes is null");
        }
    }
}
