package dev.atrium.training;

import static dev.atrium.training.ImageZips.hyperparameters;
import static dev.atrium.training.ImageZips.png;
import static dev.atrium.training.ImageZips.pngOfNoise;
import static dev.atrium.training.ImageZips.zip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.ModelTask;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The image-classification trainer on files uploaded as {@code .zip}: read by the zip's rules within the trainer's
 * own limits (a zip bomb refused after little work), checked against the job's bound on preprocessed values, and
 * trained on.
 */
class ImageClassificationTrainerTest {
    private static final ImageClassificationTrainer TRAINER = new ImageClassificationTrainer();

    /** {@code perLabel} small PNGs in each of two folders, {@code left/} and {@code right/}. */
    private static Map<String, byte[]> twoLabels(int perLabel) {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        for (int i = 0; i < perLabel; i++) {
            entries.put("left/" + i + ".png", png(0, i));
            entries.put("right/" + i + ".png", png(1, 1000 + i));
        }
        return entries;
    }

    private static void assertInvalid(Runnable call, String param, String... fragments) {
        assertThatThrownBy(call::run)
                .isInstanceOfSatisfying(AtriumException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                    assertThat(e.param()).contains(param);
                })
                .hasMessageContainingAll(fragments);
    }

    @ParameterizedTest
    @ValueSource(strings = {"shirt/bomb.png", "__MACOSX/shirt/._bomb.png"})
    void validate_aZipBomb_isRefusedNamingTheEntry_afterReadingLittleOfIt(String name) {
        byte[] bomb = ImageZips.bomb(name, 100_000_000L); // 100 MB of zeros, about 100 KB deflated
        ImageZips.InMemoryRun run = new ImageZips.InMemoryRun("bomb.zip", bomb, hyperparameters());

        assertInvalid(() -> TRAINER.validate(run), "training_file", "entry '" + name + "'",
                "more than 100 times its compressed size");
        // it stopped within its first few KB: what it inflated (and held) is a few buffers, not 100 MB
        assertThat(run.bytesRead()).isLessThan(bomb.length / 20);
    }

    @Test
    void validate_anImageOfTheMostBytes_passes_andOneByteMore_isRefusedNamingIt() {
        int most = 8 << 20;
        Map<String, byte[]> fits = twoLabels(1);
        fits.put("right/large.png", pngOfNoise(most, 1));
        Map<String, byte[]> over = twoLabels(1);
        over.put("right/larger.png", pngOfNoise(most + 1, 2));

        assertThatCode(() -> TRAINER.validate(new ImageZips.InMemoryRun("fits.zip", zip(fits), hyperparameters())))
                .doesNotThrowAnyException();
        assertInvalid(() -> TRAINER.validate(new ImageZips.InMemoryRun("over.ZIP", zip(over), hyperparameters())),
                "training_file", "entry 'right/larger.png' is larger than " + most + " bytes");
    }

    @Test
    void validate_moreImagesThanTheirPreprocessedValuesAllow_isRefusedNamingTheLimit() {
        var hyperparameters = hyperparameters().put("width", 512).put("height", 512);

        assertInvalid(() -> TRAINER.validate(new ImageZips.InMemoryRun("images.zip", zip(twoLabels(100)),
                hyperparameters)), "hyperparameters", "200 images", "at most 170", "smaller width and height");
    }

    @Test
    void validate_aValidationZipThatIsNotAZip_isRefusedOnValidationFile() {
        assertInvalid(() -> TRAINER.validate(new ImageZips.InMemoryRun("images.zip", zip(twoLabels(2)),
                "validation.zip", "left,right\n".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                hyperparameters())), "validation_file", "not a zip archive");
    }

    @Test
    void train_aZipOfOneLabel_isRefused() {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        for (int i = 0; i < 5; i++) {
            entries.put("fashion/shirt/" + i + ".png", png(0, i));
        }

        assertInvalid(() -> TRAINER.train(new ImageZips.InMemoryRun("shirts.zip", zip(entries), hyperparameters())),
                "training_file", "1 label(s)", "at least 2");
    }

    @Test
    void train_anEntryThatDoesNotDecode_isRefusedNamingIt() {
        Map<String, byte[]> entries = twoLabels(5);
        entries.put("right/broken.png", pngOfNoise(500, 3));

        assertInvalid(() -> TRAINER.train(new ImageZips.InMemoryRun("images.zip", zip(entries), hyperparameters())),
                "training_file", "entry 'right/broken.png': ", "could not be decoded");
    }

    @Test
    void train_aValidationZipWithALabelTheTrainingZipLacks_isRefusedNamingTheEntry() {
        byte[] validation = zip(Map.of("left/1.png", png(0, 5000), "up/2.png", png(1, 5001)));

        assertInvalid(() -> TRAINER.train(new ImageZips.InMemoryRun("images.zip", zip(twoLabels(5)),
                "held-out.zip", validation, hyperparameters().put("n_epochs", 1))), "validation_file",
                "entry 'up/2.png' has label 'up', which the training file does not have");
    }

    @Test
    void train_aZipOfTwoFolders_learnsThemAndPublishesAnImageClassifier() {
        Trainer.Trained trained = TRAINER.train(new ImageZips.InMemoryRun("images.zip", zip(twoLabels(30)),
                hyperparameters().put("width", 8).put("height", 8).put("n_epochs", 20).put("learning_rate", 0.05)));

        assertThat(trained.task()).isEqualTo(ModelTask.IMAGE_CLASSIFICATION);
        assertThat(trained.config().path("labels").toString()).contains("left", "right");
        assertThat(trained.metrics().path("accuracy").asDouble()).isEqualTo(1.0);
    }
}
