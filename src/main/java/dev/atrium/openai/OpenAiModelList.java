package dev.atrium.openai;

import java.util.List;

/** OpenAI's list envelope. */
record OpenAiModelList(String object, List<OpenAiModel> data) {
    OpenAiModelList {
        data = List.copyOf(data);
    }
}
