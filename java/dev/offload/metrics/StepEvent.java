package dev.offload.metrics;

import dev.offload.StepMetrics;
import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * One step's figures, committed once per step when Java first obtains them ({@code Component.metrics},
 * which {@code WorkloadRun} calls for every step). The event's time is when the figures were read,
 * not when the step ran on the device: the device times are the fields. Times in milliseconds, NaN
 * where the timing level did not measure them (as in {@link StepMetrics}).
 */
@Name("dev.offload.Step")
@Label("Offload Step")
@Category("offload")
@Description("Figures of one step of a component: device times, bytes copied, back-pressure")
@StackTrace(false)
public final class StepEvent extends Event {
    @Label("Component") String component;
    @Label("Step") long step;
    @Label("Step ms") @Description("The step's period on the compute stream") double stepMs;
    @Label("Compute ms") @Description("Compute stream time in the step, less its waits for copies") double computeMs;
    @Label("Compute idle ms") @Description("Compute stream time spent waiting for this step's copies") double computeIdleMs;
    @Label("Copy ms") @Description("Sum of the step's host-to-device copies") double copyMs;
    @Label("Copy busy ms") @Description("Copy stream span from the step's first copy to its last") double copyBusyMs;
    @Label("H2D bytes") @DataAmount(DataAmount.BYTES) long h2dBytes;
    @Label("Host waits") @Description("Back-pressure waits at the step's start (0 or 1)") long hostWaits;
    @Label("Host blocked ms") @Description("Wall-clock time of the back-pressure wait") double hostBlockedMs;

    static void emit(String component, StepMetrics m) {
        StepEvent e = new StepEvent();
        if (!e.shouldCommit()) return;  // JFR off or the event disabled: nothing filled
        e.component = component;
        e.step = m.step();
        e.stepMs = m.stepMs();
        e.computeMs = m.computeMs();
        e.computeIdleMs = m.computeIdleMs();
        e.copyMs = m.copyMs();
        e.copyBusyMs = m.copyBusyMs();
        e.h2dBytes = m.h2dBytes();
        e.hostWaits = m.hostWaits();
        e.hostBlockedMs = m.hostBlockedMs();
        e.commit();
    }
}
