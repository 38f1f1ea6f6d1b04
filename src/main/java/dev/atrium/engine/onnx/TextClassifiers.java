package dev.atrium.engine.onnx;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.atrium.engine.ArtifactFiles;
import dev.atrium.engine.DataType;
import dev.atrium.engine.Deployment;
import dev.atrium.engine.EmbeddingMetadata;
import dev.atrium.engine.ModelMetadata;
import dev.atrium.engine.ModelOptions;
import dev.atrium.engine.TensorSpec;
import dev.atrium.engine.onnx.image.ClassificationOutput;
import java.util.List;

/**
 * Text classifiers of two forms. One reads token ids (a BERT-style sequence classifier with its tokenizer) and runs
 * as an embedding model whose vector is its row of class scores. The other is composed: an embedding model version
 * (pinned at upload) and a head, an ONNX model that takes the embedding ({@code FP32 [batch, dimension]}) and gives
 * class scores; served as one model, it embeds with the embedding model's batcher, then runs the head with its own.
 * Both read their scores as the config's {@code output}, {@code output_kind} and {@code labels} say, as image
 * classifiers do.
 */
final class TextClassifiers {
    private TextClassifiers() {}

    /** Checks a head against the embedding model under it: one input of the embedding's width, class scores out. */
    static ModelMetadata inspectHead(OrtSession session, List<TensorSpec> inputs, List<TensorSpec> outputs,
            ArtifactFiles files, ModelOptions options, Deployment embedding) throws OrtException {
        if (files.tokenizer().isPresent()) {
            throw OnnxInspector.invalidArtifact("a classifier head takes embeddings, not token ids: it has no tokenizer"
                    + " (the embedding model has its own)");
        }
        EmbeddingMetadata encoder = embedding.metadata().embeddingMetadata().orElseThrow(() ->
                OnnxInspector.invalidArtifact("the embedding model has no embedding metadata"));
        if (inputs.size() != 1) {
            throw OnnxInspector.invalidArtifact("a classifier head has one input, the embedding; this model has "
                    + inputs.size());
        }
        TensorSpec input = inputs.getFirst();
        if (input.datatype() != DataType.FP32 || input.shape().size() != 2
                || (input.shape().get(1) > 0 && input.shape().get(1) != encoder.dimension())) {
            throw OnnxInspector.invalidArtifact("the head's input '" + input.name() + "' must be FP32 of shape"
                    + " [batch, " + encoder.dimension() + "], the dimension of " + embedding.key().modelName() + ":"
                    + embedding.key().version() + "'s embeddings");
        }
        if (!input.hasDynamicBatchDimension()) {
            throw OnnxInspector.invalidArtifact("the head's input '" + input.name() + "' needs a dynamic batch"
                    + " dimension");
        }
        return ModelMetadata.classifier(inputs, outputs, output(session, outputs, options).labels());
    }

    /** How the classifier's scores are read, from its config and its own metadata. */
    static ClassificationOutput output(OrtSession session, List<TensorSpec> outputs, ModelOptions options)
            throws OrtException {
        return ClassificationOutput.fromConfig(options.config(), outputs, OnnxInspector.customMetadata(session));
    }

    static ClassificationOutput output(OrtSession session, Deployment deployment) throws OrtException {
        return ClassificationOutput.fromConfig(deployment.config(), deployment.metadata().outputs(),
                OnnxInspector.customMetadata(session));
    }
}
