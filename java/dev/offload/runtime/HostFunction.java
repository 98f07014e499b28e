package dev.offload.runtime;

import dev.offload.OffloadException;
import dev.offload.Status;
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
 * function ({@link Stream#launchHostFunc}) with a {@code long} argument. On the host backend this
 * is how Java compute reads and writes "device" memory (it is host memory there); on cuda it runs
 * on CUDA's callback thread and must not call CUDA or wait on a stream (cudaLaunchHostFunc's rule).
 *
 * <p>A Java exception must never unwind into native code (the JVM would abort), so the body runs
 * inside a catch-all: the first failure is kept, later runs are skipped, and {@link #check()}
 * rethrows it on the caller's thread. Launching allocates nothing. Close it only after the streams
 * it was launched on have run it (synchronize them first): closing frees the stub.
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

    public HostFunction(String name, Body body) {
        this.name = name;
        this.body = body;
        this.stub = Linker.nativeLinker().upcallStub(ENTRY.bindTo(this), FunctionDescriptor.ofVoid(ValueLayout.ADDRESS), arena);
    }

    private void entry(MemorySegment argument) {
        if (failure.get() != null) return;  // the stream's later work still runs; results are void anyway
        try {
            body.run(argument.address());
        } catch (Throwable t) {
            failure.compareAndSet(null, t);
        }
    }

    /** Queues this function with {@code argument} on the stream. */
    public void launch(Stream stream, long argument) {
        if (closed) throw new OffloadException(Status.CLOSED, "host function '" + name + "' is closed");
        stream.launchHostFunc(stub, MemorySegment.ofAddress(argument));
    }

    /** Throws (as an OffloadException naming this function) the first failure of a run so far. */
    public void check() {
        Throwable t = failure.get();
        if (t != null) {
            throw new OffloadException(Status.INTERNAL, "host function '" + name + "' failed on its stream: " + t, t);
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        arena.close();
    }
}
