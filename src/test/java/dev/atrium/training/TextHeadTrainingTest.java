package dev.atrium.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.onnx.allminilml6v2q.AllMiniLmL6V2QuantizedEmbeddingModel;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The whole text path: a JSONL file of templated sentences about four topics, read, split, embedded with the
 * bundled all-MiniLM-L6-v2 in process, a head trained on the embeddings, judged on the held-out part and exported
 * to ONNX.
 */
class TextHeadTrainingTest {
    private static final List<String> SPORTS_SUBJECTS = List.of("the striker", "our goalkeeper", "the home team",
            "the coach", "the captain", "the young midfielder", "the visiting side", "the veteran defender");
    private static final List<String> SPORTS_PREDICATES = List.of("scored twice in the second half",
            "was sent off after a rough tackle", "won the championship final on penalties",
            "trained hard before the derby match", "missed an easy shot at goal", "signed a new contract with the club",
            "celebrated the late equaliser with the fans", "was injured during the warm-up");
    private static final List<String> COOKING_SUBJECTS = List.of("my grandmother", "the chef", "the baker",
            "our neighbour", "the recipe", "the restaurant", "my brother", "the cookbook");
    private static final List<String> COOKING_PREDICATES = List.of("simmered the tomato sauce for an hour",
            "kneaded the dough and let it rise overnight", "roasted the vegetables with garlic and thyme",
            "seasoned the soup with a pinch of salt", "whisked eggs and sugar for the sponge cake",
            "fried the onions until golden", "chopped fresh herbs for the salad", "baked a loaf of sourdough bread");
    private static final List<String> FINANCE_SUBJECTS = List.of("the central bank", "investors", "the company",
            "the stock market", "the pension fund", "analysts", "the treasury", "shareholders");
    private static final List<String> FINANCE_PREDICATES = List.of("raised interest rates by a quarter point",
            "reported higher quarterly earnings", "sold bonds as inflation rose", "cut the dividend after losses",
            "expects the currency to weaken", "moved savings into index funds", "fell three percent at the opening",
            "approved a share buyback");
    private static final List<String> WEATHER_SUBJECTS = List.of("the forecast", "the coast", "tomorrow",
            "the mountains", "this weekend", "the north of the country", "the valley", "the city");
    private static final List<String> WEATHER_PREDICATES = List.of("will see heavy rain and strong winds",
            "expects snow above a thousand metres", "brings a heatwave with clear skies",
            "should have thick fog in the morning", "will turn cloudy with scattered showers",
            "faces a thunderstorm warning tonight", "stays dry but chilly", "gets frost after sunset");
    private static final List<String> FRAMES = List.of("%s %s.", "Today %s %s.", "I heard that %s %s.",
            "News: %s %s!", "Apparently %s %s.", "%s %s, people said.");

    /** Sentences in wording none of the templates use, by label: a harder test of what the head learned. */
    private static final List<List<String>> UNSEEN = List.of(
            List.of("Add the butter to the pan and stir until the risotto is creamy.",
                    "She grilled salmon with lemon for dinner.", "Peel and dice two carrots for the stew."),
            List.of("Mortgage lenders tightened credit after the bank collapse.",
                    "The bond yield curve inverted again this quarter.", "He paid off his loan and bought shares."),
            List.of("The tennis player served an ace to win the set.",
                    "The marathon runner crossed the finish line first.", "Fans booed the referee at the stadium."),
            List.of("A hurricane is approaching the islands.", "Expect drizzle and a cold breeze this afternoon.",
                    "Temperatures will drop below freezing overnight."));

    /** 100 sentences per topic, each a frame around a subject and a predicate of its topic, drawn by a seed. */
    private static String jsonLines(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<List<List<String>>> topics = List.of(List.of(SPORTS_SUBJECTS, SPORTS_PREDICATES),
                List.of(COOKING_SUBJECTS, COOKING_PREDICATES), List.of(FINANCE_SUBJECTS, FINANCE_PREDICATES),
                List.of(WEATHER_SUBJECTS, WEATHER_PREDICATES));
        List<String> labels = List.of("sports", "cooking", "finance", "weather");
        StringBuilder file = new StringBuilder();
        for (int i = 0; i < 400; i++) {
            int topic = i % 4;
            List<String> subjects = topics.get(topic).get(0);
            List<String> predicates = topics.get(topic).get(1);
            String sentence = String.format(FRAMES.get(random.nextInt(FRAMES.size())),
                    subjects.get(random.nextInt(subjects.size())), predicates.get(random.nextInt(predicates.size())));
            file.append("{\"text\": \"").append(sentence).append("\", \"label\": \"").append(labels.get(topic))
                    .append("\"}\n");
        }
        return file.toString();
    }

