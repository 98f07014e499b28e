package dev.offload.runtime;

import dev.offload.internal.NativeLibrary;

/**
 * liboffload_workload, the reference workloads' kernels (a user of the core, not part of it): loaded
 * here, once, beside the core, so the workloads reach it without reaching into the internal layer.
 */
public final class WorkloadLibrary {
    private WorkloadLibrary() {}

    /** Loads the workload library (and the core) if not loaded yet; returns where it came from. */
    public static String load() {
        return NativeLibrary.loadWorkload();
    }
}
