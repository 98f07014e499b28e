package dev.offload.runtime;

import dev.offload.OffloadException;
import dev.offload.internal.HostFunctionThread;
import dev.offload.internal.Native;
import dev.offload.internal.NativeResource;
import dev.offload.internal.ffi.offload_h;
import java.lang.foreign.MemorySegment;
import java.time.Duration;

/**
 * An in-order queue of device work. Every method only queues (except {@link #synchronize()}).
 *
 * <p>Host memory passed to a copy must stay alive until the stream has passed the copy (as with
 * cudaMemcpyAsync). Use pinned memory ({@link DeviceRuntime#allocatePinned}): then copies are fully
 * asynchronous. Ordinary native memory works too, but the calling thread then waits for the stream's
 * work and the copy (on both backends, as cuda makes it wait), and the runtime counts it
 * ({@link DeviceRuntime#pageableCopies()}). Ranges are checked here against the Java objects and again
 * natively against live buffers.
 */
public final class Stream extends NativeResource {
    Stream(MemorySegment handle, String description) {
        super(handle, description);
    }

    public void copyToDevice(MemorySegment src, DeviceBuffer dst, long dstOffset, long bytes) {
        requireHost(src, bytes, "copy source");
        requireRange(dst, dstOffset, bytes, "copy destination");
        Native.check(offload_h.ofl_copy_async(handle(), dst.devicePointer(dstOffset), src, bytes,
                offload_h.OFL_COPY_HOST_TO_DEVICE()), "queueing a host-to-device copy of " + bytes + " bytes on " + this);
    }

    public void copyToHost(DeviceBuffer src, long srcOffset, MemorySegment dst, long bytes) {
        requireRange(src, srcOffset, bytes, "copy source");
        requireHost(dst, bytes, "copy destination");
        Native.check(offload_h.ofl_copy_async(handle(), dst, src.devicePointer(srcOffset), bytes,
                offload_h.OFL_COPY_DEVICE_TO_HOST()), "queueing a device-to-host copy of " + bytes + " bytes on " + this);
    }

    /**
     * Queues a copy of {@code bytes} from a raw device address (a {@code DeviceTensor}'s pointer, for
     * instance) into host memory; the native side checks the range lies in a live device buffer.
     */
    public void copyToHost(MemorySegment devicePointer, MemorySegment dst, long bytes) {
        requireHost(dst, bytes, "copy destination");
        if (devicePointer == null) throw OffloadException.invalid("copy source is null");
        int status = offload_h.ofl_copy_async(handle(), dst, devicePointer, bytes, offload_h.OFL_COPY_DEVICE_TO_HOST());
        if (status != 0) Native.check(status, "queueing a device-to-host copy of " + bytes + " bytes on " + this);
    }

    public void copyOnDevice(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long bytes) {
        requireRange(src, srcOffset, bytes, "copy source");
        requireRange(dst, dstOffset, bytes, "copy destination");
        Native.check(offload_h.ofl_copy_async(handle(), dst.devicePointer(dstOffset), src.devicePointer(srcOffset), bytes,
                offload_h.OFL_COPY_DEVICE_TO_DEVICE()), "queueing a device-to-device copy of " + bytes + " bytes on " + this);
    }

    public void fill(DeviceBuffer dst, long offset, long bytes, byte value) {
        requireRange(dst, offset, bytes, "fill destination");
        int status = offload_h.ofl_device_fill_async(handle(), dst.devicePointer(offset), value, bytes);
        if (status != 0) Native.check(status, "queueing a fill of " + bytes + " bytes on " + this);
    }

    /** Holds the stream for a while (a spin kernel on cuda, a sleep on host). */
    public void delay(Duration duration) {
        long micros = duration.toNanos() / 1000;
        if (micros < 0 || micros > 0xFFFF_FFFFL) {
            throw OffloadException.invalid("stream delay must be between 0 and 4294967295 microseconds, got " + micros);
        }
        Native.check(offload_h.ofl_stream_delay(handle(), (int) micros), "queueing a delay on " + this);
    }

    /**
     * Queues a native host function {@code fn(userData)} in stream order (cudaLaunchHostFunc's
     * semantics): it runs after the work queued before it, and later work waits for it. For Java
     * code use {@link HostFunction}.
     */
    public void launchHostFunc(MemorySegment fn, MemorySegment userData) {
        if (fn == null || fn.equals(MemorySegment.NULL)) throw OffloadException.invalid("host function is NULL");
        int status = offload_h.ofl_stream_launch_host_func(handle(), fn, userData == null ? MemorySegment.NULL : userData);
        if (status != 0) Native.check(status, "queueing a host function on " + this);
    }

    /**
     * Queues a native host kernel {@code fn(userData)} in stream order: emulated device code that may
     * view device memory ({@code ofl_device_view}); host backend only, NOT_SUPPORTED on cuda. For Java
     * code use {@link HostKernel}.
     */
    public void launchHostKernel(MemorySegment fn, MemorySegment userData) {
        if (fn == null || fn.equals(MemorySegment.NULL)) throw OffloadException.invalid("host kernel is NULL");
        int status = offload_h.ofl_stream_launch_host_kernel(handle(), fn, userData == null ? MemorySegment.NULL : userData);
        if (status != 0) Native.check(status, "queueing a host kernel on " + this);
    }

    /** Later work on this stream waits for the event's latest record; the calling thread does not wait. */
    public void waitFor(Event event) {
        Native.check(offload_h.ofl_stream_wait_event(handle(), event.handle()), "making " + this + " wait for " + event);
    }

    /** Blocks until everything queued so far is done; refused in a host function's body (HostFunction). */
    public void synchronize() {
        HostFunctionThread.refuse("synchronizing", this);
        Native.check(offload_h.ofl_stream_synchronize(handle()), "synchronizing " + this);
    }

    /** The cudaStream_t to launch kernels on; NULL on the host backend. */
    public MemorySegment nativeHandle() {
        MemorySegment stream = handle();
        return Native.pointerResult(out -> offload_h.ofl_stream_native_handle(stream, out), "reading the native handle of " + this);
    }

    private static void requireHost(MemorySegment segment, long bytes, String what) {
        if (segment == null) throw OffloadException.invalid(what + " is null");
        if (!segment.isNative()) throw OffloadException.invalid(what + " must be native memory, not a heap segment");
        if (bytes < 0 || bytes > segment.byteSize()) {
            throw OffloadException.invalid(what + ": " + bytes + " bytes asked of a segment of " + segment.byteSize());
        }
    }

    private static void requireRange(DeviceBuffer buffer, long offset, long bytes, String what) {
        if (buffer == null) throw OffloadException.invalid(what + " is null");
        if (offset < 0 || bytes < 0 || offset > buffer.byteSize() - bytes) {
            throw OffloadException.invalid(what + ": range [" + offset + ", +" + bytes + ") is outside " + buffer);
        }
    }

    @Override
    protected int destroy(MemorySegment handle) {
        return offload_h.ofl_stream_destroy(handle);
    }
}
