package dev.offload.engine;

import java.util.ArrayDeque;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Where steps of turn-taking (MODEL_OFFLOAD) components wait for their turn on the device, first
 * come, first served. The offloader decides under its own lock whether a step can start now
 * (Offloader.step); a step that cannot (the room is held by other components' open steps) queues
 * here and waits <em>outside</em> that lock, so the steps holding the room can close, and other
 * threads can use the offloader meanwhile.
 *
 * <p>Wake-ups: {@link #changed()} bumps an epoch and wakes every waiter; it is called when a
 * turn-taking step closes, a component is closed, a waiter leaves the queue and the offloader
 * closes. A waiter reads the epoch before it looks at the device, and {@link #await} returns at
 * once when the epoch moved since, so a change between the look and the wait is never lost.
 *
 * <p>Order: only the thread at the head of the queue (or any thread while it is empty) may take a
 * turn; the others wait behind it, so a thread stepping one component in a loop cannot starve
 * another thread's component: their steps alternate. The lock here is a leaf: nothing else is
 * locked while it is held.
 */
final class TurnQueue {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition moved = lock.newCondition();
    private final ArrayDeque<Thread> waiting = new ArrayDeque<>();
    private volatile long epoch;

    /** The epoch to pass to {@link #await}: read it before looking at the device. */
    long epoch() {
        return epoch;
    }

    /** Whether {@code thread} may take a turn now: nobody waits, or it is first in line. */
    boolean mayGo(Thread thread) {
        lock.lock();
        try {
            return waiting.isEmpty() || waiting.peekFirst() == thread;
        } finally {
            lock.unlock();
        }
    }

    /** Puts {@code thread} in line (once). */
    void enqueue(Thread thread) {
        lock.lock();
        try {
            if (!waiting.contains(thread)) waiting.addLast(thread);
        } finally {
            lock.unlock();
        }
    }

    /** Takes {@code thread} out of line (it got its step, failed or gave up) and wakes the next. */
    void leave(Thread thread) {
        lock.lock();
        try {
            waiting.remove(thread);
            epoch++;
            moved.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Something that may let a waiter go happened: wake them all to look again. */
    void changed() {
        lock.lock();
        try {
            epoch++;
            if (!waiting.isEmpty()) moved.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** How many threads wait in line before {@code thread} (all of them when it is not in line). */
    int ahead(Thread thread) {
        lock.lock();
        try {
            int n = 0;
            for (Thread t : waiting) {
                if (t == thread) break;
                n++;
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until the epoch moves past {@code seen} or {@code deadlineNanos} ({@link System#nanoTime()};
     * 0 for no bound) passes; returns false on the deadline.
     */
    boolean await(long seen, long deadlineNanos) throws InterruptedException {
        lock.lock();
        try {
            while (epoch == seen) {
                if (deadlineNanos == 0) {
                    moved.await();
                } else {
                    long left = deadlineNanos - System.nanoTime();
                    if (left <= 0) return false;
                    moved.awaitNanos(left);
                }
            }
            return true;
        } finally {
            lock.unlock();
        }
    }
}
