package dev.atrium.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.OnnxModelWriter;
import dev.atrium.testing.TestServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code atrium transcribe}, {@code classify} and {@code predict} against a running server with real models. */
class TaskCommandsTest {
    private static final Path WHISPER = Path.of("../shared/models/whisper-tiny-en-int8.onnx");
    private static final Path VAD = Path.of("../shared/models/silero-vad-v5.onnx");
    private static final Path IMAGE_MODEL = Path.of("../shared/models/mobilenetv3-small-3class.onnx");
    private static final Path PHOTO = Path.of("../shared/models/images/report_1.jpg");
    private static final Path CLIP = Path.of("/usr/share/pocketsphinx/test/data/librivox/"
            + "sense_and_sensibility_01_austen_64kb-0870.wav");

    @TempDir
    static Path files;
    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("preload", "none"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    record Run(int exitCode, String out, String err) {}

    private static Run atrium(String... args) {
        String[] all = java.util.Arrays.copyOf(args, args.length + 4);
        all[args.length] = "--key";
        all[args.length + 1] = server.adminKey();
        all[args.length + 2] = "--server";
        all[args.length + 3] = server.baseUrl();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine commandLine = AtriumCommand.commandLine();
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        return new Run(commandLine.execute(all), out.toString(), err.toString());
    }

    @Test
    void transcribe_aLibriVoxClip_printsItsWordsWithAProgressBar() {
        assertThat(WHISPER).as("the Whisper model in ../shared/models").exists();
        assertThat(CLIP).as("Debian's pocketsphinx-testdata, installed by .ci/run").exists();
        Run push = atrium("models", "push", "whisper", "--onnx", WHISPER.toString(), "--vad", VAD.toString());
        assertThat(push.exitCode()).as(push.err()).isZero();
        Run text = atrium("transcribe", CLIP.toString(), "--model", "whisper");
        assertThat(text.exitCode()).as(text.err()).isZero();
        assertThat(text.out().toLowerCase(java.util.Locale.ROOT)).contains("dashwood");
        assertThat(text.err()).contains("] 1/1 windows");
        Run srt = atrium("transcribe", CLIP.toString(), "--model", "whisper", "--format", "srt");
        assertThat(srt.exitCode()).as(srt.err()).isZero();
        assertThat(srt.out()).startsWith("1\n00:00:00,").contains(" --> ");
        Run missing = atrium("transcribe", files.resolve("none.wav").toString(), "--model", "whisper");
        assertThat(missing.exitCode()).isEqualTo(1);
        assertThat(missing.err()).contains("no such file");
    }

    @Test
    void classify_textsAgainstLabels_andAnImage() {
        Run zeroShot = atrium("classify", "Bake the bread for an hour.", "The striker scored a goal.",
                "--model", "all-minilm-l6-v2", "--label", "cooking", "--label", "football", "--top-k", "1");
        assertThat(zeroShot.exitCode()).as(zeroShot.err()).isZero();
        assertThat(zeroShot.out()).contains("Bake the bread for an hour.: cooking").contains("goal.: football");
        assertThat(IMAGE_MODEL).as("the image classifier in ../shared/models").exists();
        Run push = atrium("models", "push", "docs", "--onnx", IMAGE_MODEL.toString(), "--task", "image-classification");
        assertThat(push.exitCode()).as(push.err()).isZero();
        Run image = atrium("classify", "--image", PHOTO.toString(), "--model", "docs");
        assertThat(image.exitCode()).as(image.err()).isZero();
        assertThat(image.out()).startsWith("report_1.jpg: report");
    }

    @Test
    void filesTrainAndJobs_trainAClassifierWithAProgressBar() throws Exception {
        StringBuilder jsonl = new StringBuilder();
        java.util.Random random = new java.util.Random(3);
        List<String> topics = List.of("football match goal striker", "bread oven flour dough", "laptop software bug code");
        List<String> labels = List.of("sports", "baking", "computing");
        for (int i = 0; i < 90; i++) {
            String[] words = topics.get(i % 3).split(" ");
            jsonl.append("{\"text\": \"the ").append(words[random.nextInt(4)]).append(" and the ")
                    .append(words[random.nextInt(4)]).append("\", \"label\": \"").append(labels.get(i % 3)).append("\"}\n");
        }
        Path file = Files.writeString(files.resolve("topics.jsonl"), jsonl);
        Run upload = atrium("files", "upload", file.toString());
        assertThat(upload.exitCode()).as(upload.err()).isZero();
        assertThat(upload.out()).startsWith("file-").contains("topics.jsonl");
        assertThat(atrium("files", "ls").out()).contains("topics.jsonl");
        Run train = atrium("train", "--model", "all-minilm-l6-v2", "--file", file.toString(), "--suffix", "cli-topics");
        assertThat(train.exitCode()).as(train.err()).isZero();
        assertThat(train.out()).contains("cli-topics:1").contains("accuracy");
        assertThat(train.err()).contains("] epoch 30/30");
        Run jobs = atrium("jobs", "ls");
        assertThat(jobs.out()).contains("text-classification").contains("succeeded").contains("cli-topics:1");
        Run classify = atrium("classify", "the striker scored a goal", "--model", "cli-topics", "--top-k", "1");
        assertThat(classify.out()).contains(": sports");
        String fileId = upload.out().substring(0, upload.out().indexOf(' '));
        assertThat(atrium("files", "rm", fileId).exitCode()).isZero();
        assertThat(atrium("files", "ls").out()).doesNotContain(fileId);
    }

    @Test
    void predict_rowsOfACsv() throws Exception {
        Path linear = new OnnxModelWriter()
                .input("x", OnnxModelWriter.ElementType.FLOAT, -1, 2)
                .initializer("w", new float[] {2f, -1f}, 2, 1)
                .node("MatMul", List.of("x", "w"), List.of("variable"))
                .output("variable", OnnxModelWriter.ElementType.FLOAT, -1, 1)
                .write(files.resolve("linear.onnx"));
        Path config = Files.writeString(files.resolve("tabular.json"), "{\"features\": [{\"name\": \"rooms\", \"type\":"
                + " \"numeric\"}, {\"name\": \"age\", \"type\": \"numeric\", \"missing\": 10}], \"task\": \"regression\"}");
        Run push = atrium("models", "push", "houses", "--onnx", linear.toString(), "--task", "tabular", "--config",
                config.toString());
        assertThat(push.exitCode()).as(push.err()).isZero();
        Path csv = Files.writeString(files.resolve("rows.csv"), "age,rooms\n1,3\n4,\"5\"\n,2\n");
        Run predict = atrium("predict", "--model", "houses", "--csv", csv.toString());
        assertThat(predict.exitCode()).as(predict.err()).isZero();
        assertThat(predict.out().lines().map(Double::parseDouble).toList()).containsExactly(5.0, 6.0, -6.0);
        Path bad = Files.writeString(files.resolve("bad.csv"), "age,rooms\nold,3\n");
        Run refused = atrium("predict", "--model", "houses", "--csv", bad.toString());
        assertThat(refused.exitCode()).isEqualTo(1);
        assertThat(refused.err()).contains("age");
    }
}
