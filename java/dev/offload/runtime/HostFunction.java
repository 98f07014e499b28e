package dev.offload.runtime;

import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.internal.HostFunctionThread;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Java code run in stream order: one upcall stub, made once, that a stream calls as a host
 * function ({@link Stream#launchHostFunc}) with a {@code long} argument. It gets no view of device
 * memory (Java compute on the host backend is a {@link HostKernel}); on cuda it runs on CUDA's
 * callback thread and must not call CUDA or wait on a stream (cudaLaunchHostFunc's rule: the native
 * core refuses every runtime call from a host function's body, whatever its language).
 * The body's thread is marked while it runs ({@link dev.offload.internal.HostFunctionThread}): the
 * calls that could wait for a stream (synchronizing a stream or an event, allocating or freeing,
 * closing a host function, an engine, a component or the offloader, opening a step, registering)
 * are refused there with an OffloadException naming the rule, instead of hanging the stream.
 *
 * <p>A Java exception must never unwind into native code (the JVM would abort), so the body runs
 * inside a catch-all: the first failure is kept, later runs are skipped, and {@link #check()}
 * rethrows it on the caller's thread. Launching allocates nothing.
 *
 * <p>Closing frees the stub, which a stream still holding a launch would then call: a crash. So
 * {@link #close()} first synchronizes the streams it was launched on (it remembers up to
 * {@value #TRACKED_STREAMS}; a launch and a close exclude each other, so every launch is queued
 * before that synchronization), then frees the stub once no run is pending. Where it cannot know
 * that no run is left (more streams than it tracks, a stream that failed) it keeps the stub for the
 * life of the JVM instead, logging a warning: a few hundred bytes leaked rather than a crash. Close
 * called from a host function's body (this one's or another's) is refused: its synchronization
 * would wait for the stream running that body.
 */
public final class HostFunction implements AutoCloseable {
    /** The Java side of a host function. */
    @FunctionalInterface
    public interface Body {
        void run(long argument) throws Exception;
    }

    private static final MethodHandle ENTRY;

    static {
        try {
            ENTRY = MethodHandles.lookup().findVirtual(HostFunction.class, "entry", MethodType.methodType(void.class, MemorySegment.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String name;
    private final Body body;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment stub;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile boolean closed;
    static final int TRACKED_STREAMS = 8;
    private final Stream[] streams = new Stream[TRACKED_STREAMS];  // launched on, distinct; guarded by this
    private int streamCount;
    private boolean untracked;                                      // launched on more streams than that
    private final java.util.concurrent.atomic.AtomicLong pending = new java.util.concurrent.atomic.AtomicLong();
    private static final System.Logger LOG = System.getLogger("dev.offload.runtime");

    private final boolean kernel;  // launched as a host kernel (HostKernel): its body may view device memory

    public HostFunction(String name, Body body) {
        this(name, body, false);
    }

    HostFunction(String name, Body body, boolean kernel) {
        this.name = name;
        this.body = body;
        this.kernel = kernel;
        this.stub = Linker.nativeLinker().upcallStub(ENTRY.bindTo(this), FunctionDescriptor.ofVoid(ValueLayout.ADDRESS), arena);
    }

    private void entry(MemorySegment argument) {
        try {
            if (failure.get() != null) return;  // the stream's later work still runs; results are void anyway
            String before = HostFunctionThread.enter(name);
            try {
                body.run(argument.address());
            } finally {
                HostFunctionThread.exit(before);
            }
        } catch (Throwable t) {
            failure.compareAndSet(null, t);
        } finally {
            pending.decrementAndGet();
        }
    }

    /** Queues this function with {@code argument} on the stream. */
    public synchronized void launch(Stream stream, long argument) {
        if (closed) throw new OffloadException(Status.CLOSED, "host function '" + name + "' is closed");
        remember(stream);
        pending.incrementAndGet();
        try {
            if (kernel) stream.launchHostKernel(stub, MemorySegment.ofAddress(argument));
            else stream.launchHostFunc(stub, MemorySegment.ofAddress(argument));
        } catch (RuntimeException e) {
            pending.decrementAndGet();
            throw e;
        }
    }

    private void remember(Stream stream) {
        for (int i = 0; i < streamCount; i++) if (streams[i] == stream) return;
        if (streamCount < streams.length) streams[streamCount++] = stream;
        else untracked = true;
    }

    /** Throws (as an OffloadException naming this function) the first failure of a run so far. */
    public void check() {
        Throwable t = failure.get();
        if (t != null) {
            throw new OffloadException(Status.INTERNAL, "host function '" + name + "' failed on its stream: " + t, t);
        }
    }

    /**
     * Waits for the runs still queued (synchronizing the streams it was launched on), then frees the
     * stub; idempotent. See the class note for when it keeps the stub instead.
     */
    @Override
    public void close() {
        HostFunctionThread.refuse("HostFunction.close() of '" + name + "'");
        Stream[] launchedOn;
        boolean unknown;
        synchronized (this) {  // after this block no launch is in progress or can start
            if (closed) return;
            closed = true;
            launchedOn = java.util.Arrays.copyOf(streams, streamCount);
            unknown = untracked;
        }
        String why = null;
        if (unknown) {
            why = "launched on more than " + TRACKED_STREAMS + " streams";
        } else {
            for (Stream stream : launchedOn) {
                try {
                    if (!stream.isClosed()) stream.synchronize();  // a closed stream ran or dropped its work when it was destroyed
                } catch (OffloadException e) {
                    if (e.status() != Status.CLOSED) why = "synchronizing " + stream + " failed: " + e.getMessage();
                }
            }
            if (why == null && pending.get() != 0) why = pending.get() + " run(s) still pending after synchronizing its streams";
        }
        if (why != null) {
            LOG.log(System.Logger.Level.WARNING, "host function ''{0}'': its stub is kept until the JVM exits ({1}); a stream may still call it",
                    name, why);
            return;
        }
        arena.close();
    }
}
