package dev.offload.engine;

import dev.offload.StepMetrics;

/**
 * What a step drives: the component's engine calls, one or two downcalls a group, made by the
 * step's own thread with no lock held around the device. The face's Step talks to this, not to the
 * component's machinery.
 */
public interface StepDriver {
    String name();

    int groupCount();

    /** Acquires {@code group}: its weights are on the device for work queued on the compute stream. */
    GroupPlace acquire(int group);

    /** Releases {@code group} and acquires {@code group + 1} in one engine call. */
    GroupPlace advance(int group);

    void release(int group);

    /** Skips {@code group}: not computed, its copy not made if not queued yet; the ring stays in order. */
    void skip(int group);

    /** The step ended (all its groups released or skipped). */
    void stepClosed(OpenStep step);

    /** A closed step's figures (ComponentCore#metrics). */
    StepMetrics metrics(long step, boolean wait);

    dev.offload.runtime.Stream computeStream();
}
