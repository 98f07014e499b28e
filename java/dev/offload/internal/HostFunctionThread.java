package dev.offload.internal;

import dev.offload.OffloadException;
import dev.offload.Status;

/**
 * Knows whether the calling thread is running a host function's body, and refuses the calls that
 * must not be made there.
 *
 * <p>CUDA forbids CUDA calls from a host function (cudaLaunchHostFunc), and the reason holds on
 * both backends: a call that waits for a stream (synchronize, a free, closing an engine or the
 * offloader) waits for the stream that is running the body, which cannot go on until the body
 * returns, so the process hangs. {@code runtime.HostFunction}'s upcall wrapper marks its thread for
 * the body's duration ({@link #enter}, {@link #exit}); the entry points that can wait, or take a lock
 * held by a thread that waits for the stream, call {@link #refuse} first, before they wait on
 * anything. The mark is a thread-local set and cleared in place (no allocation once a thread has
 * run a body), and the check is one thread-local read: none of the callers is on the per-group path.
 * Calls that only queue work are not checked here: the native core refuses every runtime call from a
 * host function's or host kernel's body (native/src/stream_body.hpp), on both backends; the checks here
 * come first for the calls that could wait, with this message, before any Java lock is taken.
 */
public final class HostFunctionThread {
    private static final ThreadLocal<String> RUNNING = new ThreadLocal<>();  // the host function's name, or null

    private HostFunctionThread() {}

    /** Marks this thread as running host function {@code name}'s body; returns what to restore on exit. */
    public static String enter(String name) {
        String before = RUNNING.get();
        RUNNING.set(name);
        return before;
    }

    public static void exit(String before) {
        RUNNING.set(before);
    }

    /** Whether the calling thread is inside a host function's body. */
    public static boolean inBody() {
        return RUNNING.get() != null;
    }

    /** Throws OffloadException (INVALID_ARGUMENT) naming {@code call} and the rule when called from a host function's body. */
    public static void refuse(String call) {
        String running = RUNNING.get();
        if (running != null) throw refusal(call, running);
    }

    /** As {@link #refuse(String)} for the call "{@code action} {@code subject}", the text made only when refused. */
    public static void refuse(String action, Object subject) {
        String running = RUNNING.get();
        if (running != null) throw refusal(action + " " + subject, running);
    }

    private static OffloadException refusal(String call, String running) {
        return new OffloadException(Status.INVALID_ARGUMENT, call + " called from a host function: CUDA forbids runtime calls from a host"
                + " function (cudaLaunchHostFunc), and this one could wait for the stream that runs host function '" + running
                + "', which waits for the body to return; make the call from the thread that queues the work");
    }
}
