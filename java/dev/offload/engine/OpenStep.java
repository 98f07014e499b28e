package dev.offload.engine;

/**
 * One open step of a component, as the machinery sees it: its index, the thread that opened it
 * (a step belongs to that thread), and the host-side times the face's Step records for the trace.
 * The component holds at most one; {@link ComponentCore#stepClosed} ends it.
 */
public final class OpenStep {
    private final ComponentCore component;
    private final long index;
    private final Thread owner = Thread.currentThread();
    private final long openedNanos = System.nanoTime();
    private long closedNanos;
    private long hostNanos;

    OpenStep(ComponentCore component, long index) {
        this.component = component;
        this.index = index;
    }

    public ComponentCore component() {
        return component;
    }

    /** 0 for a component's first step, then 1, 2, ... */
    public long index() {
        return index;
    }

    public boolean ownedByCurrentThread() {
        return Thread.currentThread() == owner;
    }

    public String ownerName() {
        return owner.getName();
    }

    /** {@link System#nanoTime()} when the step was opened, and when it closed (0 while open). */
    public long openedNanos() {
        return openedNanos;
    }

    public long closedNanos() {
        return closedNanos;
    }

    /** Wall-clock nanoseconds the step's thread spent inside acquire and release so far. */
    public long hostNanos() {
        return hostNanos;
    }

    public void addHostNanos(long nanos) {
        hostNanos += nanos;
    }

    /** Marks the step closed now; returns the time. */
    public long markClosed() {
        closedNanos = System.nanoTime();
        return closedNanos;
    }
}
