package dev.atrium.engine.llama;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether llama.cpp's extra buffer types (weights repacked for the CPU: AMX tiles on CPUs that report AMX) are
 * safe on this machine. Some virtual machines report AMX, grant the kernel permission for it, and still fault on
 * its instructions: llama.cpp then dies of SIGILL in its first matrix product, and the server with it. On a CPU
 * that reports AMX, a child process runs a few AMX instructions (a tile configuration, zeroing, one int8 dot
 * product); if the child dies, Atrium loads models without the extra buffer types. Answered once per process.
 */
public final class CpuProbe {
    private static final Logger LOG = LoggerFactory.getLogger(CpuProbe.class);
    private static volatile Boolean extraBufferTypesSafe;

    private CpuProbe() {}

    /**
     * Whether models may be loaded with llama.cpp's extra buffer types here: {@code ATRIUM_LLAMA_REPACK} {@code on}
     * or {@code off} decides by hand (to run like a peer that must do without, say); otherwise the probe does.
     */
    public static boolean extraBufferTypesSafe() {
        String configured = System.getenv("ATRIUM_LLAMA_REPACK");
        if ("on".equals(configured) || "off".equals(configured)) {
            return configured.equals("on");
        }
        Boolean known = extraBufferTypesSafe;
        if (known == null) {
            synchronized (CpuProbe.class) {
                if (extraBufferTypesSafe == null) {
                    extraBufferTypesSafe = !reportsAmx() || childSurvives(CpuProbe.class.getName());
                    if (!extraBufferTypesSafe) {
                        LOG.warn("this CPU reports AMX but faults on its instructions: llama.cpp models load without"
                                + " weight repacking (slower, not fatal)");
                    }
                }
                known = extraBufferTypesSafe;
            }
        }
        return known;
    }

    static boolean reportsAmx() {
        try {
            return Files.readString(Path.of("/proc/cpuinfo")).contains(" amx_int8");
        } catch (IOException e) {
            return false;
        }
    }

    /** Runs {@code mainClass} of this class path in a child JVM: whether it exits 0 in time. */
    static boolean childSurvives(String mainClass) {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = List.of(java.toString(), "--enable-native-access=ALL-UNNAMED", "-Xshare:auto",
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), mainClass);
        try {
            Process child = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!child.waitFor(30, TimeUnit.SECONDS)) {
                child.destroyForcibly();
                return false;
            }
            return child.exitValue() == 0;
        } catch (IOException e) {
            LOG.warn("the CPU probe could not start a child JVM ({}): assuming AMX is not usable", e.getMessage());
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * The child: asks the kernel for AMX, as llama.cpp does, and runs AMX instructions; dies of SIGILL if it must.
     * With {@code --report}, prints instead what the engine decides on this machine.
     */
    public static void main(String[] args) throws Throwable {
        if (args.length > 0 && args[0].equals("--report")) { // what the engine would decide here, for benchmarks
            System.out.println("extra-buffer-types=" + (extraBufferTypesSafe() ? "safe" : "off"));
            return;
        }
        Linker linker = Linker.nativeLinker();
        MethodHandle syscall = linker.downcallHandle(linker.defaultLookup().find("syscall").orElseThrow(),
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG), Linker.Option.firstVariadicArg(1));
        long arch_prctl = 158;
        long requestPermission = 0x1023; // ARCH_REQ_XCOMP_PERM
        long tileData = 18; // XFEATURE_XTILEDATA
        if ((long) syscall.invokeExact(arch_prctl, requestPermission, tileData) != 0) {
            System.exit(2);
        }
        MethodHandle mmap = linker.downcallHandle(linker.defaultLookup().find("mmap").orElseThrow(),
                FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
        int readWriteExecute = 7;
        int privateAnonymous = 0x22;
        MemorySegment code = ((MemorySegment) mmap.invokeExact(MemorySegment.NULL, 4096L, readWriteExecute,
                privateAnonymous, -1, 0L)).reinterpret(4096);
        byte[] instructions = {
            (byte) 0xC4, (byte) 0xE2, 0x78, 0x49, 0x07, // ldtilecfg [rdi]
            (byte) 0xC4, (byte) 0xE2, 0x7B, 0x49, (byte) 0xC0, // tilezero tmm0
            (byte) 0xC4, (byte) 0xE2, 0x7B, 0x49, (byte) 0xC8, // tilezero tmm1
            (byte) 0xC4, (byte) 0xE2, 0x7B, 0x49, (byte) 0xD0, // tilezero tmm2
            (byte) 0xC4, (byte) 0xE2, 0x6B, 0x5E, (byte) 0xC1, // tdpbssd tmm0, tmm1, tmm2
            (byte) 0xC4, (byte) 0xE2, 0x78, 0x49, (byte) 0xC0, // tilerelease
            (byte) 0xC3, // ret
        };
        MemorySegment.copy(instructions, 0, code, JAVA_BYTE, 0, instructions.length);
        MethodHandle run = linker.downcallHandle(code, FunctionDescriptor.ofVoid(ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment config = arena.allocate(64, 64); // palette 1; tiles 0-2: 16 rows of 64 bytes
            config.set(JAVA_BYTE, 0, (byte) 1);
            for (int tile = 0; tile < 3; tile++) {
                config.set(JAVA_SHORT_UNALIGNED, 16 + 2L * tile, (short) 64);
                config.set(JAVA_BYTE, 48 + tile, (byte) 16);
            }
            run.invokeExact(config);
        }
        System.exit(0);
    }
}
