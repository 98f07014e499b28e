package dev.offload;

import dev.offload.runtime.Backend;
import dev.offload.runtime.DeviceRuntime;

/** Which backends the suites can run on here. */
public final class TestBackends {
    private static String cudaUnavailable;
    private static boolean probed;

    private TestBackends() {}

    /** Whether the file system under {@code file} takes O_DIRECT (tmpfs does not): then DIRECT reads direct. */
    public static boolean directIoWorks(java.nio.file.Path file) {
        try (var channel = java.nio.file.Files.newByteChannel(file, java.nio.file.StandardOpenOption.READ,
                com.sun.nio.file.ExtendedOpenOption.DIRECT)) {
            return channel.isOpen();
        } catch (java.io.IOException | UnsupportedOperationException e) {
            return false;  // the file system refuses O_DIRECT, or the file cannot be opened: not direct
        }
    }

    /**
     * The steady state never waits on a pageable copy (CUDA's rule, which the strict host backend
     * keeps): the offloader's runtime counted none since it opened.
     */
    public static void assertNoPageableCopies(Offloader off, String where) {
        long copies = off.runtime().pageableCopies();
        if (copies != 0) {
            throw new AssertionError(where + ": " + copies + " async copies from or into pageable host memory made the caller wait");
        }
    }

    /** Null when a CUDA device answers; otherwise why not (tests skip by assumption). Probed once. */
    public static synchronized String cudaUnavailableBecause() {
        if (!probed) {
            probed = true;
            if (!DeviceRuntime.compiledBackends().contains(Backend.CUDA)) {
                cudaUnavailable = "cuda backend not compiled in";
            } else {
                try (DeviceRuntime probe = DeviceRuntime.open("cuda", 1 << 20)) {
                    probe.info();
                } catch (OffloadException e) {
                    cudaUnavailable = "no CUDA device: " + e.getMessage();
                }
            }
        }
        return cudaUnavailable;
    }
}
