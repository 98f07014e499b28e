package dev.offload.runtime;

import dev.offload.internal.HostFunctionThread;
import dev.offload.internal.Native;
import dev.offload.internal.NativeResource;
import dev.offload.internal.ffi.offload_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** A marker in a stream, with CUDA's semantics on both backends. */
public final class Event extends NativeResource {
    private final boolean timing;

    Event(MemorySegment handle, boolean timing) {
        super(handle, (timing ? "timing " : "") + "event");
        this.timing = timing;
    }

    public boolean timing() {
        return timing;
    }

    /** Captures the work queued on the stream so far. */
    public void record(Stream stream) {
        Native.check(offload_h.ofl_event_record(handle(), stream.handle()), "recording " + this + " on " + stream);
    }

    /** True when the latest record is done (or the event was never recorded); never blocks. */
    public boolean query() {
        try (Arena temp = Arena.ofConfined()) {
            MemorySegment done = temp.allocate(ValueLayout.JAVA_INT);
            Native.check(offload_h.ofl_event_query(handle(), done), "querying " + this);
            return done.get(ValueLayout.JAVA_INT, 0) != 0;
        }
    }

    /** Blocks until the latest record is done; refused in a host function's body (HostFunction). */
    public void synchronize() {
        HostFunctionThread.refuse("synchronizing", this);
        Native.check(offload_h.ofl_event_synchronize(handle()), "synchronizing " + this);
    }

    /** Milliseconds from this event to end; both must be timing events and complete (else NOT_READY). */
    public float elapsedMillis(Event end) {
        try (Arena temp = Arena.ofConfined()) {
            MemorySegment ms = temp.allocate(ValueLayout.JAVA_FLOAT);
            Native.check(offload_h.ofl_event_elapsed_ms(handle(), end.handle(), ms), "elapsed time from " + this + " to " + end);
            return ms.get(ValueLayout.JAVA_FLOAT, 0);
        }
    }

    @Override
    protected int destroy(MemorySegment handle) {
        return offload_h.ofl_event_destroy(handle);
    }
}
