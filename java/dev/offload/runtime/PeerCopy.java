package dev.offload.runtime;

import dev.offload.OffloadException;
import dev.offload.internal.Native;
import dev.offload.internal.ffi.offload_h;
import java.lang.foreign.MemorySegment;

/**
 * Copies between two devices in stream order (ofl_copy_peer): activations handed from one device
 * to another, such as a text encoder's output on host:0 to a transformer on host:1. Each copy
 * starts once the work queued so far on the source's stream is done, runs on the destination's
 * stream (so work queued there after it sees the bytes), and the source's later work waits for it
 * (so the source buffer may be reused). On cuda it is a peer copy where the devices allow it and
 * staged through pinned host memory where they do not; on the host backend a copy between arenas.
 *
 * <p>Design: the two ordering events are made once here (one of each runtime), never per copy, so
 * a copy per step costs one downcall and allocates nothing. One PeerCopy serves one pair of
 * streams; copies through it are ordered as queued. Close it after the streams' last use of it.
 */
public final class PeerCopy implements AutoCloseable {
    private final Stream source;
    private final Stream destination;
    private final Event sourceReady;
    private final Event copyDone;

    private PeerCopy(Stream source, Stream destination, Event sourceReady, Event copyDone) {
        this.source = source;
        this.destination = destination;
        this.sourceReady = sourceReady;
        this.copyDone = copyDone;
    }

    /** A copier from {@code source} (a stream of {@code from}) to {@code destination} (a stream of {@code to}). */
    public static PeerCopy between(DeviceRuntime from, Stream source, DeviceRuntime to, Stream destination) {
        if (from == null || source == null || to == null || destination == null) {
            throw OffloadException.invalid("peer copy: the runtimes and streams must be given (a null was passed)");
        }
        Event ready = from.createEvent(false);
        try {
            return new PeerCopy(source, destination, ready, to.createEvent(false));
        } catch (RuntimeException e) {
            ready.close();
            throw e;
        }
    }

    /** Queues a copy of {@code bytes} from {@code src} (on the source's device) to {@code dst} (on the destination's). */
    public void copy(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long bytes) {
        if (src == null || dst == null) throw OffloadException.invalid("peer copy: the source and destination buffers must be given");
        if (srcOffset < 0 || bytes < 0 || srcOffset > src.byteSize() - bytes) {
            throw OffloadException.invalid("peer copy source: range [" + srcOffset + ", +" + bytes + ") is outside " + src);
        }
        if (dstOffset < 0 || dstOffset > dst.byteSize() - bytes) {
            throw OffloadException.invalid("peer copy destination: range [" + dstOffset + ", +" + bytes + ") is outside " + dst);
        }
        copy(src.devicePointer(srcOffset), dst.devicePointer(dstOffset), bytes);
    }

    /** As above with raw device addresses (a DeviceTensor's pointer); the native side checks each lies in a live buffer of its runtime. */
    public void copy(MemorySegment srcPointer, MemorySegment dstPointer, long bytes) {
        if (srcPointer == null || dstPointer == null) throw OffloadException.invalid("peer copy: a device address is null");
        Native.check(offload_h.ofl_copy_peer(destination.handle(), dstPointer, source.handle(), srcPointer, bytes, sourceReady.handle(),
                copyDone.handle()), "queueing a peer copy of " + bytes + " bytes from " + source + " to " + destination);
    }

    @Override
    public void close() {
        try {
            sourceReady.close();
        } finally {
            copyDone.close();
        }
    }
}
