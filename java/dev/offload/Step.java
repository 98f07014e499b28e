package dev.offload;

import dev.offload.runtime.Stream;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * One pass over a component's groups in execution order. Iterating acquires each group (its
 * weights are then on the device for work queued on {@link #computeStream()}); moving to the next
 * group, or closing the step, releases the current one on the device side. Nothing is copied back.
 *
 * <p>Nothing here waits for the device except, at most once per step, the first acquire when the
 * thread has queued more than {@code stepsAhead} steps ahead of it (back-pressure). Groups can be
 * skipped ({@link #skip}, {@link #skipRest}); closing a step early skips the rest. Either way the
 * prefetch ring stays in order for the next step. A step's {@link StepMetrics} are read once the device has finished it (or on
 * request, by {@link #metrics()}). A step belongs to the thread that opened it. Per group, a step
 * allocates nothing: the {@link Group} views are made once per device place and reused.
 */
public final class Step implements AutoCloseable, Iterable<Group> {
    private final Component component;
    private final Stream compute;
    private final Thread owner = Thread.currentThread();
    private int next;
    private final long index;
    private Group held;
    private boolean iterated;
    private boolean closed;
    private long hostNanos;
    private final long openedNanos = System.nanoTime();
    private long closedNanos;

    Step(Component component, Stream compute, long index) {
        this.component = component;
        this.compute = compute;
        this.index = index;
    }

    /** {@link System#nanoTime()} when the step was opened, and when it closed (0 while open). */
    long openedNanos() {
        return openedNanos;
    }

    long closedNanos() {
        return closedNanos;
    }

    /** 0 for a component's first step, then 1, 2, ... */
    public long index() {
        return index;
    }

    public Stream computeStream() {
        return compute;
    }

    public Component component() {
        return component;
    }

    /**
     * Wall-clock nanoseconds this step's thread spent inside acquire and release so far (the
     * back-pressure wait included; {@link StepMetrics#hostBlockedMs()} says how much of it that was).
     */
    public long hostNanos() {
        return hostNanos;
    }

    @Override
    public Iterator<Group> iterator() {
        checkOpen();
        if (iterated) throw OffloadException.invalid("a step of component '" + component.name() + "' can be iterated once");
        iterated = true;
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return !closed && next < component.groupCount();
            }

            @Override
            public Group next() {
                checkOpen();
                if (next >= component.groupCount()) throw new NoSuchElementException("the step has run every group");
                return advance();
            }
        };
    }

    private Group advance() {
        long t0 = System.nanoTime();
        if (held != null && held.index() + 1 == next) {
            // release the held group and acquire the next in one call; a failure leaves the
            // release done (the engine's rule), so nothing is held then
            Group h = held;
            held = null;
            h.released();
            held = component.advance(h.index());
        } else {
            releaseHeld();
            held = component.acquire(next);
        }
        held.heldBy(this);
        next++;  // only once acquired: a failed acquire leaves close() to run the rest in order
        hostNanos += System.nanoTime() - t0;
        return held;
    }

    private void releaseHeld() {
        if (held != null) {
            Group h = held;
            held = null;
            h.released();
            component.release(h.index());
        }
    }

    String ownerName() {
        return owner.getName();
    }

    boolean ownedByCurrentThread() {
        return Thread.currentThread() == owner;
    }

    private void checkOpen() {
        if (closed) throw new OffloadException(Status.CLOSED, "the step of component '" + component.name() + "' is closed");
        if (Thread.currentThread() != owner) {
            throw OffloadException.invalid("the step of component '" + component.name() + "' belongs to thread '" + owner.getName() + "'");
        }
    }

    /**
     * Skips the next {@code count} groups of this step (the ones iteration would give next): they
     * are not computed, a copy of theirs not yet queued is not made, and the ring goes on in order
     * (what caching methods such as first-block cache or TeaCache need). Iteration then continues
     * after them. A group already prefetched is copied all the same and the compute stream passes
     * it as an acquire would: at most the prefetch depth's copies are wasted per skip run. The group
     * held (the last one iteration gave) is released first.
     */
    public void skip(int count) {
        checkOpen();
        int groups = component.groupCount();
        if (count < 0 || next + count > groups) {
            throw OffloadException.invalid("step of component '" + component.name() + "': cannot skip " + count + " group(s) at group "
                    + next + " of " + groups);
        }
        long t0 = System.nanoTime();
        try {
            releaseHeld();
            for (int i = 0; i < count; i++) {
                component.skip(next);
                next++;
            }
        } finally {
            hostNanos += System.nanoTime() - t0;
        }
    }

    /** Skips every group not yet given: the step ends early (a cache hit). */
    public void skipRest() {
        skip(component.groupCount() - next);
    }

    /** This step's figures, once closed; waits for the step's compute if the device has not finished it. */
    public StepMetrics metrics() {
        dev.offload.internal.HostFunctionThread.refuse("Step.metrics() of component", component.name());
        if (!closed) throw OffloadException.invalid("the step of component '" + component.name() + "' is still open: close it first");
        return component.metrics(index, true);
    }

    @Override
    public void close() {
        if (closed) return;
        checkOpen();
        long t0 = System.nanoTime();
        try {
            releaseHeld();
            while (next < component.groupCount()) {  // closed early: the rest are skipped
                component.skip(next);
                next++;
            }
        } finally {
            closedNanos = System.nanoTime();
            hostNanos += closedNanos - t0;
            closed = true;
            component.stepClosed(this);
        }
    }
}
