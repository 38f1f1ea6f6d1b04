package dev.atrium.training;

import static java.util.Objects.requireNonNull;

/**
 * One labelled text of a classification dataset.
 *
 * @param text the text to classify, never blank
 * @param label its class, stripped, without commas
 * @param line the line of the file the example starts on (1-based), for messages about it
 */
record TextExample(String text, String label, long line) {
    TextExample {
        requireNonNull(text, "text is null");
        requireNonNull(label, "label is null");
        if (line < 1) {
            throw new IllegalArgumentException("line must be positive, not " + line);
        }
    }
}
