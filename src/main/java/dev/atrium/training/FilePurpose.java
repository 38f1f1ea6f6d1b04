package dev.atrium.training;

import java.util.Arrays;
import java.util.Optional;

/** What an uploaded file is for, as OpenAI names it; Atrium keeps files for fine-tuning (training) jobs. */
public enum FilePurpose {
    FINE_TUNE("fine-tune");

    private final String wireName;

    FilePurpose(String wireName) {
        this.wireName = wireName;
    }

    public String wireName() {
        return wireName;
    }

    public static Optional<FilePurpose> fromWireName(String name) {
        return Arrays.stream(values()).filter(purpose -> purpose.wireName.equals(name)).findFirst();
    }
}
