package dev.atrium.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code atrium aot-train}, the AOT cache's training run: it serves the hot path's load to a server of its own and
 * leaves nothing behind. (That the JVM records a cache from it is the launcher's part: {@code LauncherIT}.)
 */
class AotTrainCommandTest {
    @Test
    void servesEmbeddingsToAThrowawayServer_andRemovesItsData() throws IOException {
        List<Path> before = trainingDirectories();
        StringWriter err = new StringWriter();
        CommandLine command = AtriumCommand.commandLine();
        command.setErr(new PrintWriter(err, true));

        int code = command.execute("aot-train", "--seconds", "2");

        assertThat(code).as(err.toString()).isZero();
        Matcher served = Pattern.compile("served (\\d+) embedding requests in 2 s").matcher(err.toString());
        assertThat(served.find()).as(err.toString()).isTrue();
        assertThat(Long.parseLong(served.group(1))).isPositive();
        assertThat(trainingDirectories()).isEqualTo(before);
    }

    @Test
    void refusesALengthOutOfRange() {
        StringWriter err = new StringWriter();
        CommandLine command = AtriumCommand.commandLine();
        command.setErr(new PrintWriter(err, true));

        assertThat(command.execute("aot-train", "--seconds", "0")).isEqualTo(2);
        assertThat(err.toString()).contains("--seconds must be between 1 and 600");
    }

    private static List<Path> trainingDirectories() throws IOException {
        try (Stream<Path> paths = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return paths.filter(path -> path.getFileName().toString().startsWith("atrium-aot-train")).sorted().toList();
        }
    }
}
