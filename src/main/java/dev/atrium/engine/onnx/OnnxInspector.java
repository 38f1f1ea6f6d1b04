package dev.atrium.engine.onnx;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.ArtifactFiles;
import dev.atrium.engine.DataType;
import dev.atrium.engine.Deployment;
import dev.atrium.engine.EmbeddingMetadata;
import dev.atrium.engine.ModelOptions;
import dev.atrium.engine.ModelMetadata;
import dev.atrium.engine.ModelTask;
import dev.atrium.engine.Pooling;
import dev.atrium.engine.TensorSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Validates uploaded ONNX artifacts and reads their metadata: the model must load in ONNX Runtime with tensor
 * inputs and outputs of types the engine exchanges; an embedding model must also have the inputs and output of
 * an encoder, a tokenizer that parses, and run once on a probe input, which gives its dimension.
 */
final class OnnxInspector {
    private static final int DEFAULT_MAX_SEQUENCE_LENGTH = 512;

    private final OrtEnvironment environment;
    private final dev.atrium.engine.OutputLimit outputLimit;

    OnnxInspector(OrtEnvironment environment, dev.atrium.engine.OutputLimit outputLimit) {
        this.environment = environment;
        this.outputLimit = outputLimit;
    }

    ModelMetadata inspect(ModelTask task, ArtifactFiles files, ModelOptions options, Map<String, Deployment> parts) {
        if (!parts.isEmpty() && task != ModelTask.TEXT_CLASSIFICATION) {
            throw invalidArtifact("only text classifiers are composed of other models");
        }
        try (OrtSession.SessionOptions sessionOptions = task == ModelTask.TRANSCRIPTION
                ? SpeechRecognition.sessionOptions(1) : inspectionOptions();
                OrtSession session = openSession(files, sessionOptions)) {
            List<TensorSpec> inputs = specs(session.getInputInfo(), "input");
            List<TensorSpec> outputs = specs(session.getOutputInfo(), "output");
            return switch (task) {
                case EMBEDDING -> new ModelMetadata(inputs, outputs,
                        inspectEmbedding(session, inputs, outputs, files, options), null);
                case TENSOR -> {
                    if (files.tokenizer().isPresent()) {
                        throw invalidArtifact("a tokenizer is only used by embedding models, not by tensor models");
                    }
                    yield new ModelMetadata(inputs, outputs, null, null);
                }
                case TEXT_CLASSIFICATION -> parts.containsKey(Deployment.EMBEDDING_PART)
                        ? TextClassifiers.inspectHead(session, inputs, outputs, files, options,
                                parts.get(Deployment.EMBEDDING_PART))
                        : inspectTokenClassifier(session, inputs, outputs, files, options);
                case TABULAR -> {
                    if (files.tokenizer().isPresent()) {
                        throw invalidArtifact("a tabular model takes features, not token ids: it has no tokenizer");
                    }
                    yield TabularPrediction.inspect(environment, session, inputs, outputs, options.config(),
                            outputLimit);
                }
                case TRANSCRIPTION -> SpeechRecognition.inspect(environment, session, inputs, outputs, files,
                        options.config());
                case IMAGE_CLASSIFICATION -> ImageClassification.inspect(session, inputs, outputs, files,
                        options.config());
                case CHAT, COMPLETION -> throw new IllegalArgumentException("the ONNX engine serves no " + task.wireName()
                        + " models");
            };
        } catch (OrtException e) {
            throw AtriumException.internal("inspecting the model failed", e);
        }
    }

