package dev.atrium.engine.llama;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.LanguageEngine.ChatMessage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF's chat template ({@code tokenizer.chat_template}, Jinja) rendered in Java with Jinjava and the variables
 * and helpers of the Hugging Face / llama.cpp convention: {@code messages} (each with {@code role} and
 * {@code content}), {@code add_generation_prompt}, {@code bos_token}, {@code eos_token}, {@code
 * raise_exception(message)}. The template is the model owner's: its output and its lists are bounded, and a
 * template that fails is a 400 naming the template, never a crash.
 */
public final class ChatTemplate {
    /** The most a rendered prompt may hold, in characters; a model's context is far smaller. */
    private static final long MAX_OUTPUT = 4L << 20;
    private static final Jinjava JINJAVA = jinjava();

    private final String template;
    private final String bosToken;
    private final String eosToken;

    public ChatTemplate(String template, String bosToken, String eosToken) {
        this.template = template;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
    }

    private static Jinjava jinjava() {
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withMaxOutputSize(MAX_OUTPUT)
                .withMaxListSize(100_000)
                .withMaxMapSize(100_000)
                .withMaxRenderDepth(32)
                .withMaxMacroRecursionDepth(32)
                .withTrimBlocks(true) // as Hugging Face and llama.cpp render chat templates
                .withLstripBlocks(true)
                .build();
        Jinjava jinjava = new Jinjava(config);
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                ChatTemplate.class, "raiseException", String.class));
        return jinjava;
    }

    /** Jinja's {@code raise_exception}: the template refuses the conversation. */
    public static String raiseException(String message) {
        throw new TemplateRefusal(message);
    }

    /** Thrown by {@code raise_exception} inside a template. */
    static final class TemplateRefusal extends RuntimeException {
        TemplateRefusal(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * @throws AtriumException 400 when the template refuses the conversation or fails on it
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> list = new ArrayList<>();
        for (ChatMessage message : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", message.role());
            map.put("content", message.content());
            list.add(map);
        }
        Map<String, Object> bindings = new HashMap<>();
        bindings.put("messages", list);
        bindings.put("add_generation_prompt", addGenerationPrompt);
        bindings.put("bos_token", bosToken);
        bindings.put("eos_token", eosToken);
        RenderResult result;
        try {
            result = JINJAVA.renderForResult(template, bindings);
        } catch (TemplateRefusal e) {
            throw refused(e.getMessage());
        } catch (RuntimeException e) {
            TemplateRefusal refusal = cause(e);
            if (refusal != null) {
                throw refused(refusal.getMessage());
            }
            throw new AtriumException(ErrorCode.INVALID_REQUEST, "the model's chat template failed on these messages");
        }
        for (TemplateError error : result.getErrors()) {
            TemplateRefusal refusal = error.getException() == null ? null : cause(error.getException());
            if (refusal != null) {
                throw refused(refusal.getMessage());
            }
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new AtriumException(ErrorCode.INVALID_REQUEST, "the model's chat template failed on these"
                        + " messages: " + truncate(error.getMessage()));
            }
        }
        return result.getOutput();
    }

    private static TemplateRefusal cause(Throwable e) {
        for (Throwable at = e; at != null; at = at.getCause()) {
            if (at instanceof TemplateRefusal refusal) {
                return refusal;
            }
        }
        return null;
    }

    private static AtriumException refused(String message) {
        return AtriumException.withParam(ErrorCode.INVALID_REQUEST, "messages", "the model's chat template refuses"
                + " these messages: " + truncate(message));
    }

    private static String truncate(String message) {
        String text = message == null ? "" : message;
        return text.length() <= 200 ? text : text.substring(0, 200) + "…";
    }
}
