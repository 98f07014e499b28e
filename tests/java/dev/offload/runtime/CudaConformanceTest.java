package dev.offload.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.OffloadException;
import dev.offload.Status;
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

    @Test
    void theLegacyNullStreamCannotBeWrapped() {
        for (long legacy : new long[] {0, 1}) {  // NULL and cudaStreamLegacy
            OffloadException e = assertThrows(OffloadException.class, () -> runtime.wrapStream(MemorySegment.ofAddress(legacy)));
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().contains("legacy NULL stream"), e.getMessage());
        }
    }

    @Test
    void theEngineRefusesPageableGroupMemoryOnCuda() {
        MemorySegment pageable = arena.allocate(1 << 16, 4096);
        try (PinnedBuffer pinned = runtime.allocatePinned(1 << 16);
             Stream compute = runtime.createStream(StreamKind.COMPUTE);
             Stream copy = runtime.createStream(StreamKind.COPY)) {
            var groups = new java.util.ArrayList<>(java.util.List.of(dev.offload.internal.EngineSpec.Group.inMemory(pinned.segment(), false),
                    dev.offload.internal.EngineSpec.Group.inMemory(pageable, false)));
            var spec = new dev.offload.internal.EngineSpec(groups, 2, 1, 1, 1, false, null, "test engine");
            OffloadException e = assertThrows(OffloadException.class,
                    () -> dev.offload.internal.NativeEngine.create(runtime.handle(), spec, compute.handle(), copy.handle()));
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().contains("group 1") && e.getMessage().contains("pageable"), e.getMessage());
            groups.set(1, dev.offload.internal.EngineSpec.Group.inMemory(pinned.segment().asSlice(0, 4096), false));
            var pinnedOnly = new dev.offload.internal.EngineSpec(groups, 2, 1, 1, 1, false, null, "test engine");
            dev.offload.internal.NativeEngine.create(runtime.handle(), pinnedOnly, compute.handle(), copy.handle()).close();
        }
    }
}
