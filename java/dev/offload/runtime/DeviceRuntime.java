package dev.offload.runtime;

import dev.offload.OffloadException;
import dev.offload.internal.HostFunctionThread;
import dev.offload.internal.Native;
import dev.offload.internal.NativeLibrary;
import dev.offload.internal.NativeResource;
import dev.offload.internal.ffi.offload_h;
import dev.offload.internal.ffi.ofl_device_info;
import dev.offload.internal.ffi.ofl_runtime_stats;
import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Set;

/**
 * An opened device: the factory of pinned and device buffers, streams and events.
 *
 * <p>Objects made here keep working after the runtime is closed (each holds the native device
 * alive); close them on their own. Device buffers count against the budget given at open; going
 * over it fails with OUT_OF_DEVICE_MEMORY and changes nothing. Making or freeing anything here is
 * refused in a host function's body (HostFunction): CUDA forbids it, and a free waits for the streams.
 */
public final class DeviceRuntime extends NativeResource {
    private static final System.Logger LOG = System.getLogger("dev.offload.runtime");
    private static final java.util.concurrent.atomic.AtomicBoolean NOTED_AUTO = new java.util.concurrent.atomic.AtomicBoolean();
    private final String deviceName;

    private DeviceRuntime(MemorySegment handle, String deviceName) {
        super(handle, "runtime '" + deviceName + "'");
        this.deviceName = deviceName;
    }

    /**
     * Opens "auto", "host", "cuda" or "cuda:N" with a device budget in bytes (0 = the device's free
     * memory minus a reserve). A budget above what the device has free now (cuda: cudaMemGetInfo's
     * free bytes; host: MemAvailable, which its emulated device memory comes from) is refused with
     * INVALID_ARGUMENT naming both numbers, not capped: the planner spends the budget, so a budget
     * beyond the memory plans what later fails to allocate (device.cpp, Device::open).
     */
    public static DeviceRuntime open(String device, long budgetBytes) {
        NativeLibrary.load();  // every other owner is made by a runtime, so this is the one gate
        if (device == null) throw OffloadException.invalid("device name is null");
        if (budgetBytes < 0) {
            throw OffloadException.invalid("device budget must be >= 0 bytes (0 = default), got " + budgetBytes);
        }
        try (Arena temp = Arena.ofConfined()) {
            MemorySegment name = temp.allocateFrom(device);
            DeviceRuntime runtime = new DeviceRuntime(Native.pointerResult(out -> offload_h.ofl_runtime_open(name, budgetBytes, out),
                    "opening device '" + device + "'"), device);
            DeviceInfo info;
            try {
                info = runtime.info();
            } catch (RuntimeException e) {
                runtime.close();
                throw e;
            }
            if (!info.note().isEmpty()) {
                // Once per process at INFO (a CLI run or a test suite opens many runtimes), then DEBUG.
                boolean first = NOTED_AUTO.compareAndSet(false, true);
                LOG.log(info.backend() == Backend.HOST && first ? Level.INFO : Level.DEBUG, info.note());
            }
            return runtime;
        }
    }

    /** Backends compiled into the loaded library. */
    public static Set<Backend> compiledBackends() {
        return Backend.fromBits(Native.compiledBackends());
    }

