package dev.atrium.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.AtriumException;
import dev.atrium.engine.LanguageEngine.ChatMessage;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The chat templates of common model families, as their Hugging Face tokenizer configs carry them. */
class ChatTemplateTest {
    private static final List<ChatMessage> SYSTEM_USER = List.of(new ChatMessage("system", "You are helpful."),
            new ChatMessage("user", "Hi"));

    static final String CHATML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n'"
            + " + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
            + "{{ '<|im_start|>assistant\\n' }}{% endif %}";

    static final String LLAMA3 = "{% set loop_messages = messages %}{% for message in loop_messages %}"
            + "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content']"
            + " | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
            + "{{ content }}{% endfor %}{% if add_generation_prompt %}"
            + "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

    static final String MISTRAL = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user')"
            + " != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate"
            + " user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}"
            + "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
            + "{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are"
            + " supported!') }}{% endif %}{% endfor %}";

    static final String GEMMA = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System"
            + " role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') !="
            + " (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate"
            + " user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}"
            + "{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role"
            + " + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}"
            + "{{'<start_of_turn>model\\n'}}{% endif %}";

    static final String PHI3 = "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\\n' +"
            + " message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\\n' +"
            + " message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\\n' +"
            + " message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}"
            + "{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}";

    /** The template both GGUF files in ../shared/models carry. */
    static final String SHARED_GGUF = "{% for message in messages %}{{ message['role'] + ': ' + message['content']"
            + " + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ 'assistant: ' }}{% endif %}";

    @Test
    void chatml() {
        assertThat(new ChatTemplate(CHATML, "", "<|im_end|>").render(SYSTEM_USER, true)).isEqualTo(
                "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    }

    @Test
    void llama3() {
        assertThat(new ChatTemplate(LLAMA3, "<|begin_of_text|>", "<|eot_id|>").render(SYSTEM_USER, true)).isEqualTo(
                "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    @Test
    void mistral_alternatingTurns_andASystemMessageRefusedAs400() {
        ChatTemplate mistral = new ChatTemplate(MISTRAL, "<s>", "</s>");
        assertThat(mistral.render(List.of(new ChatMessage("user", "Hi"), new ChatMessage("assistant", "Hello"),
                new ChatMessage("user", "How?")), true)).isEqualTo("<s>[INST] Hi [/INST]Hello</s>[INST] How? [/INST]");
        assertThatThrownBy(() -> mistral.render(SYSTEM_USER, true)).isInstanceOf(AtriumException.class)
                .hasMessageContaining("Conversation roles must alternate");
    }

    @Test
    void gemma() {
        ChatTemplate gemma = new ChatTemplate(GEMMA, "<bos>", "<eos>");
        assertThat(gemma.render(List.of(new ChatMessage("user", " Hi "), new ChatMessage("assistant", "Hello"),
                new ChatMessage("user", "Bye")), true)).isEqualTo("<bos><start_of_turn>user\nHi<end_of_turn>\n"
                + "<start_of_turn>model\nHello<end_of_turn>\n<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n");
        assertThatThrownBy(() -> gemma.render(SYSTEM_USER, true)).isInstanceOf(AtriumException.class)
                .hasMessageContaining("System role not supported");
    }

    @Test
    void phi3() {
        assertThat(new ChatTemplate(PHI3, "<s>", "<|endoftext|>").render(SYSTEM_USER, true))
                .isEqualTo("<|system|>\nYou are helpful.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\n");
        assertThat(new ChatTemplate(PHI3, "<s>", "<|endoftext|>").render(SYSTEM_USER, false))
                .isEqualTo("<|system|>\nYou are helpful.<|end|>\n<|user|>\nHi<|end|>\n<|endoftext|>");
    }

    @Test
    void theSharedGgufTemplate() {
        assertThat(new ChatTemplate(SHARED_GGUF, "<s>", "</s>").render(SYSTEM_USER, true))
                .isEqualTo("system: You are helpful.\nuser: Hi\nassistant: ");
    }

    @Test
    void aTemplateThatBlowsUp_isBoundedAndA400() {
        // a hundred million iterations of ten characters: Jinjava's range stops early, its output is capped
        String huge = "{% for i in range(100000000) %}{{ 'xxxxxxxxxx' }}{% endfor %}";
        long start = System.nanoTime();
        try {
            assertThat(new ChatTemplate(huge, "", "").render(SYSTEM_USER, true).length()).isLessThanOrEqualTo(4 << 20);
        } catch (AtriumException refused) {
            assertThat(refused.getMessage()).contains("chat template");
        }
        assertThat(System.nanoTime() - start).isLessThan(java.time.Duration.ofSeconds(10).toNanos());
        String nested = "{% for a in range(100000) %}{% for b in range(100000) %}{{ 'x' }}{% endfor %}{% endfor %}";
        start = System.nanoTime();
        try {
            assertThat(new ChatTemplate(nested, "", "").render(SYSTEM_USER, true).length()).isLessThanOrEqualTo(4 << 20);
        } catch (AtriumException refused) {
            assertThat(refused.getMessage()).contains("chat template");
        }
        assertThat(System.nanoTime() - start).isLessThan(java.time.Duration.ofSeconds(10).toNanos());
        assertThatThrownBy(() -> new ChatTemplate("{% for %}", "", "").render(SYSTEM_USER, true))
                .isInstanceOf(AtriumException.class);
    }
}
