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

        /**
         * The bytes of an image sent as text, as JSON carries bytes: a base64 data URL
         * ({@code data:image/png;base64,...}) or plain base64. URLs to fetch are refused.
         *
         * @throws dev.atrium.AtriumException 400 naming {@code param} when the text is neither
         */
        public static byte[] decode(String text, String param) {
            String data = text.strip();
            if (data.startsWith("http://") || data.startsWith("https://")) {
                throw dev.atrium.AtriumException.invalidParam(param, "images are sent in the request, as data URLs"
                        + " or base64; Atrium does not fetch URLs");
            }
            if (data.startsWith("data:")) {
                int comma = data.indexOf(',');
                if (comma < 0 || !data.substring(0, comma).endsWith(";base64")) {
                    throw dev.atrium.AtriumException.invalidParam(param, "an image as a data URL must be base64:"
                            + " data:image/png;base64,...");
                }
                data = data.substring(comma + 1);
            }
            try {
                return java.util.Base64.getMimeDecoder().decode(data);
            } catch (IllegalArgumentException e) {
                throw dev.atrium.AtriumException.invalidParam(param, "the image is not valid base64");
            }
        }
    }
}
