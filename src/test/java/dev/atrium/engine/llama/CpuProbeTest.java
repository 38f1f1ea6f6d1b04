package dev.atrium.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CpuProbeTest {
    /** A child that ends well. */
    public static final class Survives {
        public static void main(String[] args) {
            System.exit(0);
        }
    }

    /** A child that dies as SIGILL kills one (exit status 128 + 4). */
    public static final class Dies {
        public static void main(String[] args) {
            Runtime.getRuntime().halt(132);
        }
    }

    @Test
    void childSurvives_tellsAChildThatExitsCleanlyFromOneThatDies() {
        assertThat(CpuProbe.childSurvives(Survives.class.getName())).isTrue();
        assertThat(CpuProbe.childSurvives(Dies.class.getName())).isFalse();
        assertThat(CpuProbe.childSurvives("no.such.MainClass")).isFalse();
    }

    @Test
    void theAmxProbe_onACpuThatReportsAmx_runsItsInstructionsOrDies() {
        if (!CpuProbe.reportsAmx()) {
            System.out.println("CpuProbeTest: this CPU does not report AMX; the probe's instructions are not run here,"
                    + " and extra buffer types are safe: " + CpuProbe.extraBufferTypesSafe());
            assertThat(CpuProbe.extraBufferTypesSafe()).isTrue();
            return;
        }
        boolean safe = CpuProbe.extraBufferTypesSafe();
        System.out.println("CpuProbeTest: this CPU reports AMX; its instructions " + (safe ? "run" : "fault"));
        assertThat(safe).isEqualTo(CpuProbe.childSurvives(CpuProbe.class.getName()));
    }
}