    /**
     * A classifier that reads token ids, as BERT-style sequence classifiers do: an encoder's inputs, a tokenizer, and
     * one row of class scores per input. It runs as an embedding model whose vector is its row of scores (pooling
     * {@code none}, not normalized), so it batches as embeddings do.
     */
    private ModelMetadata inspectTokenClassifier(OrtSession session, List<TensorSpec> inputs, List<TensorSpec> outputs,
            ArtifactFiles files, ModelOptions options) throws OrtException {
        if (files.tokenizer().isEmpty()) {
            throw invalidArtifact("a text classifier that reads token ids needs its 'tokenizer' part; to classify with"
                    + " a head over embeddings, name the embedding model in the config's 'embedding_model'");
        }
        dev.atrium.engine.onnx.image.ClassificationOutput scores = TextClassifiers.output(session, outputs, options);
        if (options.normalize().orElse(false) || options.pooling().filter(pooling -> pooling != Pooling.NONE).isPresent()) {
            throw invalidArtifact("a text classifier's scores are neither pooled nor normalized");
        }
        ModelOptions asEmbedding = new ModelOptions(Optional.of(Pooling.NONE), Optional.of(false), options.maxLength(),
                Optional.of(scores.output()), Optional.empty(), Optional.empty(), options.config());
        EmbeddingMetadata embedding = inspectEmbedding(session, inputs, outputs, files, asEmbedding);
        if (embedding.dimension() != scores.labels().size()) {
            throw invalidArtifact("output '" + scores.output() + "' gives " + embedding.dimension() + " scores but "
                    + scores.labels().size() + " labels are given");
        }
        return new ModelMetadata(inputs, outputs, embedding, null, null, scores.labels());
    }

    /** The config's {@code prefixes}: text put before inputs by input type, e.g. {"query": "query: "}. */
    private static Map<String, String> prefixes(tools.jackson.databind.JsonNode config) {
        tools.jackson.databind.JsonNode node = config.get("prefixes");
        if (node == null || node.isNull()) {
            if (config.has("default_input_type")) {
                throw invalidArtifact("default_input_type goes with prefixes");
            }
            return Map.of();
        }
        if (!node.isObject() || node.isEmpty() || node.size() > 8) {
            throw invalidArtifact("prefixes must be an object of 1 to 8 input types, each with its prefix text, e.g."
                    + " {\"query\": \"query: \", \"passage\": \"passage: \"}");
        }
        Map<String, String> prefixes = new java.util.TreeMap<>();
        for (Map.Entry<String, tools.jackson.databind.JsonNode> entry : node.properties()) {
            if (!entry.getKey().matches("[a-z][a-z0-9_]{0,31}") || !entry.getValue().isString()
                    || entry.getValue().stringValue().length() > 256) {
                throw invalidArtifact("each input type in prefixes is a lowercase name with a prefix of at most 256"
                        + " characters");
            }
            prefixes.put(entry.getKey(), entry.getValue().stringValue());
        }
        return prefixes;
    }

    private static String defaultInputType(tools.jackson.databind.JsonNode config, Map<String, String> prefixes) {
        tools.jackson.databind.JsonNode node = config.get("default_input_type");
        if (node == null) {
            if (prefixes.size() == 1) {
                return prefixes.keySet().iterator().next();
            }
            throw invalidArtifact("default_input_type must name the input type of requests that give none, one of "
                    + prefixes.keySet());
        }
        if (!node.isString() || !prefixes.containsKey(node.stringValue())) {
            throw invalidArtifact("default_input_type must be one of the prefixes' input types " + prefixes.keySet());
        }
        return node.stringValue();
    }

    /** The model's own metadata properties (ONNX {@code metadata_props}). */
    static Map<String, String> customMetadata(OrtSession session) throws OrtException {
        return session.getMetadata().getCustomMetadata();
    }

    OrtSession openSession(ArtifactFiles files, OrtSession.SessionOptions sessionOptions) {
        try {
            return environment.createSession(files.model().toString(), sessionOptions);
        } catch (OrtException e) {
            throw invalidArtifact("the 'onnx' part is not a model ONNX Runtime can load: "
                    + OnnxMessages.clientSafe(e.getMessage(), files.model().toString()));
        }
    }

