package dev.offload.runtime;

import dev.offload.internal.Native;
import dev.offload.internal.NativeResource;
import dev.offload.internal.ffi.offload_h;
import java.lang.foreign.MemorySegment;

/**
 * Page-locked host memory: the source of fully asynchronous host-to-device copies. Either allocated
 * ({@link DeviceRuntime#allocatePinned}; closing frees it) or the caller's memory registered as
 * pinned ({@link DeviceRuntime#registerHost}; closing unregisters it and frees nothing).
 */
public final class PinnedBuffer extends NativeResource {
    private final long byteSize;
    private final MemorySegment segment;

    PinnedBuffer(MemorySegment handle, long byteSize) {
        super(handle, "pinned buffer (" + byteSize + " bytes)");
        this.byteSize = byteSize;
        MemorySegment address = Native.pointerResult(out -> offload_h.ofl_host_buffer_address(handle, out), "reading the address of " + this);
        // Bound to this owner's arena: closing the buffer invalidates the segment before the memory is freed.
        this.segment = address.reinterpret(byteSize, arena(), null);
    }

    /** The buffer's bytes; valid until this buffer is closed. */
    public MemorySegment segment() {
        handle();
        return segment;
    }

    public long byteSize() {
        return byteSize;
    }

    @Override
    protected int destroy(MemorySegment handle) {
        return offload_h.ofl_host_buffer_destroy(handle);
    }
}
