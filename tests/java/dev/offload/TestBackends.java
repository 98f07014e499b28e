package dev.offload;

import dev.offload.runtime.Backend;
import dev.offload.runtime.DeviceRuntime;

/** Which backends the suites can run on here. */
public final class TestBackends {
    private static String cudaUnavailable;
    private static boolean probed;

    private TestBackends() {}

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