    static OrtSession.SessionOptions inspectionOptions() throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(1);
        options.setInterOpNumThreads(1);
        return options;
    }

    static List<TensorSpec> specs(Map<String, NodeInfo> nodes, String kind) {
        List<TensorSpec> specs = new ArrayList<>();
        for (NodeInfo node : nodes.values()) {
            if (!(node.getInfo() instanceof TensorInfo info)) {
                throw invalidArtifact(kind + " '" + node.getName() + "' is not a tensor; only tensor "
                        + kind + "s are supported");
            }
            DataType type = OnnxTensors.dataType(info.onnxType).orElseThrow(() -> invalidArtifact(
                    kind + " '" + node.getName() + "' has element type " + info.onnxType.name()
                            .replace("ONNX_TENSOR_ELEMENT_DATA_TYPE_", "")
                            + ", which the ONNX engine cannot exchange"));
            specs.add(new TensorSpec(node.getName(), type, Arrays.stream(info.getShape()).boxed().toList()));
        }
        return specs;
    }

    private EmbeddingMetadata inspectEmbedding(OrtSession session, List<TensorSpec> inputs, List<TensorSpec> outputs,
            ArtifactFiles files, ModelOptions options) throws OrtException {
        for (String name : List.of("input_ids", "attention_mask")) {
            TensorSpec input = inputs.stream().filter(spec -> spec.name().equals(name)).findFirst()
                    .orElseThrow(() -> invalidArtifact("an embedding model needs an '" + name + "' input"));
            if (input.datatype() != DataType.INT64 || input.shape().size() != 2) {
                throw invalidArtifact("input '" + name + "' must be INT64 of shape [batch, sequence]");
            }
        }
        for (TensorSpec input : inputs) {
            if (!List.of("input_ids", "attention_mask", "token_type_ids").contains(input.name())) {
                throw invalidArtifact("an embedding model may only have the inputs input_ids, attention_mask and"
                        + " token_type_ids, not '" + input.name() + "'");
            }
        }
        String outputName = options.output()
                .or(() -> outputs.stream().map(TensorSpec::name).filter("last_hidden_state"::equals).findFirst())
                .orElse(outputs.getFirst().name());
        TensorSpec output = outputs.stream().filter(spec -> spec.name().equals(outputName)).findFirst()
                .orElseThrow(() -> invalidArtifact("the model has no output '" + outputName + "'"));
        if (output.datatype() != DataType.FP32 || output.shape().size() < 2 || output.shape().size() > 3) {
            throw invalidArtifact("output '" + outputName + "' must be FP32 of shape [batch, sequence, dimension]"
                    + " or [batch, dimension]");
        }
        Pooling pooling = options.pooling().orElse(output.shape().size() == 3 ? Pooling.MEAN : Pooling.NONE);
        if ((pooling == Pooling.NONE) != (output.shape().size() == 2)) {
            throw invalidArtifact("pooling '" + pooling.wireName() + "' does not fit output '" + outputName
                    + "' of rank " + output.shape().size());
        }
        TextTokenizer tokenizer = null;
        try {
            if (files.tokenizer().isPresent()) {
                try {
                    tokenizer = TextTokenizer.load(files.tokenizer().get());
                } catch (IllegalArgumentException e) {
                    throw invalidArtifact("the 'tokenizer' part is not a valid tokenizer.json: " + e.getMessage());
                }
            }
            int maxLength = options.maxLength()
                    .orElse(tokenizer != null && tokenizer.truncationLength().isPresent()
                            ? tokenizer.truncationLength().getAsInt()
                            : DEFAULT_MAX_SEQUENCE_LENGTH);
            if (maxLength < 2) {
                throw invalidArtifact("max_length must be at least 2");
            }
            int vocabulary = tokenizer == null ? 0 : tokenizer.vocabularySize();
            long[] probe = tokenizer == null ? new long[] {0} : tokenizer.encode("probe");
            EmbeddingMetadata draft = new EmbeddingMetadata(tokenizer != null, maxLength, 0, vocabulary, pooling,
                    options.normalize().orElse(true), outputName);
            float[][] vectors;
            try {
                vectors = EmbeddingPipeline.run(environment, session, session.getInputNames().contains("token_type_ids"), draft,
                        List.of(probe));
            } catch (OrtException e) {
                throw invalidArtifact("the model does not run as an embedding model: "
                        + OnnxMessages.clientSafe(e.getMessage(), files.model().toString()));
            }
            Map<String, String> prefixes = prefixes(options.config());
            String defaultType = prefixes.isEmpty() ? null : defaultInputType(options.config(), prefixes);
            return new EmbeddingMetadata(tokenizer != null, maxLength, vectors[0].length, vocabulary, pooling,
                    draft.normalize(), outputName, prefixes, defaultType);
        } finally {
            if (tokenizer != null) {
                tokenizer.close();
            }
        }
    }

    static AtriumException invalidArtifact(String message) {
        return new AtriumException(ErrorCode.INVALID_ARTIFACT, message);
    }
}
