package dev.atrium.engine.llama;

import java.util.List;

/**
 * Finds a request's stop sequences in its streamed text: text that could still be the start of a stop sequence
 * is held back until the next piece decides, and text from a stop sequence on is never given out. Not
 * thread-safe.
 */
final class StopSequences {
    private final List<String> stops;
    private final StringBuilder held = new StringBuilder();
    private boolean stopped;

    StopSequences(List<String> stops) {
        this.stops = stops.stream().filter(stop -> !stop.isEmpty()).toList();
    }

    /** The text that may go out now; after a stop sequence, {@link #stopped()} is true and nothing more goes out. */
    String add(String piece) {
        if (stopped) {
            return "";
        }
        held.append(piece);
        String text = held.toString();
        int first = -1;
        for (String stop : stops) {
            int at = text.indexOf(stop);
            if (at >= 0 && (first < 0 || at < first)) {
                first = at;
            }
        }
        if (first >= 0) {
            stopped = true;
            String out = text.substring(0, first);
            held.setLength(0);
            return out;
        }
        int keep = 0; // the longest tail of the text that is a proper prefix of a stop sequence
        for (String stop : stops) {
            for (int length = Math.min(stop.length() - 1, text.length()); length > keep; length--) {
                if (text.regionMatches(text.length() - length, stop, 0, length)) {
                    keep = length;
                    break;
                }
            }
        }
        held.delete(0, text.length() - keep);
        return text.substring(0, text.length() - keep);
    }

    boolean stopped() {
        return stopped;
    }

    /** What was held back when the generation ends without a stop sequence. */
    String flush() {
        String rest = stopped ? "" : held.toString();
        held.setLength(0);
        return rest;
    }
}
