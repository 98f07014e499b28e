package dev.offload.metrics;

import dev.offload.StepMetrics;
import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * A back-pressure wait: the host ran more than {@code stepsAhead} steps ahead and its step's first
 * acquire waited for the device. An instant event carrying the figure, committed with the step's
 * {@link StepEvent}: the wait happens inside the native acquire, and Java learns that it happened
 * (and for how long) only when the step's figures are read, so it cannot be a JFR duration event
 * over the wait itself without timing every first acquire from Java.
 */
@Name("dev.offload.HostWait")
@Label("Offload Host Wait")
@Category("offload")
@Description("The host thread waited for the device at a step's start (back-pressure)")
@StackTrace(false)
public final class HostWaitEvent extends Event {
    @Label("Component") String component;
    @Label("Step") long step;
    @Label("Blocked ms") @Description("Wall-clock time the host thread waited") double blockedMs;

    static void emit(String component, StepMetrics m) {
        if (m.hostWaits() == 0) return;
        HostWaitEvent e = new HostWaitEvent();
        if (!e.shouldCommit()) return;
        e.component = component;
        e.step = m.step();
        e.blockedMs = m.hostBlockedMs();
        e.commit();
    }
}
