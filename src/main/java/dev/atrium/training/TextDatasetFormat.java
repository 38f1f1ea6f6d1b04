package dev.atrium.training;

/** The file formats a text classification dataset is read from. */
enum TextDatasetFormat {
    /**
     * One JSON object a line: {@code {"text": ..., "label": ...}}, or OpenAI's chat format
     * {@code {"messages": [...]}} whose last user message is the text and the assistant's reply to it the label.
     */
    JSONL,
    /** Comma-separated values (RFC 4180) with a header row naming the {@code text} and {@code label} columns. */
    CSV
}
