package dev.offload;

/**
 * One step's figures. Times are device times read from events (milliseconds); {@code stallMs} is
 * the time the host thread blocked because it ran a whole ring ahead of the device.
 * {@code overlapEfficiency = max(computeMs, copyMs) / stepMs}: 1.0 when copies hide entirely behind
 * compute (or compute behind copies). Peaks are the runtime's since it opened. Without timing the
 * times are NaN.
 */
public record StepMetrics(long step, long h2dBytes, double copyMs, double computeMs, double stallMs, double stepMs,
                          long peakDeviceBytes, long peakHostBytes) {
    public double overlapEfficiency() {
        return stepMs > 0 ? Math.max(computeMs, copyMs) / stepMs : Double.NaN;
    }

    /** Host-to-device bandwidth over the step's copy time, in GB/s (10^9 bytes/s). */
    public double h2dGbps() {
        return copyMs > 0 ? h2dBytes / (copyMs / 1e3) / 1e9 : Double.NaN;
    }
}
