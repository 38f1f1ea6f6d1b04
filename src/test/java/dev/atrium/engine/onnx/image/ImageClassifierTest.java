package dev.atrium.engine.onnx.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OrtEnvironment;
import dev.atrium.engine.onnx.image.ClassificationOutput.OutputKind;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shared classifier names the class of each of its six photos, in every format, in one batch. */
class ImageClassifierTest {
    private static ImageFixtures.Model model;
    private static ImageClassifier classifier;
    private final ImageDecoder decoder = new ImageDecoder(50_000_000);

    @TempDir
    Path temporary;

    @BeforeAll
    static void open() {
        model = ImageFixtures.Model.open();
        classifier = new ImageClassifier(OrtEnvironment.getEnvironment(), model.session(),
                ImagePreprocessing.fromConfig(null, model.inputs(), model.metadata()),
                ClassificationOutput.fromConfig(null, model.outputs(), model.metadata()));
    }

    @AfterAll
    static void close() throws Exception {
        if (model != null) {
            model.session().close();
        }
    }

    /** Each photo as given (JPEG) and re-encoded: PNG, GIF and BMP by the JDK's writers, WebP by cwebp. */
    private Map<String, byte[]> everyFormat(Path photo) {
        byte[] jpeg = ImageFixtures.read(photo);
        BufferedImage pixels = ImageFixtures.readRgb(photo);
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("jpeg", jpeg);
        for (String format : List.of("png", "gif", "bmp")) {
            files.put(format, ImageFixtures.encode(pixels, format));
        }
        files.put("webp", ImageFixtures.webp(jpeg, false, temporary));
        return files;
    }

    @Test
    void classify_thePhotos_inEveryFormat_inOneBatch_nameTheirClass() {
        List<String> names = new ArrayList<>();
        List<String> expected = new ArrayList<>();
        List<DecodedImage> images = new ArrayList<>();
        for (Path photo : ImageFixtures.photos()) {
            everyFormat(photo).forEach((format, bytes) -> {
                names.add(photo.getFileName() + " as " + format);
                expected.add(ImageFixtures.expectedLabel(photo));
                images.add(decoder.decode(bytes, "file"));
            });
        }
        assertThat(images).hasSize(30);
        List<List<ScoredLabel>> results = classifier.classify(images, 2);
        for (int i = 0; i < images.size(); i++) {
            List<ScoredLabel> top = results.get(i);
            assertThat(top).as(names.get(i)).hasSize(2);
            assertThat(top.getFirst().label()).as(names.get(i)).isEqualTo(expected.get(i));
            // the README: the model scores each photo right with 0.66 to 0.96
            assertThat(top.getFirst().score()).as(names.get(i)).isGreaterThan(0.5f);
            assertThat(top.get(1).score()).as(names.get(i)).isLessThanOrEqualTo(top.getFirst().score());
        }
    }

    @Test
    void classify_withThePlainBilinearOfTheModelsOwnPipeline_scoresThePhotosAsTheReadmeSays() {
        ImagePreprocessing antialiased = classifier.preprocessing();
        ImagePreprocessing plain = ImagePreprocessing.fromConfig(
                tools.jackson.databind.json.JsonMapper.builder().build().readTree(
                        "{\"preprocessing\": {\"antialias\": false}}"), model.inputs(), model.metadata());
        assertThat(plain.antialias()).isFalse();
        assertThat(antialiased.antialias()).isTrue();
        ImageClassifier unaliased = new ImageClassifier(OrtEnvironment.getEnvironment(), model.session(), plain,
                classifier.output());
        List<Path> photos = ImageFixtures.photos();
        List<List<ScoredLabel>> results = unaliased.classify(photos.stream()
                .map(photo -> decoder.decode(ImageFixtures.read(photo), "file")).toList(), 1);
        for (int i = 0; i < photos.size(); i++) {
            assertThat(results.get(i).getFirst().label()).isEqualTo(ImageFixtures.expectedLabel(photos.get(i)));
            // the README's "0.66-0.96", to two decimals
            assertThat(results.get(i).getFirst().score()).as(photos.get(i).toString()).isBetween(0.655f, 0.965f);
        }
    }

    @Test
    void probabilities_ofABatch_areEachImagesAlone() {
        List<DecodedImage> images = ImageFixtures.photos().stream()
                .map(photo -> decoder.decode(ImageFixtures.read(photo), "file")).toList();
        float[][] batch = classifier.probabilities(images);
        for (int i = 0; i < images.size(); i++) {
            float[] alone = classifier.probabilities(List.of(images.get(i)))[0];
            for (int c = 0; c < alone.length; c++) {
                assertThat(batch[i][c]).as("photo %d class %d", i, c).isCloseTo(alone[c],
                        org.assertj.core.api.Assertions.within(1e-5f));
            }
        }
        assertThat(classifier.probabilities(List.of())).isEmpty();
    }

    @Test
    void probabilities_fromTheLogitsOutput_areTheModelsOwnProbs() {
        ImageClassifier fromLogits = new ImageClassifier(OrtEnvironment.getEnvironment(), model.session(),
                classifier.preprocessing(), new ClassificationOutput("logits", OutputKind.LOGITS,
                        classifier.output().labels()));
        List<DecodedImage> images = ImageFixtures.photos().stream()
                .map(photo -> decoder.decode(ImageFixtures.read(photo), "file")).toList();
        float[][] probs = classifier.probabilities(images);
        float[][] softmaxed = fromLogits.probabilities(images);
        for (int i = 0; i < images.size(); i++) {
            for (int c = 0; c < probs[i].length; c++) {
                assertThat(softmaxed[i][c]).isCloseTo(probs[i][c], org.assertj.core.api.Assertions.within(1e-5f));
            }
        }
    }

    @Test
    void constructor_aConfigForAnotherModel_isRefused() {
        ImagePreprocessing preprocessing = classifier.preprocessing();
        ImagePreprocessing otherInput = new ImagePreprocessing("pixels", preprocessing.layout(), preprocessing.width(),
                preprocessing.height(), preprocessing.resize(), preprocessing.resizeSize(), preprocessing.interpolation(),
                preprocessing.antialias(), preprocessing.channelOrder(), preprocessing.scale(), preprocessing.mean(), preprocessing.std());
        assertThatThrownBy(() -> new ImageClassifier(OrtEnvironment.getEnvironment(), model.session(), otherInput,
                classifier.output())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ImageClassifier(OrtEnvironment.getEnvironment(), model.session(), preprocessing,
                new ClassificationOutput("scores", OutputKind.LOGITS, List.of("a", "b", "c"))))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
