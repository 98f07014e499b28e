package dev.offload.internal;

import dev.offload.OffloadException;
import dev.offload.Status;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Base of every Java owner of a native handle.
 *
 * <p>Each owner has its own shared {@link Arena}: segments it hands out (a pinned buffer's bytes)
 * are bound to it, and {@link #close()} closes the arena before the native object is destroyed, so
 * no Java access can reach freed memory. Using a closed owner throws an {@link OffloadException}
 * with status CLOSED that names the object. close() is idempotent; the native side also rejects a
 * stale handle, so a race between close and use ends in a clear error, never a crash.
 */
public abstract class NativeResource implements AutoCloseable {
    private final String description;
    private final Arena arena = Arena.ofShared();
    private volatile MemorySegment handle;

    protected NativeResource(MemorySegment handle, String description) {
        this.handle = handle;
        this.description = description;
    }

    /** The live handle; throws CLOSED when this object was closed. */
    public final MemorySegment handle() {
        MemorySegment h = handle;
        if (h == null) throw new OffloadException(Status.CLOSED, description + " is closed");
        return h;
    }

    protected final Arena arena() {
        handle();
        return arena;
    }

    public final boolean isClosed() {
        return handle == null;
    }

    @Override
    public final void close() {
        HostFunctionThread.refuse("closing", description);  // a free or a destroy waits for the streams
        MemorySegment h;
        synchronized (this) {
            h = handle;
            if (h == null) return;
            handle = null;
        }
        arena.close();
        Native.check(destroy(h), "destroying " + description);
    }

    /** Calls the native destroy function; returns its status. */
    protected abstract int destroy(MemorySegment handle);

    @Override
    public String toString() {
        return description + (isClosed() ? " (closed)" : "");
    }
}
