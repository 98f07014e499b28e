package dev.offload.metrics;

/**
 * A component's figures summed over the steps read so far ({@code Component.totals()}), and its
 * memory by region. An immutable snapshot: reading it never touches the engine.
 * <ul>
 *   <li>{@code steps}: steps whose figures have been read (each counted once, however often read);</li>
 *   <li>times (ms) are sums over the steps that had the figure; NaN when none had it (the timing
 *       level did not measure it), so "not measured" never reads as 0;</li>
 *   <li>{@code overlapEfficiency = Σ max(computeMs, copyMs) / Σ stepMs} over the steps that had all
 *       three: the per-step figure weighted by step time;</li>
 *   <li>device bytes by region from the plan: {@code residentBytes} (groups that stay on the device)
 *       and {@code ringBytes} (slots × slot bytes); {@code pinnedHostBytes}: the pinned host copy.</li>
 * </ul>
 */
public record CumulativeMetrics(String component, long steps, long h2dBytes, long hostWaits, double hostBlockedMs, double stepMs,
                                double computeMs, double computeIdleMs, double copyMs, double copyBusyMs, double overlapEfficiency,
                                long residentBytes, long ringBytes, long pinnedHostBytes) {
    public long deviceBytes() {
        return residentBytes + ringBytes;
    }
}
