package dev.offload.runtime;

import java.util.Set;

/**
 * What a runtime runs on. {@code note} says why "auto" chose its backend (empty otherwise).
 * Bytes: {@code total} and {@code free} are the device's; {@code budget}, {@code used} and
 * {@code peak} are this runtime's; {@code hostUsed} and {@code hostPeak} count its pinned host bytes.
 */
public record DeviceInfo(
        Backend backend,
        int deviceIndex,
        Set<Backend> compiledBackends,
        String name,
        long totalBytes,
        long freeBytes,
        long budgetBytes,
        long usedBytes,
        long peakBytes,
        long hostUsedBytes,
        long hostPeakBytes,
        String note) {}
