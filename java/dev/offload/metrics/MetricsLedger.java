package dev.offload.metrics;

import dev.offload.StepMetrics;
import dev.offload.plan.Schedule;
import java.util.BitSet;

/**
 * A component's running totals and its JFR step events. {@link #record} is called with each step's
 * figures as Java obtains them; the first time a step is seen its figures are added and its events
 * committed, later reads of the same step change nothing (a step read twice is still one step).
 *
 * <p>Its own lock, never the component's: {@code Component.metrics(step, true)} may wait for the
 * device while holding the component's monitor, and {@link #totals} must answer meanwhile. The
 * lock covers a few additions; events are committed outside it. Steps seen are kept in a BitSet
 * (one bit per step).
 */
public final class MetricsLedger {
    private static final int STEP = 0, COMPUTE = 1, IDLE = 2, COPY = 3, COPY_BUSY = 4, BLOCKED = 5, OVERLAP_NUM = 6,
            OVERLAP_DEN = 7, FIGURES = 8;

    private final String component;
    private final long pinnedHostBytes;
    private long residentBytes, ringBytes;
    private final BitSet seen = new BitSet();
    private final double[] sums = new double[FIGURES];
    private final long[] counts = new long[FIGURES];
    private long steps, h2dBytes, hostWaits;

    private MetricsLedger(String component, long residentBytes, long ringBytes, long pinnedHostBytes) {
        this.component = component;
        this.residentBytes = residentBytes;
        this.ringBytes = ringBytes;
        this.pinnedHostBytes = pinnedHostBytes;
    }

    /** The ledger of a component run under {@code schedule} (its name, resident region and ring read from it) with that much pinned host memory. */
    public static MetricsLedger of(Schedule schedule, long pinnedHostBytes) {
        return new MetricsLedger(schedule.component(), schedule.residentBytes(), schedule.ringBytes(), pinnedHostBytes);
    }

    /** A re-planned component's device regions from now on, read from its next schedule. */
    public synchronized void regions(Schedule next) {
        this.residentBytes = next.residentBytes();
        this.ringBytes = next.ringBytes();
    }

    /** Adds a step's figures the first time that step is seen, and commits its events; true if it was new. */
    public boolean record(StepMetrics m) {
        synchronized (this) {
            int index = Math.toIntExact(m.step());
            if (seen.get(index)) return false;
            seen.set(index);
            steps++;
            h2dBytes += m.h2dBytes();
            hostWaits += m.hostWaits();
            add(STEP, m.stepMs());
            add(COMPUTE, m.computeMs());
            add(IDLE, m.computeIdleMs());
            add(COPY, m.copyMs());
            add(COPY_BUSY, m.copyBusyMs());
            add(BLOCKED, m.hostBlockedMs());
            if (Double.isFinite(m.stepMs()) && m.stepMs() > 0 && Double.isFinite(m.computeMs()) && Double.isFinite(m.copyMs())) {
                add(OVERLAP_NUM, Math.max(m.computeMs(), m.copyMs()));
                add(OVERLAP_DEN, m.stepMs());
            }
        }
        StepEvent.emit(component, m);
        HostWaitEvent.emit(component, m);
        return true;
    }

    private void add(int figure, double v) {
        if (Double.isNaN(v)) return;
        sums[figure] += v;
        counts[figure]++;
    }

    private double sum(int figure) {
        return counts[figure] > 0 ? sums[figure] : Double.NaN;
    }

    /** Whether a step's figures were recorded already. */
    public synchronized boolean seen(long step) {
        return step >= 0 && step <= Integer.MAX_VALUE && this.seen.get((int) step);
    }

    public synchronized CumulativeMetrics totals() {
        double overlap = counts[OVERLAP_DEN] > 0 ? sums[OVERLAP_NUM] / sums[OVERLAP_DEN] : Double.NaN;
        return new CumulativeMetrics(component, steps, h2dBytes, hostWaits, sum(BLOCKED), sum(STEP), sum(COMPUTE), sum(IDLE),
                sum(COPY), sum(COPY_BUSY), overlap, residentBytes, ringBytes, pinnedHostBytes);
    }
}
