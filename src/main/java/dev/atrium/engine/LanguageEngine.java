package dev.atrium.engine;

import java.util.List;

/** An engine that generates text on the server: chat and completion models. */
public interface LanguageEngine extends Engine {

    /** One message of a chat. */
    record ChatMessage(String role, String content) {}

    /** Renders a chat through the model's own chat template into a prompt. */
    String chatPrompt(Deployment deployment, List<ChatMessage> messages);

    /** How many tokens the model reads for a text. */
    int countTokens(Deployment deployment, String text);

    /**
     * A GBNF grammar that only allows JSON following the schema ({@code {}} for any JSON object).
     *
     * @throws dev.atrium.AtriumException 400 for a schema it cannot turn into a grammar
     */
    String jsonGrammar(String jsonSchema);

    /**
     * Starts generating on one of the model's slots (or queues the generation for one).
     *
     * @throws dev.atrium.AtriumException 503 with {@code Retry-After} when every slot is busy and the queue is full
     */
    Generation start(Deployment deployment, GenerationRequest request, RunContext context);
}
