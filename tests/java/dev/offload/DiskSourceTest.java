package dev.offload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.DType;
import dev.offload.graph.BlockGraph;
import dev.offload.graph.TensorRef;
import dev.offload.plan.PackedGroup;
import dev.offload.workload.SyntheticModel;
import dev.offload.workload.WorkloadRun;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The DISK and LOWMEM sources on the host backend: the mix workload's outputs equal the unoffloaded
 * reference bit for bit (as the PINNED source's do) for every strategy; a checkpoint many times the staging
 * ring streams with host memory bounded by the ring; a file truncated after registration is an IO
 * error naming it at a step, and the offloader still closes; a graph with no files is refused.
 */
class DiskSourceTest {
    static final int TOKENS = 2, HIDDEN = 32, STEPS = 3;

    @TempDir
    static Path dir;

    static Path model(String name, int dim, int doubles, int singles) {
        Path file = dir.resolve(name);
        if (!Files.exists(file)) SyntheticModel.write(file, dim, doubles, singles, 17);
        return file;
    }

    static long largestGroup(Checkpoint c, dev.offload.graph.Grouping grouping) {
        return BlockGraph.discover(c).groups(grouping).stream().mapToLong(g -> PackedGroup.alignUp(PackedGroup.of(g).bytes())).max()
                .orElseThrow();
    }

    /** Every strategy on both backends (cuda skipped by assumption where no GPU answers). */
    static Stream<Arguments> strategies() {
        return Stream.of("host", "cuda").flatMap(device -> Stream.of(Arguments.of(device, Strategy.NO_OFFLOAD, 0),
                Arguments.of(device, Strategy.GROUP_OFFLOAD, 1), Arguments.of(device, Strategy.GROUP_OFFLOAD, 2),
                Arguments.of(device, Strategy.GROUP_OFFLOAD, -1), Arguments.of(device, Strategy.LAYERWISE, 2),
                Arguments.of(device, Strategy.LAYERWISE, 3), Arguments.of(device, Strategy.BLOCK_PIN, 1),
                Arguments.of(device, Strategy.MODEL_OFFLOAD, 0), Arguments.of(device, Strategy.AUTO, 0)));
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("strategies")
    void diskOutputsAreBitIdenticalToPinnedOnes(String device, Strategy strategy, int shape) {
        if (device.equals("cuda")) {
            String why = TestBackends.cudaUnavailableBecause();
            org.junit.jupiter.api.Assumptions.assumeTrue(why == null, why);
        }
        try (Checkpoint c = Checkpoint.open(model("small.safetensors", 64, 4, 3))) {
            WorkloadRun.Expected expected = new WorkloadRun.Expected();
            long workload = dev.offload.workload.ReferenceWorkload.deviceBytes(TOKENS, HIDDEN);
            // The three sources, then DISK through a ring of two 4 KiB units (smaller than every
            // group) read with O_DIRECT, and DISK probing buffered against direct with three readers.
            for (int variant = 0; variant < 5; variant++) {
                HostSource source = variant < 3 ? HostSource.values()[variant] : HostSource.DISK;
                OffloadConfig.Builder b = OffloadConfig.builder().device(device).timing(Timing.GROUP).strategy(strategy).source(source);
                if (variant == 3) b.stagingBytes(8192).diskIo(DiskIo.DIRECT);
                if (variant == 4) b.diskIo(DiskIo.PROBE).readerThreads(3);
                if (strategy == Strategy.LAYERWISE) b.window(shape);
                if (shape == -1) b.leafLevel();
                else if (strategy != Strategy.LAYERWISE && shape > 0) b.blocksPerGroup(shape);
                var grouping = shape == -1 ? dev.offload.graph.Grouping.leaf() : dev.offload.graph.Grouping.blocks(Math.max(1, shape));
                if (strategy != Strategy.NO_OFFLOAD && strategy != Strategy.MODEL_OFFLOAD) b.deviceBudget(c.totalBytes() / 2 + 2 * largestGroup(c, grouping) + workload);
                WorkloadRun.Result r = WorkloadRun.run(c, b.build(), STEPS, TOKENS, HIDDEN, true, expected);
                String label = device + " " + strategy + " " + shape + " " + source + " variant " + variant;
                assertEquals(Boolean.TRUE, r.verified(), label + ": " + r.verifyNote());
                assertEquals(source.name().toLowerCase(java.util.Locale.ROOT), r.source());
                if (source != HostSource.PINNED) {
                    // No host copy: the pinned bytes are the staging ring and the workload's few small buffers.
                    assertTrue(r.stagingBytes() > 0, label);
                    // The peak is the offloader's whole life; AUTO may re-plan after its profiled step
                    // (measured compute, so it depends on the machine's load) and a plan that pins
                    // more streams less through a smaller ring: its first ring may have been the
                    // largest any plan takes, everything streamed.
                    long ring = r.stagingBytes();
                    if (strategy == Strategy.AUTO) {
                        long everything = c.totalBytes() + 4096L * c.tensors().size();  // each group rounded up to 4 KiB
                        ring = Math.max(ring, HostSource.stagingBytes(dev.offload.runtime.Backend.HOST, variant == 3 ? 8192 : 0, everything));
                    }
                    assertTrue(r.peakHostBytes() >= r.stagingBytes() && r.peakHostBytes() <= ring + 64 * 1024,
                            label + ": peak host " + r.peakHostBytes() + ", staging " + r.stagingBytes() + ", largest ring " + ring);
                    assertTrue(r.diskReadMs() > 0 && r.diskGbps() > 0, label);
                    DiskStats d = r.disk();
                    assertEquals(d.stagingBytes(), d.stagingSlots() * d.unitBytes(), label + ": " + d);
                    assertTrue(d.stagingSlots() >= 2, label + ": " + d);
                    if (variant < 4) {
                        String io = source == HostSource.LOWMEM ? "memory" : variant == 3 && TestBackends.directIoWorks(c.files().get(0)) ? "direct" : "buffered";
                        assertEquals(io, d.io(), label + ": " + d);
                    }
                    if (variant == 3) assertEquals(8192, d.stagingBytes(), label + ": " + d);
                    if (variant == 4) {
                        assertEquals(3, d.readerThreads(), label);
                        boolean streams = strategy == Strategy.GROUP_OFFLOAD || strategy == Strategy.LAYERWISE || strategy == Strategy.BLOCK_PIN;
                        if (streams && TestBackends.directIoWorks(c.files().get(0))) {
                            assertTrue(d.probeBufferedGbps() > 0 && d.probeDirectGbps() > 0, label + ": " + d);
                            assertEquals(d.probeDirectGbps() > d.probeBufferedGbps() ? "direct" : "buffered", d.io(), label + ": " + d);
                        }
                    }
                } else {
                    assertEquals(0, r.stagingBytes());
                    assertTrue(r.peakHostBytes() >= c.totalBytes(), label);
                }
            }
        }
    }

    @Test
    void aCheckpointManyTimesTheRingStreamsWithTheRingAsItsHostMemory() {
        try (Checkpoint c = Checkpoint.open(model("medium.safetensors", 128, 6, 10))) {
            long slot = largestGroup(c, dev.offload.graph.Grouping.blocks(1));
            long staging = slot / 2 / 8192 * 8192;  // a ring of half a group (two units): any group streams through it
            assertTrue(staging >= 8192 && c.totalBytes() > 20 * staging, c.totalBytes() + " vs " + staging);
            long workload = dev.offload.workload.ReferenceWorkload.deviceBytes(TOKENS, HIDDEN);
            OffloadConfig config = OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).source(HostSource.DISK)
                    .stagingBytes(staging + 100).deviceBudget(3 * slot + workload).build();
            int steps = 4;
            try (Offloader off = Offloader.open(config)) {
                Component comp = off.register("m", c);
                for (int s = 0; s < steps; s++) {
                    try (Step step = off.step("m")) {
                        for (Group g : step) assertTrue(g.tensors().size() > 0);
                    }
                }
                comp.metrics(steps - 1, true);
                DiskStats d = comp.diskStats();
                assertEquals(2, d.stagingSlots(), d.toString());
                assertEquals(staging, d.stagingBytes(), d.toString());
                assertEquals(staging / 2, d.unitBytes(), d.toString());
                long streamedPages = 0;
                for (int g = 0; g < comp.groupCount(); g++) {
                    if (!comp.plan().resident()[g]) streamedPages += (comp.plan().groups().get(g).bytes() + 4095) / 4096 * 4096;
                }
                // plan's preview computes the ring as the engine does: as given, and by default
                assertEquals(d.stagingBytes(), HostSource.stagingBytes(dev.offload.runtime.Backend.HOST, staging + 100, streamedPages));
                try (Offloader byDefault = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD)
                        .source(HostSource.DISK).deviceBudget(3 * slot + workload).build())) {
                    Component same = byDefault.register("m", c);
                    assertEquals(HostSource.stagingBytes(dev.offload.runtime.Backend.HOST, 0, streamedPages), same.diskStats().stagingBytes());
                }
                long streamed = 0, resident = 0;
                for (int g = 0; g < comp.groupCount(); g++) {
                    long tensorBytes = comp.plan().groups().get(g).spec().tensors().stream().mapToLong(TensorRef::byteSize).sum();
                    if (comp.plan().resident()[g]) resident += tensorBytes;
                    else streamed += tensorBytes;
                }
                assertTrue(streamed > 0);
                assertTrue(d.bytesRead() >= resident + steps * streamed && d.bytesRead() <= resident + (steps + 1) * streamed,
                        d + " for " + streamed + " streamed bytes a step");
                assertEquals(0, comp.hostBytes());
            }
        }
    }

    /** A copy of every tensor's bytes, outliving the checkpoint. */
    static java.util.Map<String, MemorySegment> copyOf(Path file, Arena arena) {
        java.util.Map<String, MemorySegment> out = new java.util.HashMap<>();
        try (Checkpoint c = Checkpoint.open(file)) {
            c.tensors().forEach(t -> {
                MemorySegment data = c.data(t);
                out.put(t.name(), arena.allocate(Math.max(1, data.byteSize())).asSlice(0, data.byteSize()).copyFrom(data));
            });
        }
        return out;
    }

    /**
     * Engines made after registration (MODEL_OFFLOAD turns, an override) read the regions taken at
     * registration, so the checkpoints may close first; and a file rewritten while its component is
     * swapped out is an IO error naming it at the next turn, never the new bytes streamed as the
     * registered weights (each new engine used to take the files as it found them).
     */
    @Test
    void laterEnginesReadTheRegisteredRegionsAndRefuseAFileChangedSince() throws Exception {
        Path a = dir.resolve("turns-a.safetensors"), b = dir.resolve("turns-b.safetensors");
        SyntheticModel.write(a, 64, 4, 3, 21);
        SyntheticModel.write(b, 64, 4, 3, 22);
        try (Arena arena = Arena.ofConfined()) {
            var expectedA = copyOf(a, arena);
            var expectedB = copyOf(b, arena);
            long size;
            try (Checkpoint c = Checkpoint.open(a)) {
                size = c.totalBytes();
            }
            OffloadConfig turns = OffloadConfig.builder().device("host").strategy(Strategy.MODEL_OFFLOAD).source(HostSource.DISK)
                    .stagingBytes(64 << 10).deviceBudget(size * 3 / 2).build();
            try (Offloader off = Offloader.open(turns)) {
                try (Checkpoint ca = Checkpoint.open(a); Checkpoint cb = Checkpoint.open(b)) {
                    off.register("a", ca);
                    off.register("b", cb);
                }
                assertEquals(expectedA.size(), LifecycleTest.stepAndCompare(off, "a", expectedA));
                assertEquals(expectedB.size(), LifecycleTest.stepAndCompare(off, "b", expectedB));  // a is swapped out
                assertEquals(expectedA.size(), LifecycleTest.stepAndCompare(off, "a", expectedA));  // a new engine for a
                assertEquals(expectedB.size(), LifecycleTest.stepAndCompare(off, "b", expectedB));
                SyntheticModel.write(a, 64, 4, 3, 23);  // same layout and size, other bytes, while a is out
                OffloadException e = assertThrows(OffloadException.class, () -> LifecycleTest.stepAndCompare(off, "a", expectedA));
                assertEquals(Status.IO, e.status(), e.getMessage());
                assertTrue(e.getMessage().contains(a.toString()) && e.getMessage().contains("changed since the component was registered"),
                        e.getMessage());
                assertEquals(expectedB.size(), LifecycleTest.stepAndCompare(off, "b", expectedB));  // b is not affected
            }
            OffloadConfig streamed = OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).source(HostSource.DISK)
                    .stagingBytes(64 << 10).deviceBudget(size / 2).build();
            try (Offloader off = Offloader.open(streamed)) {
                try (Checkpoint cb = Checkpoint.open(b)) {
                    off.register("b", cb);
                }
                try (ArrangementScope scope = off.override("b", Strategy.LAYERWISE)) {  // a new engine, the checkpoint closed
                    assertEquals(expectedB.size(), LifecycleTest.stepAndCompare(off, "b", expectedB));
                }
                assertEquals(expectedB.size(), LifecycleTest.stepAndCompare(off, "b", expectedB));
            }
        }
    }

    @Test
    void aFileTruncatedAfterRegistrationFailsAStepNamingItAndTheOffloaderStillCloses() throws IOException {
        Path file = dir.resolve("truncated.safetensors");
        Files.copy(model("small.safetensors", 64, 4, 3), file);
        try (Checkpoint c = Checkpoint.open(file)) {
            OffloadConfig config = OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).source(HostSource.DISK)
                    .deviceBudget(c.totalBytes() / 3).build();
            Offloader off = Offloader.open(config);
            try {
                off.register("m", c);
                try (Step step = off.step("m")) {
                    for (Group g : step) assertTrue(g.byteSize() > 0);
                }
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                    ch.truncate(ch.size() / 3);
                }
                OffloadException e = assertThrows(OffloadException.class, () -> {
                    for (int s = 0; s < 4; s++) {
                        try (Step step = off.step("m")) {
                            for (Group g : step) assertTrue(g.byteSize() > 0);
                        }
                    }
                });
                assertEquals(Status.IO, e.status(), e.getMessage());
                assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
                assertTrue(e.getMessage().contains("truncated"), e.getMessage());
                // What failed comes first: the read, its group and component, then the call that found it (issue 16).
                assertTrue(e.getMessage().matches("reading group \\d+ of component 'm' from '.*': .* \\(found when .* group \\d+ of component 'm'\\)"),
                        e.getMessage());
                // Sticky: the next step says so again.
                assertEquals(Status.IO, assertThrows(OffloadException.class, () -> {
                    try (Step step = off.step("m")) {
                        for (Group g : step) assertTrue(g.byteSize() > 0);
                    }
                }).status());
                // and so does reading figures, the failed step's (it never completes) and an earlier one's
                Component m = off.component("m");
                for (long s = 0; s < m.stepsStarted(); s++) {
                    long step = s;
                    OffloadException read = assertThrows(OffloadException.class, () -> m.metrics(step, true));
                    assertEquals(Status.IO, read.status(), "step " + step + ": " + read.getMessage());
                    assertTrue(read.getMessage().contains(file.toString()), read.getMessage());
                }
            } finally {
                off.close();
                off.close();
            }
        }
    }

    @Test
    void aFileRewrittenInPlaceWithTheSameSizeFailsAStepNamingIt() throws Exception {
        Path file = dir.resolve("rewritten.safetensors");
        Files.copy(model("small.safetensors", 64, 4, 3), file);
        try (Checkpoint c = Checkpoint.open(file);
             Offloader off = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).source(HostSource.DISK)
                     .deviceBudget(c.totalBytes() / 3).build())) {
            off.register("m", c);
            Thread.sleep(20);  // a later modification time, whatever the clock's tick
            long size = Files.size(file);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.allocate(4096), size - 4096);  // the same length, other bytes
            }
            assertEquals(size, Files.size(file));
            OffloadException e = assertThrows(OffloadException.class, () -> {
                for (int s = 0; s < 3; s++) {
                    try (Step step = off.step("m")) {
                        for (Group g : step) assertTrue(g.byteSize() > 0);
                    }
                }
            });
            assertEquals(Status.IO, e.status(), e.getMessage());
            assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("rewritten"), e.getMessage());
        }
    }

    @Test
    void aGraphWithNoFilesCannotStreamFromDisk() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(4096), b = arena.allocate(4096);
            BlockGraph graph = BlockGraph.builder().block("blocks", List.of(new TensorRef("blocks.0.w", DType.F32, new long[] {1024}, a)))
                    .block("blocks", List.of(new TensorRef("blocks.1.w", DType.F32, new long[] {1024}, b))).build();
            try (Offloader off = Offloader.open(OffloadConfig.builder().device("host").source(HostSource.DISK).build())) {
                OffloadException e = assertThrows(OffloadException.class, () -> off.register("synthetic", graph));
                assertEquals(Status.INVALID_ARGUMENT, e.status());
                assertTrue(e.getMessage().contains("blocks.0.w") && e.getMessage().contains("DISK"), e.getMessage());
            }
        }
    }

    @Test
    void lowmemKeepsOnePageableCopyStreamsAnyGraphAndPinsOnlyTheRing() {
        try (Arena arena = Arena.ofConfined()) {
            java.util.SplittableRandom random = new java.util.SplittableRandom(5);
            BlockGraph.Builder b = BlockGraph.builder();
            int blocks = 6, words = 3000;
            for (int i = 0; i < blocks; i++) {
                MemorySegment w = arena.allocate(4L * words);
                for (int k = 0; k < words; k++) w.setAtIndex(java.lang.foreign.ValueLayout.JAVA_INT, k, random.nextInt());
                b.block("blocks", List.of(new TensorRef("blocks." + i + ".w", DType.F32, new long[] {words}, w)));
            }
            BlockGraph graph = b.build();
            long slot = PackedGroup.alignUp(4L * words);
            try (Offloader off = Offloader.open(OffloadConfig.builder().device("host").source(HostSource.LOWMEM)
                    .deviceBudget(3 * slot).build())) {
                Component c = off.register("g", graph);
                assertTrue(c.hostBytesPageable() >= graph.totalBytes(), "pageable " + c.hostBytesPageable());
                try (dev.offload.runtime.PinnedBuffer out = off.runtime().allocatePinned(4L * words * blocks * 2)) {
                    for (int s = 0; s < 2; s++) {
                        try (Step step = off.step("g")) {
                            for (Group g : step) {  // each group's device bytes, read back in stream order
                                off.computeStream().copyToHost(g.tensors().get(0).devicePointer(),
                                        out.segment().asSlice((long) (s * blocks + g.index()) * 4 * words, 4L * words), 4L * words);
                            }
                        }
                    }
                    off.computeStream().synchronize();
                    for (int s = 0; s < 2; s++) {
                        for (int i = 0; i < blocks; i++) {
                            MemorySegment want = graph.tensors().get(i).data();
                            MemorySegment got = out.segment().asSlice((long) (s * blocks + i) * 4 * words, 4L * words);
                            assertEquals(-1, want.mismatch(got), "step " + s + " block " + i);
                        }
                    }
                }
                DiskStats d = c.diskStats();
                assertTrue(d.stagingBytes() > 0 && d.bytesRead() >= 2 * graph.totalBytes(), d.toString());
                assertTrue(off.deviceInfo().hostUsedBytes() < graph.totalBytes(), "pinned " + off.deviceInfo().hostUsedBytes());
            }
        }
    }

    @Test
    void aStagingRingBelowTwoPagesIsAClearError() {
        OffloadException e = assertThrows(OffloadException.class,
                () -> OffloadConfig.builder().device("host").source(HostSource.DISK).stagingBytes(4096).build());
        assertEquals(Status.INVALID_ARGUMENT, e.status());
        assertTrue(e.getMessage().contains("staging") && e.getMessage().contains("8192"), e.getMessage());
        OffloadException io = assertThrows(OffloadException.class,
                () -> OffloadConfig.builder().device("host").source(HostSource.LOWMEM).diskIo(DiskIo.DIRECT).build());
        assertTrue(io.getMessage().contains("DISK"), io.getMessage());
        assertThrows(OffloadException.class, () -> OffloadConfig.builder().readerThreads(65).build());
    }

    @Test
    void configsCheckTheSource() {
        assertThrows(OffloadException.class, () -> OffloadConfig.builder().stagingBytes(1 << 20).build());  // needs DISK
        assertThrows(OffloadException.class, () -> OffloadConfig.builder().source(HostSource.DISK).stagingBytes(-1).build());
        assertThrows(OffloadException.class, () -> HostSource.parse("floppy"));
        assertEquals(HostSource.DISK, HostSource.parse(" Disk "));
        assertEquals(HostSource.AUTO, OffloadConfig.builder().build().source());  // not given: chosen per component at registration
    }
}
