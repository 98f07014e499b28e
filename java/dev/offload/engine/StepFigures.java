package dev.offload.engine;

import dev.offload.OffloadException;
import dev.offload.StepMetrics;
import dev.offload.internal.NativeEngine;
import dev.offload.metrics.CumulativeMetrics;
import dev.offload.metrics.GroupCopyEvent;
import dev.offload.metrics.MetricsLedger;
import dev.offload.metrics.Trace;
import dev.offload.plan.PackedGroup;
import dev.offload.plan.Schedule;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One component's step figures and their trace: the figures kept from engines already closed
 * (a turn-taking component's earlier turns, a re-plan's predecessor), which steps' spans are on the
 * trace, and the running totals (MetricsLedger). Its component
 * calls it under the component's lock, except {@link #record} and {@link #totals}, which the ledger
 * makes safe from any thread.
 */
final class StepFigures {
    private final String name;
    private final Trace trace;  // null without one
    private final MetricsLedger ledger;
    private final Map<Long, StepMetrics> kept = new LinkedHashMap<>();  // figures of engines closed since
    private final BitSet traced = new BitSet();                        // steps whose spans are on the trace

    StepFigures(String name, Trace trace, MetricsLedger ledger) {
        this.name = name;
        this.trace = trace;
        this.ledger = ledger;
    }

    MetricsLedger ledger() {
        return ledger;
    }

    /** A new engine of the component starts: the runtime's device clock is placed on the trace once, at the first. */
    void engineStarting() {
        if (trace != null) trace.deviceClockAt(System.nanoTime());
    }

    /** Whether the figures of {@code step} outlived its engine. */
    boolean kept(long step) {
        return kept.containsKey(step);
    }

    boolean onTrace(long step) {
        return traced.get(Math.toIntExact(step));
    }

    /** Keeps the figures of an engine's closed steps (waiting for the device) before it closes: {@code from} to {@code to}, exclusive. */
    void keep(NativeEngine e, long engineBase, long from, long to, Schedule schedule) {
        for (long step = from; step < to; step++) {
            if (kept.containsKey(step)) continue;
            NativeEngine.Step figures = e.stepMetrics(step - engineBase, true);
            placeOnTrace(step, figures, e, engineBase, schedule);
            kept.put(step, of(step, figures));
            while (kept.size() > ComponentCore.KEPT_STEPS) kept.remove(kept.keySet().iterator().next());
        }
    }

    /** The figures of {@code step} from its live engine; null while it runs and {@code wait} is false. */
    StepMetrics read(NativeEngine e, long engineBase, long step, boolean wait, Schedule schedule) {
        NativeEngine.Step s = e.stepMetrics(step - engineBase, wait);
        if (s == null) return null;
        placeOnTrace(step, s, e, engineBase, schedule);  // read with its figures: never waits
        return of(step, s);
    }

    /** A closed step's figures: kept, or from its live engine (null while it runs and not {@code wait}); gone with an earlier turn otherwise. */
    StepMetrics of(long step, NativeEngine live, long engineBase, boolean wait, Schedule schedule) {
        StepMetrics m = kept.get(step);
        if (m != null) return m;
        if (live == null || step < engineBase) {
            throw OffloadException.invalid("component '" + name + "': the figures of step " + step
                    + " are gone (only the last " + ComponentCore.KEPT_STEPS + " steps are kept across its turns on the device)");
        }
        return read(live, engineBase, step, wait, schedule);
    }

    /** Counts a step's figures in the totals once (outside the component's lock). */
    void record(StepMetrics m) {
        ledger.record(m);
    }

    boolean seen(long step) {
        return ledger.seen(step);
    }

    CumulativeMetrics totals() {
        return ledger.totals();
    }