    @Test
    void train_miniLmEmbeddingsOfFourTopics_heldOutAccuracyAtLeast90Percent() throws Exception {
        TextDataset dataset = new TextDatasetReader("training_file", TextDatasetLimits.DEFAULTS)
                .read(new ByteArrayInputStream(jsonLines(11).getBytes(StandardCharsets.UTF_8)), TextDatasetFormat.JSONL);
        assertThat(dataset.examples()).hasSize(400);
        assertThat(dataset.labels()).containsExactly("cooking", "finance", "sports", "weather");
        int[] classes = dataset.classes();
        StratifiedSplit split = StratifiedSplit.of(classes, 0.25, 5);

        AllMiniLmL6V2QuantizedEmbeddingModel model = new AllMiniLmL6V2QuantizedEmbeddingModel();
        long embedStart = System.nanoTime();
        List<TextSegment> segments = dataset.texts().stream().map(TextSegment::from).toList();
        float[][] vectors = model.embedAll(segments).content().stream().map(e -> e.vector()).toArray(float[][]::new);
        double embedSeconds = (System.nanoTime() - embedStart) / 1e9;
        assertThat(vectors[0]).hasSize(384);

        HeadTrainingData data = new HeadTrainingData(dataset.labels(),
                SoftmaxHeadTrainerTest.select(vectors, split.train()), SoftmaxHeadTrainerTest.select(classes, split.train()),
                SoftmaxHeadTrainerTest.select(vectors, split.validation()),
                SoftmaxHeadTrainerTest.select(classes, split.validation()));
        List<EpochProgress> progress = new ArrayList<>();
        long trainStart = System.nanoTime();
        HeadTrainingOutcome outcome = new SoftmaxHeadTrainer(HeadTrainingOptions.DEFAULTS)
                .train(data, (epoch, checkpoint) -> progress.add(epoch));
        double trainSeconds = (System.nanoTime() - trainStart) / 1e9;

        assertThat(outcome).isInstanceOf(HeadTrainingOutcome.Completed.class);
        SoftmaxHead head = ((HeadTrainingOutcome.Completed) outcome).head();
        ClassificationMetrics heldOut = ClassificationMetrics.of(data.validationClasses(),
                SoftmaxHeadTrainerTest.toDouble(head.probabilities(data.validationVectors())));
        int rowsTrained = data.trainVectors().length * HeadTrainingOptions.DEFAULTS.epochs();
        System.out.printf("embedded %d texts in %.2f s (%.0f texts/s); trained %d epochs on %d rows in %.3f s"
                + " (%.0f rows/s); held-out accuracy %.4f, macro-F1 %.4f, ROC-AUC %.4f, log-loss %.4f%n",
                vectors.length, embedSeconds, vectors.length / embedSeconds, HeadTrainingOptions.DEFAULTS.epochs(),
                data.trainVectors().length, trainSeconds, rowsTrained / trainSeconds, heldOut.accuracy(),
                heldOut.macroF1(), heldOut.macroRocAuc().orElse(Double.NaN), heldOut.logLoss());

        assertThat(heldOut.examples()).isEqualTo(100);
        assertThat(heldOut.accuracy()).isGreaterThanOrEqualTo(0.9);
        // the trainer judges its double weights, the head is their FP32 rounding
        assertThat(progress.getLast().validationAccuracy()).isCloseTo(heldOut.accuracy(), within(0.02));
        assertThat(progress.getLast().trainingLoss()).isLessThan(progress.getFirst().trainingLoss());
        SoftmaxHeadTrainerTest.assertOnnxMatches(head, data.validationVectors());

        List<String> unseenTexts = UNSEEN.stream().flatMap(List::stream).toList();
        int[] unseenClasses = new int[unseenTexts.size()];
        for (int i = 0; i < unseenClasses.length; i++) {
            unseenClasses[i] = i / 3;
        }
        float[][] unseenVectors = unseenTexts.stream().map(text -> model.embed(text).content().vector())
                .toArray(float[][]::new);
        ClassificationMetrics unseen = ClassificationMetrics.of(unseenClasses,
                SoftmaxHeadTrainerTest.toDouble(head.probabilities(unseenVectors)));
        System.out.printf("unseen wording: accuracy %.4f of %d%n", unseen.accuracy(), unseenTexts.size());
        assertThat(unseen.accuracy()).isGreaterThanOrEqualTo(0.75);
    }
}
