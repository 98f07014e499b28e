package dev.offload.runtime;

import dev.offload.OffloadException;
import dev.offload.internal.Native;
import dev.offload.internal.ffi.offload_h;
import java.lang.foreign.MemorySegment;

/**
 * The kernels the native core carries for the reference workload (docs/WORKLOAD.md). A real
 * inference engine launches its own kernels on {@link Stream#nativeHandle()} instead.
 */
public final class Kernels {
    private Kernels() {}

    /**
     * Queues one reference-workload layer: mixes {@code bytes} bytes of weights at device address
     * {@code weights} into {@code state} (tokens x hidden uint32 words), using {@code scratch}.
     */
    public static void referenceMix(Stream stream, DeviceBuffer state, DeviceBuffer scratch, int tokens, int hidden,
                                    MemorySegment weights, long bytes) {
        long stateBytes = 4L * tokens * hidden;
        if (tokens < 1 || hidden < 1) throw OffloadException.invalid("tokens and hidden must be positive, got " + tokens + " and " + hidden);
        if (state.byteSize() < stateBytes || scratch.byteSize() < stateBytes) {
            throw OffloadException.invalid("state and scratch need " + stateBytes + " bytes each for " + tokens + " x " + hidden + " words");
        }
        Native.check(offload_h.ofl_workload_mix_async(stream.handle(), state.devicePointer(), scratch.devicePointer(), tokens, hidden,
                weights, bytes), "queueing the reference mix kernel on " + stream);
    }
}
