package dev.atrium;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.config.ServerSetting;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The README documents every setting, and CI runs the README's test command. */
class ReadmeTest {
    @Test
    void readme_configurationReference_listsEverySetting() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        for (ServerSetting setting : ServerSetting.values()) {
            assertThat(readme).contains("`--" + setting.key() + "`").contains("`" + setting.environmentVariable() + "`");
        }
    }

    @Test
    void ciScript_runsTheReadmeTestCommand() throws Exception {
        assertThat(Files.readString(Path.of("README.md"))).contains("./atrium test");
        assertThat(Files.readString(Path.of(".ci/run"))).contains("./atrium test");
    }
}
