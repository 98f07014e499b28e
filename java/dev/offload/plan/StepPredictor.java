package dev.offload.plan;

import dev.offload.OffloadException;

/**
 * Predicts a component's steady-state step time from its plan, its per-group compute times and the
 * copy bandwidth, by replaying the engine's protocol (docs/ENGINE.md) on two timelines:
 * <ul>
 *   <li>the copy stream runs the streamed visits in order; visit w into slot w % slots may start
 *       once the copy before it is done and the compute that last used the slot (visit w - slots)
 *       has released it;</li>
 *   <li>the compute stream runs the groups in order; a streamed group starts once its copy is done
 *       and the group before it has finished.</li>
 * </ul>
 * The host is taken to be ahead of the device (it only queues: the engine's design), so issue times
 * never limit either stream. A copy costs {@code latencyMs + bytes / bandwidth}. Steps wrap: the
 * prefetch of the next step's first groups overlaps this step's last ones, so the answer is the
 * mean distance between the ends of consecutive steps after a few warm-up steps (the pattern
 * repeats by then). Resident groups cost their compute only.
 */
public final class StepPredictor {
    private static final int WARM_STEPS = 4, MEASURED_STEPS = 4;

    private StepPredictor() {}

    /**
     * @param groupBytes    packed bytes per group, execution order
     * @param resident      which groups stay on the device
     * @param computeMs     compute per group, milliseconds
     * @param slots         ring slots (ignored when nothing streams)
     * @param h2dGbps       copy bandwidth, GB/s (10^9 bytes per second)
     * @param copyLatencyMs fixed cost of one copy (launch and completion), milliseconds
     */
    public static double stepMs(long[] groupBytes, boolean[] resident, double[] computeMs, int slots, double h2dGbps, double copyLatencyMs) {
        int n = groupBytes.length;
        if (resident.length != n || computeMs.length != n) {
            throw OffloadException.invalid("step prediction: " + n + " groups but " + resident.length + " residency flags and "
                    + computeMs.length + " compute times");
        }
        if (!(h2dGbps > 0) || !(copyLatencyMs >= 0)) {
            throw OffloadException.invalid("step prediction: bandwidth must be > 0 GB/s and latency >= 0 ms, got " + h2dGbps + ", " + copyLatencyMs);
        }
        int[] streamed = java.util.stream.IntStream.range(0, n).filter(g -> !resident[g]).toArray();
        double computeSum = 0;
        for (double c : computeMs) computeSum += c;
        if (streamed.length == 0) return computeSum;
        if (slots < 1) throw OffloadException.invalid("step prediction: streamed groups need at least one slot");
        int ring = Math.min(slots, streamed.length);
        int perStep = streamed.length;
        int steps = WARM_STEPS + MEASURED_STEPS;
        double[] copyEnd = new double[steps * perStep];
        double[] releasedAt = new double[steps * perStep];  // compute end of each streamed visit
        double copyFree = 0, computeFree = 0, warmEnd = 0;
        // A visit's copy depends on the copy before it and on the compute of visit v - ring, which
        // the replay has placed by the time visit v's compute needs the copy.
        int visit = 0;   // next streamed visit whose copy is to be placed
        for (int s = 0; s < steps; s++) {
            for (int g = 0; g < n; g++) {
                if (!resident[g]) {
                    int v = s * perStep + java.util.Arrays.binarySearch(streamed, g);
                    for (; visit <= v; visit++) {
                        double start = visit >= ring ? Math.max(copyFree, releasedAt[visit - ring]) : copyFree;
                        copyFree = start + copyLatencyMs + groupBytes[streamed[visit % perStep]] / (h2dGbps * 1e6);
                        copyEnd[visit] = copyFree;
                    }
                    computeFree = Math.max(computeFree, copyEnd[v]) + computeMs[g];
                    releasedAt[v] = computeFree;
                } else {
                    computeFree += computeMs[g];
                }
            }
            if (s == WARM_STEPS - 1) warmEnd = computeFree;
        }
        return (computeFree - warmEnd) / MEASURED_STEPS;
    }
}
