package dev.offload;

import dev.offload.engine.OpenStep;
import dev.offload.engine.StepDriver;
import dev.offload.internal.HostFunctionThread;
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
 * allocates nothing: the {@link Group} views are made once per device place and reused. It drives
 * its component through engine.StepDriver (acquire, advance, release, skip), nothing more.
 */
public final class Step implements AutoCloseable, Iterable<Group> {
    private final Component component;
    private final StepDriver driver;
    private final OpenStep token;
    private int next;
    private Group held;
    private boolean iterated;
    private boolean closed;

    Step(Component component, StepDriver driver, OpenStep token) {
        this.component = component;
        this.driver = driver;
        this.token = token;
    }

    /** 0 for a component's first step, then 1, 2, ... */
    public long index() {
        return token.index();
    }

    public Stream computeStream() {
        return driver.computeStream();
    }

    public Component component() {
        return component;
    }

    /**
     * Wall-clock nanoseconds this step's thread spent inside acquire and release so far (the
     * back-pressure wait included; {@link StepMetrics#hostBlockedMs()} says how much of it that was).
     */
    public long hostNanos() {
        return token.hostNanos();
    }

    @Override
    public Iterator<Group> iterator() {
        checkOpen();
        if (iterated) throw OffloadException.invalid("a step of component '" + component.name() + "' can be iterated once");
        iterated = true;
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return !closed && next < driver.groupCount();
            }

            @Override
            public Group next() {
                checkOpen();
                if (next >= driver.groupCount()) throw new NoSuchElementException("the step has run every group");
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
            h.place().released();
            held = Group.of(driver.advance(h.index()));
        } else {
            releaseHeld();
            held = Group.of(driver.acquire(next));
        }
        held.place().heldBy(token);
        next++;  // only once acquired: a failed acquire leaves close() to run the rest in order
        token.addHostNanos(System.nanoTime() - t0);
        return held;
    }

    private void releaseHeld() {
        if (held != null) {
            Group h = held;
            held = null;
            h.place().released();
            driver.release(h.index());
        }
    }

    private void checkOpen() {
        if (closed) throw new OffloadException(Status.CLOSED, "the step of component '" + component.name() + "' is closed");
        if (!token.ownedByCurrentThread()) {
            throw OffloadException.invalid("the step of component '" + component.name() + "' belongs to thread '" + token.ownerName() + "'");
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
        int groups = driver.groupCount();
        if (count < 0 || next + count > groups) {
            throw OffloadException.invalid("step of component '" + component.name() + "': cannot skip " + count + " group(s) at group "
                    + next + " of " + groups);
        }
        long t0 = System.nanoTime();
        try {
            releaseHeld();
            for (int i = 0; i < count; i++) {
                driver.skip(next);
                next++;
            }
        } finally {
            token.addHostNanos(System.nanoTime() - t0);
        }
    }

    /** Skips every group not yet given: the step ends early (a cache hit). */
    public void skipRest() {
        skip(driver.groupCount() - next);
    }

    /** This step's figures, once closed; waits for the step's compute if the device has not finished it. */
    public StepMetrics metrics() {
        HostFunctionThread.refuse("Step.metrics() of component", component.name());
        if (!closed) throw OffloadException.invalid("the step of component '" + component.name() + "' is still open: close it first");
        return component.metrics(token.index(), true);
    }

    @Override
    public void close() {
        if (closed) return;
        checkOpen();
        long t0 = System.nanoTime();
        try {
            releaseHeld();
            while (next < driver.groupCount()) {  // closed early: the rest are skipped
                driver.skip(next);
                next++;
            }
        } finally {
            token.addHostNanos(token.markClosed() - t0);
            closed = true;
            driver.stepClosed(token);
        }
    }
}
