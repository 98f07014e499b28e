package dev.offload.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.HostSource;
import dev.offload.OffloadConfig;
import dev.offload.Offloader;
import dev.offload.Strategy;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.memory.DiskSource;
import dev.offload.memory.HostPacking;
import dev.offload.workload.SyntheticModel;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The table of host copies shared by an offloader's devices (issue 20): a copy is forgotten when its
 * last holder closes it (the table keeps no closed copy, nor the graph behind it), a key is packed
 * once by concurrent callers, and packing runs outside the table's lock (another key's caller is
 * not held up by it). On the old code the closed copies stayed in the table and packing held its lock.
 */
class HostCopiesTest {
    @TempDir
    Path dir;

    @Test
    void aCopyIsForgottenWithItsLastHolderAndAKeyIsPackedOnceOutsideTheLock() throws Exception {
        Path file = dir.resolve("m.safetensors");
        SyntheticModel.write(file, 32, 2, 2, 5);
        Path other = dir.resolve("o.safetensors");
        SyntheticModel.write(other, 32, 2, 2, 6);
        ExecutorService threads = Executors.newFixedThreadPool(3);
        try (Checkpoint m = Checkpoint.open(file); Checkpoint o = Checkpoint.open(other)) {
            HostCopies copies = new HostCopies();
            ComponentSource key = ComponentSource.of(m);
            AtomicInteger packed = new AtomicInteger();
            CountDownLatch packing = new CountDownLatch(1), letGo = new CountDownLatch(1);
            Future<HostPacking> first = threads.submit(() -> copies.packOrShare(key, List.of(), HostSource.DISK, () -> {
                packed.incrementAndGet();
                packing.countDown();
                await(letGo);
                return HostPacking.onDisk(DiskSource.Registered.of("m", dev.offload.graph.BlockGraph.discover(m).tensors()));
            }));
            assertTrue(packing.await(20, TimeUnit.SECONDS));
            Future<HostPacking> second = threads.submit(() -> copies.packOrShare(key, List.of(), HostSource.DISK, () -> {
                packed.incrementAndGet();
                return HostPacking.onDisk(DiskSource.Registered.of("m", dev.offload.graph.BlockGraph.discover(m).tensors()));
            }));
            // another key packs while the first is packing: the table's lock is not held across a packing
            HostPacking third = threads.submit(() -> copies.packOrShare(ComponentSource.of(o), List.of(), HostSource.DISK,
                    () -> HostPacking.onDisk(DiskSource.Registered.of("o", dev.offload.graph.BlockGraph.discover(o).tensors())))).get(20, TimeUnit.SECONDS);
            assertEquals(2, copies.size());
            letGo.countDown();
            HostPacking a = first.get(20, TimeUnit.SECONDS), b = second.get(20, TimeUnit.SECONDS);
            assertSame(a, b, "the same key shares one copy");
            assertEquals(1, packed.get(), "the same key packed once");
            third.close();
            assertEquals(1, copies.size(), "the other key's copy, closed by its one holder, is forgotten");
            a.close();
            assertEquals(1, copies.size(), "one holder is left");
            b.close();
            assertEquals(0, copies.size(), "every holder closed: the table holds nothing");
            // a failed packing is forgotten too
            assertThrows(IllegalStateException.class, () -> copies.packOrShare(key, List.of(), HostSource.DISK, () -> {
                throw new IllegalStateException("no room");
            }));
            assertEquals(0, copies.size());
        } finally {
            letGoQuietly(threads);
        }
    }

    /** Through an offloader: a component replicated on two devices is packed once and forgotten once unregistered. */
    @Test
    void aReplicatedComponentsCopyIsForgottenOnceUnregistered() {
        Path file = dir.resolve("r.safetensors");
        SyntheticModel.write(file, 32, 2, 2, 7);
        try (Checkpoint m = Checkpoint.open(file)) {
            OffloadConfig config = OffloadConfig.builder().devices("host:0", "host:1").replicate(true).strategy(Strategy.GROUP_OFFLOAD)
                    .deviceBudget(8 << 20).build();
            DeviceSet devices = DeviceSet.open(config);
            try (devices) {
                devices.register("r", m);
                assertEquals(1, devices.hostCopies());
                devices.unregister("r");
                assertEquals(0, devices.hostCopies());
                assertEquals(null, devices.placement("r"));
            }
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            assertTrue(latch.await(20, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void letGoQuietly(ExecutorService threads) throws InterruptedException {
        threads.shutdownNow();
        assertTrue(threads.awaitTermination(20, TimeUnit.SECONDS));
    }
}