    /**
     * The pinned bytes of the staging ring a disk source's reader will make: the native reader's own
     * rule, asked of it (offload.h, ofl_staging_ring), never restated here. {@code given}: the
     * configured ring (0: the default; else at least 8 KiB: INVALID_ARGUMENT otherwise, as the reader
     * refuses it); {@code neededBytes}: a step's streamed bytes, each group rounded up to 4 KiB (the
     * largest group's when nothing streams).
     */
    public static long stagingRingBytes(Backend backend, long given, long neededBytes) {
        NativeLibrary.load();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment unit = arena.allocate(java.lang.foreign.ValueLayout.JAVA_LONG);
            MemorySegment units = arena.allocate(java.lang.foreign.ValueLayout.JAVA_INT);
            Native.check(offload_h.ofl_staging_ring(given, backend.code(), neededBytes, unit, units), "the staging ring of " + given
                    + " bytes for " + neededBytes + " streamed bytes on " + backend.id());
            return unit.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0) * Integer.toUnsignedLong(units.get(java.lang.foreign.ValueLayout.JAVA_INT, 0));
        }
    }

    /** The native core's version. */
    public static String version() {
        return Native.version();
    }

    public String deviceName() {
        return deviceName;
    }

    /**
     * Device-wide waits this runtime made since it opened (offload.h: ofl_runtime_device_syncs):
     * device buffer frees (as cudaFree) and pinned host frees (as cudaFreeHost). An engine's end and
     * a model-level turn add none.
     */
    public long deviceSyncs() {
        try (Arena temp = Arena.ofConfined()) {
            MemorySegment out = temp.allocate(java.lang.foreign.ValueLayout.JAVA_LONG);
            Native.check(offload_h.ofl_runtime_device_syncs(handle(), out), "reading the device syncs of " + this);
            return out.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0);
        }
    }

    public DeviceInfo info() {
        try (Arena temp = Arena.ofConfined()) {
            MemorySegment s = temp.allocate(ofl_device_info.layout());
            ofl_device_info.struct_size(s, (int) ofl_device_info.sizeof());
            Native.check(offload_h.ofl_runtime_info(handle(), s), "reading device info of " + this);
            return new DeviceInfo(
                    Backend.of(ofl_device_info.backend(s)),
                    ofl_device_info.device_index(s),
                    Backend.fromBits(ofl_device_info.compiled_backends(s)),
                    ofl_device_info.name(s).getString(0),
                    ofl_device_info.total_bytes(s),
                    ofl_device_info.free_bytes(s),
                    ofl_device_info.budget_bytes(s),
                    ofl_device_info.used_bytes(s),
                    ofl_device_info.peak_bytes(s),
                    ofl_device_info.host_used_bytes(s),
                    ofl_device_info.host_peak_bytes(s),
                    ofl_device_info.note(s).getString(0));
        }
    }

    /**
     * Async copies since open whose host side was not pinned memory (offload.h: ofl_runtime_stats):
     * each made the calling thread wait for the stream. 0 in a steady state.
     */
    public long pageableCopies() {
        try (Arena temp = Arena.ofConfined()) {
            MemorySegment s = temp.allocate(ofl_runtime_stats.layout());
            ofl_runtime_stats.struct_size(s, (int) ofl_runtime_stats.sizeof());
            Native.check(offload_h.ofl_runtime_stats_get(handle(), s), "reading the stats of " + this);
            return ofl_runtime_stats.pageable_copies(s);
        }
    }

    public PinnedBuffer allocatePinned(long bytes) {
        HostFunctionThread.refuse("allocating pinned memory on", this);
        requirePositive(bytes, "pinned buffer size");
        MemorySegment rt = handle();
        return new PinnedBuffer(Native.pointerResult(out -> offload_h.ofl_host_buffer_create(rt, bytes, out),
                "allocating " + bytes + " pinned bytes on " + this), bytes);
    }

    /**
     * Registers caller memory (a page-aligned mapping: a shared host region) as pinned, so that engines
     * accept groups in it (ofl_host_register: cudaHostRegister, portable, on cuda; recorded on the host
     * backend). The buffer's segment is the same memory; closing it unregisters it and frees nothing:
     * unmap {@code memory} only after that.
     */
    public PinnedBuffer registerHost(MemorySegment memory) {
        HostFunctionThread.refuse("registering host memory on", this);
        requirePositive(memory.byteSize(), "registered host memory size");
        MemorySegment rt = handle();
        long bytes = memory.byteSize();
        return new PinnedBuffer(Native.pointerResult(out -> offload_h.ofl_host_register(rt, memory, bytes, out),
                "registering " + bytes + " host bytes at 0x" + Long.toHexString(memory.address()) + " as pinned on " + this), bytes);
    }

    public DeviceBuffer allocateDevice(long bytes) {
        HostFunctionThread.refuse("allocating device memory on", this);
        requirePositive(bytes, "device buffer size");
        MemorySegment rt = handle();
        return new DeviceBuffer(Native.pointerResult(out -> offload_h.ofl_device_buffer_create(rt, bytes, out),
                "allocating " + bytes + " device bytes on " + this), bytes);
    }

    public Stream createStream(StreamKind kind) {
        HostFunctionThread.refuse("creating a stream on", this);
        MemorySegment rt = handle();
        return new Stream(Native.pointerResult(out -> offload_h.ofl_stream_create(rt, kind.code, out),
                "creating a " + kind + " stream on " + this), kind.name().toLowerCase(java.util.Locale.ROOT) + " stream");
    }

    /** Wraps a caller-owned cudaStream_t; closing the wrapper leaves the CUDA stream alone. */
    public Stream wrapStream(MemorySegment cudaStream) {
        HostFunctionThread.refuse("wrapping a CUDA stream on", this);
        MemorySegment rt = handle();
        return new Stream(Native.pointerResult(out -> offload_h.ofl_stream_wrap(rt, cudaStream, out),
                "wrapping a CUDA stream on " + this), "wrapped stream");
    }

    public Event createEvent(boolean timing) {
        HostFunctionThread.refuse("creating an event on", this);
        MemorySegment rt = handle();
        int flags = timing ? offload_h.OFL_EVENT_TIMING() : 0;
        return new Event(Native.pointerResult(out -> offload_h.ofl_event_create(rt, flags, out), "creating an event on " + this), timing);
    }

    static void requirePositive(long bytes, String what) {
        if (bytes <= 0) throw OffloadException.invalid(what + " must be positive, got " + bytes);
    }

    @Override
    protected int destroy(MemorySegment handle) {
        return offload_h.ofl_runtime_destroy(handle);
    }
}
