package dev.offload.engine;

import dev.offload.OffloadException;

/**
 * Reading the figures of a component's closed steps in bulk, outside every lock but the
 * component's own, one step at a time: for a trace (every step it lacks, waiting for the device)
 * and for Offloader.plan's measured mean (every step the device has finished, never waiting).
 */
final class ClosedSteps {
    private ClosedSteps() {}

    /** Every closed step still kept whose spans the trace lacks, waiting for the device where needed. */
    static void flushTrace(ComponentCore c) {
        long closed = c.closedSteps(false);
        for (long step = Math.max(0, closed - ComponentCore.KEPT_STEPS); step < closed; step++) {
            if (c.onTrace(step) || !c.readable(step)) continue;  // on it already, or gone with an earlier turn
            c.metrics(step, true);
        }
    }

    /**
     * Every closed step still kept that no one has read, so the totals cover every step the device
     * has finished. Stops at the first step still running on the device (later ones are not done
     * either); reads nothing while another thread runs a step of this component.
     */
    static void readFinished(ComponentCore c) {
        long closed = c.closedSteps(true);
        for (long step = Math.max(0, closed - ComponentCore.KEPT_STEPS); step < closed; step++) {
            if (c.figuresSeen(step)) continue;
            if (c.closedSteps(true) < 0) return;
            if (!c.readable(step)) continue;  // gone with an earlier turn
            try {
                if (c.metrics(step, false) == null) return;
            } catch (OffloadException e) {
                return;  // a step opened on another thread meanwhile, or the component closed: the next plan() reads it
            }
        }
    }
}
