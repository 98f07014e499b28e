package dev.offload.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.Component;
import dev.offload.DiskStats;
import dev.offload.Group;
import dev.offload.HostSource;
import dev.offload.OffloadConfig;
import dev.offload.Offloader;
import dev.offload.Size;
import dev.offload.Step;
import dev.offload.Strategy;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.workload.SyntheticModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Host memory with the DISK source is bounded by the staging ring: streaming a 256 MiB checkpoint
 * through a 16 MiB ring, the process's resident set (VmRSS sampled every 2 ms, and VmHWM after
 * resetting it through /proc/self/clear_refs where the kernel allows) grows by at most the ring,
 * plus the emulated device's memory (on the host backend "device" memory is host memory), plus
 * {@link #SLACK}: the JVM's own growth while the test runs (heap, thread stacks, JIT). A pinned copy
 * would add the model's 256 MiB.
 */
class DiskHostMemoryTest {
    /** The documented constant: what the JVM may add while streaming, whatever the model's size. */
    static final long SLACK = Size.mib(48);

    @TempDir
    Path dir;

    static long status(String key) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(key + ":")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
        throw new IllegalStateException(key + " not in /proc/self/status");
    }

    static boolean resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    @Test
    void streamingA256MiBCheckpointThroughA16MiBRingKeepsHostMemoryToTheRing() throws Exception {
        Path file = dir.resolve("big.safetensors");
        SyntheticModel.write(file, 768, 8, 11, 3);  // about 256 MiB; largest tensor about 5.6 MiB
        try (Checkpoint c = Checkpoint.open(file)) {
            assertTrue(c.totalBytes() >= Size.mib(250), "model " + c.totalBytes());
            long staging = Size.mib(16);
            OffloadConfig config = OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).leafLevel()
                    .source(HostSource.DISK).stagingBytes(staging).deviceBudget(Size.mib(32)).build();
            System.gc();
            long baseline = status("VmRSS");
            boolean hwm = resetPeak();
            AtomicLong sampled = new AtomicLong(baseline);
            AtomicBoolean done = new AtomicBoolean();
            Thread sampler = Thread.ofPlatform().daemon().start(() -> {
                while (!done.get()) {
                    try {
                        sampled.accumulateAndGet(status("VmRSS"), Math::max);
                        Thread.sleep(2);
                    } catch (Exception e) {
                        return;
                    }
                }
            });
            long device;
            DiskStats d;
            int steps = 2;
            try (Offloader off = Offloader.open(config)) {
                Component comp = off.register("big", c);
                for (int s = 0; s < steps; s++) {
                    try (Step step = off.step("big")) {
                        for (Group g : step) assertTrue(g.byteSize() > 0);
                    }
                }
                device = comp.metrics(steps - 1, true).peakDeviceBytes();
                d = comp.diskStats();
            } finally {
                done.set(true);
                sampler.join();
            }
            long peak = Math.max(sampled.get(), hwm ? status("VmHWM") : 0);
            assertTrue(d.stagingBytes() <= staging, d.toString());
            assertTrue(d.bytesRead() >= steps * (c.totalBytes() - Size.mib(1)), d + " for a model of " + c.totalBytes());
            long grew = peak - baseline;
            long bound = d.stagingBytes() + device + SLACK;
            System.out.printf("DiskHostMemoryTest: RSS grew by %s over ring %s + device %s (bound: + slack %s), model %s%n",
                    Size.format(grew), Size.format(d.stagingBytes()), Size.format(device), Size.format(SLACK), Size.format(c.totalBytes()));
            assertTrue(grew <= bound, "RSS grew by " + Size.format(grew) + " (baseline " + Size.format(baseline) + ", peak "
                    + Size.format(peak) + "), over ring " + Size.format(d.stagingBytes()) + " + device " + Size.format(device)
                    + " + slack " + Size.format(SLACK) + " for a model of " + Size.format(c.totalBytes()));
            assertEquals(d.stagingBytes(), d.stagingSlots() * d.unitBytes(), d.toString());
            assertEquals(Size.mib(1), d.unitBytes(), d.toString());  // 16 units of the host backend's 1 MiB
        }
    }
}
