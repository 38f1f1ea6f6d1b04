package dev.atrium.engine;

import java.util.ArrayList;
import java.util.List;

/**
 * Zero-shot classification with an embedding model: the inputs and the candidate labels are embedded in one
 * request, and each input's scores are the softmax of its cosine similarity to each label, sharpened by
 * {@link #TEMPERATURE} (as CLIP and sentence-transformers' zero-shot examples do), so scores sum to 1 per input.
 */
public final class ZeroShot {
    /** Cosine similarities are divided by this before the softmax. */
    public static final double TEMPERATURE = 0.05;

    private ZeroShot() {}

    /** One embedding request for the inputs (texts only) followed by the labels. */
    public static EmbeddingRequest embeddingRequest(ClassificationRequest request) {
        List<EmbeddingInput> inputs = new ArrayList<>(request.inputs().size() + request.labels().size());
        for (ClassificationInput input : request.inputs()) {
            if (!(input instanceof ClassificationInput.Text text)) {
                throw dev.atrium.AtriumException.invalidParam("input", "zero-shot classification by an embedding"
                        + " model takes texts, not images");
            }
            inputs.add(new EmbeddingInput.Text(text.text()));
        }
        request.labels().forEach(label -> inputs.add(new EmbeddingInput.Text(label)));
        return new EmbeddingRequest(inputs, false);
    }

    /** Each input's labels, best first, from the vectors of {@link #embeddingRequest}. */
    public static ClassificationResult classify(ClassificationRequest request, EmbeddingResult embedded) {
        int inputs = request.inputs().size();
        List<String> labels = request.labels();
        List<float[]> vectors = embedded.vectors();
        List<List<ClassificationResult.LabelScore>> results = new ArrayList<>(inputs);
        for (int i = 0; i < inputs; i++) {
            double[] logits = new double[labels.size()];
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < labels.size(); j++) {
                logits[j] = cosine(vectors.get(i), vectors.get(inputs + j)) / TEMPERATURE;
                max = Math.max(max, logits[j]);
            }
            double sum = 0;
            for (int j = 0; j < logits.length; j++) {
                logits[j] = Math.exp(logits[j] - max);
                sum += logits[j];
            }
            List<ClassificationResult.LabelScore> scores = new ArrayList<>(labels.size());
            for (int j = 0; j < labels.size(); j++) {
                scores.add(new ClassificationResult.LabelScore(labels.get(j), logits[j] / sum));
            }
            scores.sort((a, b) -> Double.compare(b.score(), a.score()));
            results.add(scores.subList(0, Math.min(request.topK(), scores.size())));
        }
        return new ClassificationResult(results, embedded.computeNanos());
    }

    /** The cosine of two vectors of one dimension; 0 when either is all zeros. */
    public static double cosine(float[] a, float[] b) {
        double dot = 0;
        double normA = 0;
        double normB = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            normA += (double) a[i] * a[i];
            normB += (double) b[i] * b[i];
        }
        return normA == 0 || normB == 0 ? 0 : dot / Math.sqrt(normA * normB);
    }
}
