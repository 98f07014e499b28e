package dev.offload.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.OffloadConfig;
import dev.offload.OffloadException;
import dev.offload.Offloader;
import dev.offload.Status;
import dev.offload.Strategy;
import dev.offload.TestBackends;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.workload.SyntheticModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host memory guard: a component whose pinned copy would not fit in MemAvailable less the
 * margin is refused before anything is pinned, with the numbers; a pinned allocation that fails
 * anyway is an error naming the component on every backend (the engine refuses pageable group
 * memory on the strict host backend as on cuda), and the slabs pinned before it are freed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostMemoryTest {
    static final int TOKENS = 2, HIDDEN = 32;
    Path dir;
    Checkpoint model;

    @BeforeAll
    void writeModel() throws Exception {
        dir = Files.createTempDirectory("offload-hostmem-");
        SyntheticModel.write(dir.resolve("model.safetensors"), 64, 2, 1, 5);
        model = Checkpoint.open(dir.resolve("model.safetensors"));
    }

    @AfterAll
    void closeModel() throws Exception {
        model.close();
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @AfterEach
    void resetHooks() {
        HostMemory.override = null;
        HostPacking.pinnedAllocator = null;
        System.clearProperty(HostMemory.AVAILABLE_PROPERTY);
    }

    @Test
    void memAvailableIsReadInKilobytesAndMissingIsEmpty(@TempDir Path tmp) throws Exception {
        Path meminfo = tmp.resolve("meminfo");
        Files.writeString(meminfo, "MemTotal:       16000000 kB\nMemFree:         1000 kB\nMemAvailable:    2048 kB\n");
        assertEquals(OptionalLong.of(2048L * 1024), HostMemory.memAvailable(meminfo));
        Files.writeString(meminfo, "MemTotal: 1 kB\n");
        assertEquals(OptionalLong.empty(), HostMemory.memAvailable(meminfo));
        assertEquals(OptionalLong.empty(), HostMemory.memAvailable(tmp.resolve("absent")));
        if (Files.isReadable(Path.of("/proc/meminfo"))) assertTrue(HostMemory.available().orElseThrow() > 0);
        System.setProperty(HostMemory.AVAILABLE_PROPERTY, "12345");
        assertEquals(OptionalLong.of(12345), HostMemory.available());
        System.setProperty(HostMemory.AVAILABLE_PROPERTY, "lots");
        assertEquals(Status.INVALID_ARGUMENT, assertThrows(OffloadException.class, HostMemory::available).status());
    }

    @Test
    void aCopyThatWouldNotFitIsRefusedBeforePinningWithTheNumbers() {
        long available = HostMemory.MARGIN_BYTES + model.totalBytes() / 2;
        System.setProperty(HostMemory.AVAILABLE_PROPERTY, Long.toString(available));
        try (Offloader off = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD)
                .source(dev.offload.HostSource.PINNED).build())) {
            OffloadException e = assertThrows(OffloadException.class, () -> off.register("transformer", model));
            assertEquals(Status.OUT_OF_HOST_MEMORY, e.status());
            String m = e.getMessage();
            assertTrue(m.contains("component 'transformer'") && m.contains(Long.toString(available)) && m.contains("disk"), m);
            long needed = Long.parseLong(m.replaceAll("(?s).*needs (\\d+) bytes.*", "$1"));
            assertTrue(needed >= model.totalBytes(), m);
            assertEquals(0, off.deviceInfo().hostUsedBytes(), "nothing was pinned");
            assertEquals(0, off.deviceInfo().usedBytes(), "nothing was taken from the device budget");
            assertTrue(off.components().isEmpty());
            // With room, the same registration succeeds.
            System.setProperty(HostMemory.AVAILABLE_PROPERTY, Long.toString(HostMemory.MARGIN_BYTES + 2 * model.totalBytes()));
            assertEquals(0, off.register("transformer", model).hostBytesPageable());
        }
    }

    /** No source given: where a pinned copy would not fit, a checkpoint read from files streams from disk instead, bit for bit. */
    @Test
    void withNoSourceGivenACopyThatWouldNotFitStreamsFromDisk() {
        long available = HostMemory.MARGIN_BYTES + model.totalBytes() / 2;
        System.setProperty(HostMemory.AVAILABLE_PROPERTY, Long.toString(available));
        try {
            OffloadConfig config = OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).build();
            dev.offload.workload.WorkloadRun.Result r = dev.offload.workload.WorkloadRun.run(model, config, "mix", 3, 2, 32, true, null);
            assertEquals(Boolean.TRUE, r.verified());
            assertEquals("disk", r.source());
            assertTrue(r.stagingBytes() > 0 && r.stagingBytes() < model.totalBytes(), "host memory is the staging ring: " + r.stagingBytes());
            assertTrue(r.peakHostBytes() < model.totalBytes(), "no pinned copy of the model: " + r.peakHostBytes());
            try (Offloader off = Offloader.open(config)) {
                assertEquals(dev.offload.HostSource.DISK, off.register("transformer", model).source());
                // with room, the default is the pinned copy
                System.setProperty(HostMemory.AVAILABLE_PROPERTY, Long.toString(HostMemory.MARGIN_BYTES + 2 * model.totalBytes()));
                assertEquals(dev.offload.HostSource.PINNED, off.register("other", dev.offload.graph.BlockGraph.discover(model)).source());
            }
        } finally {
            System.clearProperty(HostMemory.AVAILABLE_PROPERTY);
        }
    }

    /**
     * AUTO checks host memory only where the source holds a copy of the weights in host memory: with
     * DISK named, or no source named, a model twice the available memory runs (from disk, bit for
     * bit); with PINNED or LOWMEM named it is refused before anything is pinned, with the numbers.
     */
    @Test
    void autoChecksHostMemoryOnlyForASourceThatCopiesTheWeights() {
        long available = HostMemory.MARGIN_BYTES + model.totalBytes() / 2;
        System.setProperty(HostMemory.AVAILABLE_PROPERTY, Long.toString(available));
        try {
            for (dev.offload.HostSource source : new dev.offload.HostSource[] {dev.offload.HostSource.DISK, null}) {
                OffloadConfig.Builder b = OffloadConfig.builder().device("host").strategy(Strategy.AUTO).deviceBudget(model.totalBytes() / 2);
                if (source != null) b.source(source);
                dev.offload.workload.WorkloadRun.Result r = dev.offload.workload.WorkloadRun.run(model, b.build(), "mix", 3, 2, 32, true, null);
                assertEquals(Boolean.TRUE, r.verified(), "source " + source);
                assertEquals("disk", r.source(), "source " + source);
            }
            for (dev.offload.HostSource source : new dev.offload.HostSource[] {dev.offload.HostSource.PINNED, dev.offload.HostSource.LOWMEM}) {
                try (Offloader off = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.AUTO)
                        .deviceBudget(model.totalBytes() / 2).source(source).build())) {
                    OffloadException e = assertThrows(OffloadException.class, () -> off.register("transformer", model), "source " + source);
                    assertEquals(Status.OUT_OF_HOST_MEMORY, e.status());
                    assertTrue(e.getMessage().contains(Long.toString(available - HostMemory.MARGIN_BYTES)), e.getMessage());
                    assertEquals(0, off.deviceInfo().hostUsedBytes(), "nothing was pinned");
                }
            }
        } finally {
            System.clearProperty(HostMemory.AVAILABLE_PROPERTY);
        }
    }

    @Test
    void aSlabThatFailsToPinFreesTheSlabsPinnedBeforeAndNamesTheComponent() {
        List<dev.offload.plan.PackedGroup> packed = new ArrayList<>();
        for (var spec : dev.offload.graph.BlockGraph.discover(model).groups(dev.offload.graph.Grouping.blocks(1))) {
            packed.add(dev.offload.plan.PackedGroup.of(spec));
        }
        int[] calls = {0};
        HostPacking.pinnedAllocator = (runtime, size) -> {
            if (calls[0]++ == 1) throw new OffloadException(Status.OUT_OF_HOST_MEMORY, "pretend: mlock limit reached");
            return runtime.allocatePinned(size);
        };
        try (var runtime = dev.offload.runtime.DeviceRuntime.open("host", 1 << 20)) {
            OffloadException e = assertThrows(OffloadException.class, () -> HostPacking.pack(runtime, "m", packed, 1));  // one slab per group
            assertEquals(Status.OUT_OF_HOST_MEMORY, e.status());
            assertTrue(e.getMessage().contains("component 'm'") && e.getMessage().contains("pinned"), e.getMessage());
            assertEquals(2, calls[0], "stopped at the slab that failed");
            assertEquals(0, runtime.info().hostUsedBytes(), "the slab pinned before it was freed");
        }
    }

    /** The strict host backend as cuda: the engine refuses pageable group memory, so a failed pinning is an error, never a fallback. */
    @Test
    void aFailedPinningIsAnErrorNotAFallbackOnEveryBackend() {
        HostPacking.pinnedAllocator = (runtime, size) -> {
            throw new OffloadException(Status.OUT_OF_HOST_MEMORY, "pretend: mlock limit reached");
        };
        List<String> devices = new ArrayList<>(List.of("host"));
        if (TestBackends.cudaUnavailableBecause() == null) devices.add("cuda");
        for (String device : devices) {
            try (Offloader off = Offloader.open(OffloadConfig.builder().device(device).deviceBudget(64L << 20).build())) {
                OffloadException e = assertThrows(OffloadException.class, () -> off.register("m", model), device);
                assertEquals(Status.OUT_OF_HOST_MEMORY, e.status());
                assertTrue(e.getMessage().contains("component 'm'") && e.getMessage().contains("pinned"), e.getMessage());
                assertEquals(0, off.deviceInfo().hostUsedBytes(), device);
                assertEquals(0, off.deviceInfo().usedBytes(), device);
            }
        }
    }
}