    /** The host side of a closed step on the trace; the engine's first step aligns the device clock with the host's. */
    void stepClosed(OpenStep step, long engineBase) {
        if (trace == null) return;
        trace.span("host: " + name, "step " + step.index(), trace.hostUs(step.openedNanos()),
                (step.closedNanos() - step.openedNanos()) / 1e3, Map.of("step", step.index(), "host_us", step.hostNanos() / 1e3));
    }

    private void placeOnTrace(long step, NativeEngine.Step s, NativeEngine e, long engineBase, Schedule schedule) {
        if (trace == null || traced.get(Math.toIntExact(step))) return;
        traced.set(Math.toIntExact(step));
        traceStep(step, s, e.stepSpans(step - engineBase, schedule.groups().size(), true), schedule);
    }

    /**
     * Puts a step's device spans on the trace: the component's copy and compute tracks, times from
     * the engine's events on the runtime's device clock (one for every engine: a swap's spans and
     * the previous component's line up), placed where the trace put that clock (Trace.deviceClockAt).
     * A resident group's load, in its engine's first step, is a copy span too. The back-pressure
     * wait is a mark on the host track at the step's start.
     */
    private void traceStep(long step, NativeEngine.Step s, NativeEngine.Span[] spans, Schedule schedule) {
        if (Double.isNaN(s.beginMs())) return;
        double begin = trace.deviceOriginUs() + s.beginMs() * 1e3;
        for (NativeEngine.Span g : spans) {
            PackedGroup packed = schedule.groups().get(g.group());
            Map<String, Object> args = Map.of("step", step, "group", g.group(), "bytes", packed.bytes());
            String group = packed.spec().name();
            trace.span("compute: " + name, group, begin + g.computeStartMs() * 1e3, (g.computeEndMs() - g.computeStartMs()) * 1e3, args);
            if (g.readEndNs() > 0) {  // a disk source's read into staging, on the host clock the trace uses
                trace.span("disk: " + name, group, trace.hostUs(g.readStartNs()), (g.readEndNs() - g.readStartNs()) / 1e3, args);
            }
            if (!Double.isNaN(g.copyStartMs())) {  // streamed this step, or a resident group's load (its engine's step 0)
                trace.span("copy: " + name, group, begin + g.copyStartMs() * 1e3, (g.copyEndMs() - g.copyStartMs()) * 1e3, args);
            }
            if (g.streamed()) {
                double reached = g.group() == 0 ? 0 : spans[g.group() - 1].computeEndMs();  // where compute began to wait
                GroupCopyEvent.emit(name, step, group, packed.bytes(), g.copyEndMs() - g.copyStartMs(), Math.max(0, g.copyEndMs() - reached));
            }
        }
        if (s.hostWaits() > 0) {
            trace.mark("host: " + name, "back-pressure wait", begin, Map.of("step", step, "blocked_ms", s.hostBlockedMs()));
        }
    }

    /**
     * Each group's compute time in a closed step of a profiling engine: from when its weights were
     * there and the group before it was done, to its release (waits for the device if needed).
     */
    double[] groupComputeMs(NativeEngine e, long engineBase, long step, long closedSteps, Schedule schedule) {
        if (!schedule.profiling() || e == null || step < engineBase || step >= closedSteps) {
            throw new IllegalStateException("component '" + name + "': no profiled figures for step " + step);
        }
        e.stepMetrics(step - engineBase, true);
        NativeEngine.Span[] spans = e.stepSpans(step - engineBase, schedule.groups().size(), true);
        double[] out = new double[spans.length];
        for (NativeEngine.Span sp : spans) out[sp.group()] = Math.max(0, sp.computeEndMs() - sp.computeStartMs());
        return out;
    }

    static StepMetrics of(long step, NativeEngine.Step s) {
        return new StepMetrics(step, s.h2dBytes(), s.hostWaits(), s.hostBlockedMs(), s.stepMs(), s.computeMs(), s.computeIdleMs(),
                s.copyMs(), s.copyBusyMs(), s.peakDeviceBytes(), s.peakHostBytes(), s.beginMs(), s.pageableCopies());
    }
}
