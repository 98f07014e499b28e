package dev.offload.runtime;

import dev.offload.OffloadException;
import dev.offload.internal.Native;
import dev.offload.internal.ffi.offload_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Host views of device memory, granted only to one run of a host kernel's body ({@link HostKernel};
 * offload.h: ofl_device_view). On the host backend a device address is not host memory (reading it
 * throws {@link InternalError}); a view is the same bytes at a host address.
 *
 * <p>Each run of a body gets its own {@code DeviceViews}, whose views belong to an {@link Arena}
 * confined to the kernel's thread and closed when the body returns. A view kept past the body then
 * throws when used instead of reading memory that its runtime may have unmapped since (a SIGSEGV,
 * which would end the JVM): {@link IllegalStateException} on the kernel's thread (a later run),
 * {@link WrongThreadException} on any other thread (there, at any time). Asking this object for a
 * view after its run throws IllegalStateException. Confined rather than shared: closing a shared
 * arena costs a handshake with every thread (about 20 us per run, measured), a confined one about 0.5 us. So a kernel takes its views again at every run (a few small
 * objects per run, on the stream's thread; the thread that queues work allocates nothing).
 * Asking for one anywhere else (a host function, any other thread), or for a range outside one
 * live device buffer of the kernel's runtime, throws OffloadException naming the rule. The
 * out-parameter is a per-thread cell made once, so a view costs one downcall.
 */
public final class DeviceViews {
    private static final ThreadLocal<MemorySegment> OUT = ThreadLocal.withInitial(() -> Arena.global().allocate(ValueLayout.ADDRESS));
    private final Arena run;

    /** Views scoped to {@code run}: HostKernel makes one per run of its body, with an arena it closes when the body returns. */
    DeviceViews(Arena run) {
        this.run = run;
    }

    /** The view of {@code bytes} at a device address (a DeviceTensor's, a DeviceBuffer's), valid until this run's body returns. */
    public MemorySegment view(MemorySegment devicePointer, long bytes) {
        if (devicePointer == null) throw OffloadException.invalid("device view of a null address");
        if (!run.scope().isAlive()) {
            throw new IllegalStateException("device view asked of a host kernel run's DeviceViews after its body returned: "
                    + "views are valid only during the run that took them (DeviceViews)");
        }
        MemorySegment out = OUT.get();
        int status = offload_h.ofl_device_view(devicePointer, bytes, out);
        if (status != 0) Native.check(status, "viewing " + bytes + " bytes of device memory at 0x" + Long.toHexString(devicePointer.address()));
        return out.get(ValueLayout.ADDRESS, 0).reinterpret(bytes, run, null);
    }

    /** The view of a whole device buffer, valid until this run's body returns. */
    public MemorySegment view(DeviceBuffer buffer) {
        return view(buffer.devicePointer(), buffer.byteSize());
    }
}
