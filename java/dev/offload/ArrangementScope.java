package dev.offload;

import dev.offload.engine.Arrangement;
import dev.offload.internal.HostFunctionThread;

/**
 * A scoped arrangement (diffusers' "model-level offload for the VAE during decode",
 * {@link Offloader#override}): the component runs under another strategy until the scope closes,
 * which restores the previous arrangement (the same plan object), also when the block it guards
 * throws (try-with-resources). The host copy stays: another grouping (one given, or LAYERWISE's one
 * block per group) is taken only where the copy serves it without packing again (leaf level, or
 * fewer blocks per group, from a block-level copy). A second override of a component with one open
 * fails, naming the first: one component, one arrangement at a time. Opening fails during the
 * component's step; closing waits for a step open on another thread (and fails, the scope staying
 * open, for one open on the closing thread). Closing is idempotent. The handle of
 * engine.Arrangement, which does the work.
 */
public final class ArrangementScope implements AutoCloseable {
    private final Arrangement arrangement;

    ArrangementScope(Arrangement arrangement) {
        this.arrangement = arrangement;
    }

    public Strategy strategy() {
        return arrangement.strategy();
    }

    /**
     * Restores the previous arrangement (idempotent). A step open on another thread is waited for
     * (outside the offloader's lock): try-with-resources calls close once, so failing would leave the
     * override on for good. A step open on this thread is an error, the scope staying open: close
     * the step first, then the scope.
     */
    @Override
    public void close() {
        HostFunctionThread.refuse("ArrangementScope.close()");
        arrangement.close();
    }

    @Override
    public String toString() {
        return arrangement.toString();
    }
}
