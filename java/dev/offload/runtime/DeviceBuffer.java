package dev.offload.runtime;

import dev.offload.internal.Native;
import dev.offload.internal.NativeResource;
import dev.offload.internal.ffi.offload_h;
import java.lang.foreign.MemorySegment;

/**
 * Device memory counted against its runtime's budget. Its address is for kernels and copies only:
 * it is a zero-length segment, never dereferenced from Java.
 */
public final class DeviceBuffer extends NativeResource {
    private final long byteSize;
    private final long address;

    DeviceBuffer(MemorySegment handle, long byteSize) {
        super(handle, "device buffer (" + byteSize + " bytes)");
        this.byteSize = byteSize;
        this.address = Native.pointerResult(out -> offload_h.ofl_device_buffer_address(handle, out), "reading the address of " + this)
                .address();
    }

    /** The device address of the first byte. */
    public MemorySegment devicePointer() {
        handle();
        return MemorySegment.ofAddress(address);
    }

    /** The device address at an offset, checked against the buffer's size. */
    public MemorySegment devicePointer(long offset) {
        handle();
        if (offset < 0 || offset > byteSize) {
            throw dev.offload.OffloadException.invalid("offset " + offset + " is outside " + this);
        }
        return MemorySegment.ofAddress(address + offset);
    }

    public long byteSize() {
        return byteSize;
    }

    @Override
    protected int destroy(MemorySegment handle) {
        return offload_h.ofl_device_buffer_destroy(handle);
    }
}
