package dev.atrium.bench;

import java.util.ArrayList;
import java.util.List;

/** The benchmark inputs: short sentences (about 16 tokens) and paragraphs (about 128 tokens). */
public final class Texts {
    private static final List<String> SENTENCES = List.of(
            "The quick brown fox jumps over the lazy dog near the quiet riverbank.",
            "How do I reset my password if I no longer have access to my email?",
            "Atrium serves embedding models to many tenants with exact usage metering.",
            "The weather in Lisbon stays sunny and warm for most of the late summer.",
            "Quantum computers use qubits that can hold a superposition of two states.",
            "Please send the signed contract back to our legal team before Friday noon.",
            "A good night of sleep improves memory, mood and concentration the next day.",
            "The train to the airport leaves every twenty minutes from platform three.");

    private Texts() {}

    public static List<String> of(String kind) {
        return switch (kind) {
            case "sentence" -> SENTENCES;
            case "paragraph" -> paragraphs();
            default -> throw new IllegalArgumentException("text is sentence or paragraph, not " + kind);
        };
    }

    /** Each paragraph joins eight sentences in a different order: about 128 tokens. */
    private static List<String> paragraphs() {
        List<String> paragraphs = new ArrayList<>();
        for (int start = 0; start < SENTENCES.size(); start++) {
            StringBuilder paragraph = new StringBuilder();
            for (int i = 0; i < SENTENCES.size(); i++) {
                paragraph.append(SENTENCES.get((start + i * 3) % SENTENCES.size())).append(' ');
            }
            paragraphs.add(paragraph.toString().strip());
        }
        return paragraphs;
    }
}
