package dev.atrium.engine.residency;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process's resident set size, read from {@code /proc/self/statm} (its second field, in pages). Resident memory
 * is the honest measure of what a loaded model costs: ONNX Runtime's arenas and llama.cpp's context live outside
 * the Java heap, and the pages of a memory-mapped GGUF file count once they are touched. Where there is no
 * {@code /proc} (not Linux) it reads 0, and loads are measured by their file sizes alone.
 */
final class ResidentMemory {
    private static final Path STATM = Path.of("/proc/self/statm");
    /** The page size of every Linux target Atrium runs on (x86-64 and arm64 with 4 KiB pages). */
    private static final long PAGE_BYTES = 4096;

    private static final MethodHandle MALLOC_TRIM = Linker.nativeLinker().defaultLookup().find("malloc_trim")
            .map(symbol -> Linker.nativeLinker().downcallHandle(symbol, FunctionDescriptor.of(JAVA_INT, JAVA_LONG)))
            .orElse(null);

    private ResidentMemory() {}

    /**
     * Gives what freed models leave in glibc's heaps back to the system ({@code malloc_trim}), so that an evicted
     * version's memory leaves the resident set (and the next load's measure starts from the truth). Does nothing
     * where there is no glibc.
     */
    static void releaseFreed() {
        if (MALLOC_TRIM != null) {
            try {
                int ignored = (int) MALLOC_TRIM.invokeExact(0L);
            } catch (Throwable e) {
                // nothing to do: the memory stays resident until glibc reuses it
            }
        }
    }

    static long bytes() {
        try {
            String[] fields = Files.readString(STATM).trim().split(" ");
            return Long.parseLong(fields[1]) * PAGE_BYTES;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
