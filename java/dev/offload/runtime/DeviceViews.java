package dev.offload.runtime;

import dev.offload.OffloadException;
import dev.offload.internal.Native;
import dev.offload.internal.ffi.offload_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Host views of device memory, granted only to a host kernel's body ({@link HostKernel}; offload.h:
 * ofl_device_view). On the host backend a device address is not host memory (reading it throws
 * {@link InternalError}); a view is the same bytes at a host address. A view stays valid while its
 * device buffer lives, and may be used only by host kernels (the stream's code), never by the
 * thread that queues work. Asking for one anywhere else (a host function, any other thread), or for
 * a range outside one live device buffer of the kernel's runtime, throws OffloadException naming
 * the rule. The out-parameter is a per-thread cell made once, so a view costs one downcall.
 */
public final class DeviceViews {
    static final DeviceViews INSTANCE = new DeviceViews();
    private static final ThreadLocal<MemorySegment> OUT = ThreadLocal.withInitial(() -> Arena.global().allocate(ValueLayout.ADDRESS));

    private DeviceViews() {}

    /** The view of {@code bytes} at a device address (a DeviceTensor's, a DeviceBuffer's). */
    public MemorySegment view(MemorySegment devicePointer, long bytes) {
        if (devicePointer == null) throw OffloadException.invalid("device view of a null address");
        MemorySegment out = OUT.get();
        int status = offload_h.ofl_device_view(devicePointer, bytes, out);
        if (status != 0) Native.check(status, "viewing " + bytes + " bytes of device memory at 0x" + Long.toHexString(devicePointer.address()));
        return out.get(ValueLayout.ADDRESS, 0).reinterpret(bytes);
    }

    /** The view of a whole device buffer. */
    public MemorySegment view(DeviceBuffer buffer) {
        return view(buffer.devicePointer(), buffer.byteSize());
    }
}
