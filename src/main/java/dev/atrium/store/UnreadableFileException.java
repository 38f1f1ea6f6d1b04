package dev.atrium.store;

import java.io.IOException;

/**
 * A stored tenant file that cannot be read back: it was altered, reordered or cut short, or the data key it was
 * written with is not its tenant's (destroyed, or another tenant's). Its message names the file, never a path.
 */
public final class UnreadableFileException extends IOException {
    UnreadableFileException(String message) {
        super(message);
    }
}
