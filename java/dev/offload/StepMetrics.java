package dev.offload;

/**
 * One step's figures. Times are device times read from the engine's events (milliseconds), NaN
 * without timing:
 * <ul>
 *   <li>{@code stepMs}: the step's period on the compute stream (from the previous step's end);</li>
 *   <li>{@code computeMs}: the compute stream's time in the step less {@code computeIdleMs}, the
 *       time it waited for this step's copies;</li>
 *   <li>{@code copyMs}: the sum of the step's copies; {@code copyBusyMs}: the copy stream's span from
 *       the start of the step's first copy to the end of its last (waits for free slots included).</li>
 * </ul>
 * {@code hostWaits} (0 or 1) and {@code hostBlockedMs} are the calling thread's back-pressure wait
 * at the step's start, when it ran more than {@code stepsAhead} steps ahead of the device (wall
 * clock); nothing else blocks it. {@code overlapEfficiency = max(computeMs, copyMs) / stepMs}: 1.0
 * when copies hide entirely behind compute (or compute behind copies). Peaks are the runtime's
 * since it opened, as of when the figures were read. {@code beginMs} places the step on the engine's
 * device timeline: where its compute began, in ms since step 0's began (NaN without timing).
 * {@code pageableCopies} is the runtime's count, since it opened, of async copies whose host side was
 * not pinned memory: each made the calling thread wait for the stream (CUDA's rule, kept by the host
 * backend too); 0 in a steady state that never waits (-1 once the runtime is closed).
 */
public record StepMetrics(long step, long h2dBytes, long hostWaits, double hostBlockedMs, double stepMs, double computeMs,
                          double computeIdleMs, double copyMs, double copyBusyMs, long peakDeviceBytes, long peakHostBytes,
                          double beginMs, long pageableCopies) {
    public double overlapEfficiency() {
        return stepMs > 0 ? Math.max(computeMs, copyMs) / stepMs : Double.NaN;
    }

    /** Host-to-device bandwidth over the step's copy time, in GB/s (10^9 bytes/s). */
    public double h2dGbps() {
        return copyMs > 0 ? h2dBytes / (copyMs / 1e3) / 1e9 : Double.NaN;
    }
}
