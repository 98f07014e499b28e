package dev.offload.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.HostSource;
import dev.offload.OffloadException;
import dev.offload.Status;
import org.junit.jupiter.api.Test;

/**
 * The staging ring's rule is the native reader's, asked through ofl_staging_ring (issue 17): Java's
 * HostSource.stagingBytes and plan's preview report what the reader will make, for both backends,
 * with the default and a given ring, and refuse a ring the reader refuses. (DiskSourceTest checks
 * the figure against a real engine's.)
 */
class StagingRingTest {
    private static final long MIB = 1L << 20;

    @Test
    void theRingIsTheNativeReadersForBothBackends() {
        assertEquals(8 * MIB, DeviceRuntime.stagingRingBytes(Backend.HOST, 0, 100 * MIB));   // 8 units of 1 MiB
        assertEquals(64 * MIB, DeviceRuntime.stagingRingBytes(Backend.CUDA, 0, 1024 * MIB));  // 8 units of 8 MiB
        assertEquals(3 * MIB / 2, DeviceRuntime.stagingRingBytes(Backend.HOST, 0, 3 * MIB));  // half of 3 MiB: two units of 768 KiB
        assertEquals(8192, DeviceRuntime.stagingRingBytes(Backend.HOST, 10_000, MIB));        // two 4 KiB units fit in 10000
        assertEquals(2 * MIB, DeviceRuntime.stagingRingBytes(Backend.CUDA, 64 * MIB, 2 * MIB));  // at most a step's streamed bytes
        assertEquals(DeviceRuntime.stagingRingBytes(Backend.CUDA, 0, 100 * MIB), HostSource.stagingBytes(Backend.CUDA, 0, 100 * MIB));
    }

    @Test
    void aRingTheReaderRefusesIsRefusedWithItsRule() {
        OffloadException e = assertThrows(OffloadException.class, () -> HostSource.stagingBytes(Backend.HOST, 4096, MIB));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
        assertTrue(e.getMessage().contains("4096 bytes is too small") && e.getMessage().contains("8192"), e.getMessage());
    }
}
