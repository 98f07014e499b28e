package dev.offload.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.offload.OffloadException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** The conformance suite on the cuda backend; skipped by assumption where no CUDA device answers. */
class CudaConformanceTest extends BackendConformance {
    /** Null when a CUDA device answers; otherwise why not. */
    static String cudaUnavailableBecause() {
        return dev.offload.TestBackends.cudaUnavailableBecause();
    }

    @Override
    String unavailableBecause() {
        return cudaUnavailableBecause();
    }

    @Override
    String device() {
        return "cuda";
    }

    @Test
    void aWrappedStreamRunsWorkOnTheCallersCudaStream() {
        int n = 65536;
        byte[] data = random(n, 3);
        try (Stream owner = runtime.createStream(StreamKind.COMPUTE);
             DeviceBuffer d = runtime.allocateDevice(n)) {
            MemorySegment handle = owner.nativeHandle();
            assertNotEquals(MemorySegment.NULL, handle);
            try (Stream wrapped = runtime.wrapStream(handle)) {
                MemorySegment src = arena.allocate(n);
                MemorySegment.copy(data, 0, src, ValueLayout.JAVA_BYTE, 0, n);
                MemorySegment out = pinned(n);
                wrapped.copyToDevice(src, d, 0, n);
                wrapped.copyToHost(d, 0, out, n);
                owner.synchronize();  // same CUDA stream underneath
                assertArrayEquals(data, bytes(out, n));
            }
            owner.synchronize();  // closing the wrapper left the caller's stream usable
        }
    }
}
