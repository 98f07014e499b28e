package dev.offload.metrics;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * One group's host-to-device copy in one step, as the engine's events timed it (device clock).
 * Only an offloader made with {@code trace(true)} has per-group spans, so only such an offloader
 * emits these; committed when the step's figures are read, like {@link StepEvent}.
 */
@Name("dev.offload.GroupCopy")
@Label("Offload Group Copy")
@Category("offload")
@Description("A group's host-to-device copy in one step (needs a traced offloader)")
@StackTrace(false)
public final class GroupCopyEvent extends Event {
    @Label("Component") String component;
    @Label("Step") long step;
    @Label("Group") String group;
    @Label("Bytes") long bytes;
    @Label("Copy ms") @Description("The copy's duration on the copy stream") double copyMs;
    @Label("Compute wait ms") @Description("How long the compute stream waited for this copy") double computeWaitMs;

    /** Commits one event when JFR records it; cheap otherwise. */
    public static void emit(String component, long step, String group, long bytes, double copyMs, double computeWaitMs) {
        GroupCopyEvent e = new GroupCopyEvent();
        if (!e.shouldCommit()) return;
        e.component = component;
        e.step = step;
        e.group = group;
        e.bytes = bytes;
        e.copyMs = copyMs;
        e.computeWaitMs = computeWaitMs;
        e.commit();
    }
}
