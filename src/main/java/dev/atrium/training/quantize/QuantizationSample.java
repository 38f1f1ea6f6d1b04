package dev.atrium.training.quantize;

import java.util.List;

/**
 * The sentences a quantized embedding model is compared on when the caller gives none: short and long, questions
 * and statements, several domains, digits, code and a few other languages, so that one weak spot shows.
 */
public final class QuantizationSample {
    public static final List<String> SENTENCES = List.of(
            "How do I reset my password?",
            "The mitochondria is the powerhouse of the cell.",
            "Atrium hosts models for many tenants and bills them exactly.",
            "What is the capital of Australia?",
            "Canberra was chosen as a compromise between Sydney and Melbourne.",
            "The quarterly report shows revenue up 12% on the same period last year.",
            "Preheat the oven to 180 degrees and grease a round cake tin.",
            "The patient presented with a persistent dry cough and mild fever.",
            "Interest rates were left unchanged at the central bank's December meeting.",
            "for (int i = 0; i < n; i++) { total += values[i]; }",
            "SELECT name, count(*) FROM orders GROUP BY name HAVING count(*) > 10;",
            "The defendant's appeal was dismissed by the court on procedural grounds.",
            "A transformer encoder maps a sequence of tokens to contextual vectors.",
            "My flight was delayed by three hours and I missed the connection.",
            "Is it safe to take ibuprofen together with paracetamol?",
            "The striker scored twice in the second half to win the match.",
            "Photosynthesis converts light energy into chemical energy stored in glucose.",
            "Please find attached the signed contract and the invoice for March.",
            "The Eiffel Tower was completed in 1889 for the World's Fair.",
            "Wie spät ist es bitte?",
            "La réunion est reportée à jeudi prochain.",
            "¿Dónde está la estación de tren más cercana?",
            "ok",
            "Error 503: the service is temporarily unavailable, retry after 30 seconds.",
            "The hiking trail climbs 800 metres through pine forest to a glacial lake.",
            "Customers who bought this item also bought a protective case.",
            "Quantum entanglement links the states of two particles regardless of distance.",
            "Our support team answers within one business day.",
            "The novel follows three generations of a family through the war years and after, moving between the"
                    + " village where they farmed and the city where the youngest daughter studies medicine.",
            "Use a soft brush to remove dust from the solar panels every few months.",
            "The API returns 429 when the rate limit of requests per minute is exceeded.",
            "Elephants communicate with low-frequency rumbles that travel for kilometres.");

    private QuantizationSample() {
    }
}
