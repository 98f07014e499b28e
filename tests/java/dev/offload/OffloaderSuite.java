package dev.offload;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.graph.GroupSpec;
import dev.offload.graph.Grouping;
import dev.offload.graph.TensorRef;
import dev.offload.plan.PackedGroup;
import dev.offload.workload.ReferenceWorkload;
import dev.offload.workload.SyntheticModel;
import dev.offload.workload.WorkloadRun;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The streaming engine end to end, written once and run on every backend present
 * (HostOffloaderTest, CudaOffloaderTest; cuda is skipped by assumption where no GPU answers):
 * every strategy and grouping, at budgets down to the smallest legal one, gives the unoffloaded
 * reference's output bit for bit; the ring survives slow compute with deep prefetch, a host steps
 * ahead and early-closed steps; the host waits at most once per step; misuse gets clear errors.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class OffloaderSuite {
    static final int TOKENS = 2, HIDDEN = 32, STEPS = 3;
    Path dir;
    Checkpoint model;
    WorkloadRun.Expected expected = new WorkloadRun.Expected();

    @BeforeAll
    void writeModel() throws java.io.IOException {
        dir = java.nio.file.Files.createTempDirectory("offload-suite-");
        Path file = dir.resolve("model.safetensors");
        SyntheticModel.write(file, 64, 4, 3, 11);
        model = Checkpoint.open(file);
    }

    @AfterAll
    void closeModel() throws java.io.IOException {
        model.close();
        try (var walk = java.nio.file.Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    long largestGroup(Grouping grouping) {
        return dev.offload.graph.BlockGraph.discover(model).groups(grouping).stream()
                .mapToLong(g -> PackedGroup.alignUp(PackedGroup.of(g).bytes())).max().orElseThrow();
    }

    long workloadBytes() {
        return ReferenceWorkload.deviceBytes(TOKENS, HIDDEN);
    }

    /** "host" or "cuda". */
    abstract String device();

    /** Why this backend cannot run here, or null (each test is then skipped, not failed). */
    String unavailableBecause() {
        return null;
    }

    @BeforeEach
    void requireBackend() {
        String why = unavailableBecause();
        assumeTrue(why == null, why);
    }

    /** GROUP timing: these tests check the per-group figures too (STEP, the default, is tested on its own). */
    OffloadConfig.Builder host() {
        return OffloadConfig.builder().device(device()).timing(Timing.GROUP);
    }

    Stream<Arguments> configurations() {
        List<Arguments> out = new ArrayList<>();
        out.add(Arguments.of("no_offload", host().strategy(Strategy.NO_OFFLOAD).build()));
        for (Grouping grouping : List.of(Grouping.blocks(1), Grouping.blocks(2), Grouping.blocks(3), Grouping.leaf())) {
            long slot = largestGroup(grouping);
            for (long budget : new long[] {slot + workloadBytes(), 2 * slot + workloadBytes(), model.totalBytes() / 2 + 3 * slot}) {
                out.add(Arguments.of("group_offload " + grouping + " budget " + budget,
                        host().strategy(Strategy.GROUP_OFFLOAD).grouping(grouping).deviceBudget(budget).build()));
            }
        }
        long block = largestGroup(Grouping.blocks(1));
        for (int window : new int[] {1, 2, 3, 5}) {
            for (long budget : new long[] {block + workloadBytes(), window * block + workloadBytes(), model.totalBytes()}) {
                out.add(Arguments.of("layerwise window " + window + " budget " + budget,
                        host().strategy(Strategy.LAYERWISE).window(window).deviceBudget(budget).build()));
            }
        }
        // AUTO: no offload where the model fits with headroom; streamed (GROUP_OFFLOAD: 3 blocks < 8) where it does not
        for (long budget : new long[] {2 * block + workloadBytes(), model.totalBytes() / 2 + 3 * block, 2 * model.totalBytes() + workloadBytes()}) {
            out.add(Arguments.of("auto budget " + budget, host().strategy(Strategy.AUTO).h2dGbps(5).deviceBudget(budget).build()));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configurations")
    void everyStrategyGroupingAndBudgetMatchesTheUnoffloadedReferenceBitForBit(String label, OffloadConfig config) {
        WorkloadRun.Result r = WorkloadRun.run(model, config, STEPS, TOKENS, HIDDEN, true, expected);
        assertEquals(Boolean.TRUE, r.verified(), label);
        assertTrue(r.peakDeviceBytes() <= r.budgetBytes(), label + ": peak " + r.peakDeviceBytes() + " > budget " + r.budgetBytes());
        // One host copy: the model's bytes plus alignment padding, never twice the model.
        long padding = 4096L * r.groups() + 256L * model.tensors().size();
        assertTrue(r.peakHostBytes() >= model.totalBytes() && r.peakHostBytes() <= model.totalBytes() + padding,
                label + ": host " + r.peakHostBytes() + " for a model of " + model.totalBytes());
        assertEquals(STEPS, r.perStep().size());
        for (StepMetrics m : r.perStep()) {
            assertTrue(m.stepMs() > 0 && m.computeMs() > 0, label);
            if (!r.strategy().contains("no_offload")) assertTrue(m.h2dBytes() > 0 && m.copyMs() > 0, label);
        }
    }

    Stream<Arguments> skipConfigurations() {
        long block = largestGroup(Grouping.blocks(1));
        return Stream.of(
                Arguments.of("group_offload 2 slots", host().strategy(Strategy.GROUP_OFFLOAD).deviceBudget(2 * block).build()),
                Arguments.of("group_offload 1 slot", host().strategy(Strategy.GROUP_OFFLOAD).deviceBudget(block + 256).build()),
                Arguments.of("layerwise window 3, 2 steps ahead", host().strategy(Strategy.LAYERWISE).window(3).stepsAhead(2).build()),
                Arguments.of("leaf level", host().strategy(Strategy.GROUP_OFFLOAD).leafLevel().deviceBudget(model.totalBytes() / 3).build()),
                Arguments.of("block_pin", host().strategy(Strategy.BLOCK_PIN).deviceBudget(model.totalBytes() / 2).build()));
    }

    /**
     * Steps that skip groups (a cache hit skipping blocks or the rest of a step, diffusers' "blocks
     * skipped in some steps"): every group that runs sees exactly its weights (copied back, in
     * stream order, into pinned memory and compared byte for byte), whatever was skipped before it,
     * and a step copies at most the groups it runs plus what was already prefetched.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("skipConfigurations")
    void skippedGroupsLeaveTheRingInOrderAndEveryGroupThatRunsSeesItsWeights(String label, OffloadConfig config) {
        java.util.Random random = new java.util.Random(label.hashCode());
        try (Offloader off = Offloader.open(config);
             dev.offload.runtime.PinnedBuffer back = off.runtime().allocatePinned(model.totalBytes() + 4096)) {
            Component c = off.register("model", model);
            long streamedTotal = c.plan().streamedBytesPerStep();
            int skippedSomewhere = 0;
            for (int s = 0; s < 10; s++) {
                List<dev.offload.DeviceTensor> seen = new ArrayList<>();
                List<Long> at = new ArrayList<>();
                long offset = 0;
                try (Step step = off.step("model")) {
                    var it = step.iterator();
                    int g = 0;
                    while (it.hasNext()) {
                        if (random.nextInt(3) == 0) {  // skip one, two or the rest
                            int n = random.nextInt(4) == 0 ? c.groupCount() - g : Math.min(1 + random.nextInt(2), c.groupCount() - g);
                            step.skip(n);
                            g += n;
                            skippedSomewhere += n;
                            continue;
                        }
                        Group group = it.next();
                        assertEquals(g++, group.index(), label);
                        for (dev.offload.DeviceTensor t : group.tensors()) {
                            step.computeStream().copyToHost(t.devicePointer(), back.segment().asSlice(offset, t.byteSize()), t.byteSize());
                            seen.add(t);
                            at.add(offset);
                            offset += t.byteSize();
                        }
                    }
                }
                step_sync(off);
                for (int i = 0; i < seen.size(); i++) {
                    dev.offload.DeviceTensor t = seen.get(i);
                    long mismatch = back.segment().asSlice(at.get(i), t.byteSize()).mismatch(model.data(model.tensor(t.name())));
                    assertEquals(-1, mismatch, label + ": step " + s + ", tensor " + t.name());
                }
                StepMetrics m = c.metrics(s, true);
                assertTrue(m.h2dBytes() <= streamedTotal, label + ": " + m.h2dBytes() + " > " + streamedTotal);
            }
            assertTrue(skippedSomewhere > 0, label);
        }
    }

    private static void step_sync(Offloader off) {
        off.computeStream().synchronize();
    }

    /** diffusers' ordering of peak device memory: leaf <= block (1 per group) < block (3 per group) < no offload, each verified. */
    @Test
    void peakDeviceMemoryIsOrderedLeafBlockOfOneBlockOfThreeNoOffload() {
        List<OffloadConfig> configs = List.of(host().strategy(Strategy.GROUP_OFFLOAD).leafLevel().build(),
                host().strategy(Strategy.GROUP_OFFLOAD).blocksPerGroup(1).build(),
                host().strategy(Strategy.GROUP_OFFLOAD).blocksPerGroup(3).build(), host().strategy(Strategy.NO_OFFLOAD).build());
        long[] peaks = new long[configs.size()];
        for (int i = 0; i < peaks.length; i++) {
            WorkloadRun.Result r = WorkloadRun.run(model, configs.get(i), 2, TOKENS, HIDDEN, true, expected);
            assertEquals(Boolean.TRUE, r.verified(), r.strategy());
            peaks[i] = r.peakDeviceBytes();
        }
        assertTrue(peaks[0] <= peaks[1] && peaks[1] < peaks[2] && peaks[2] < peaks[3], java.util.Arrays.toString(peaks));
    }

    @Test
    void theReferenceDependsOnEveryByte() {
        List<TensorRef> order = dev.offload.graph.BlockGraph.discover(model).tensors();
        int[] base = ReferenceWorkload.initialState(TOKENS, HIDDEN, 7);
        int[] a = base.clone();
        ReferenceWorkload.referenceStep(a, TOKENS, HIDDEN, order);
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            TensorRef first = order.get(0);
            var changed = arena.allocate(first.byteSize());
            changed.copyFrom(first.data());
            long last = first.byteSize() - 1;
            changed.set(java.lang.foreign.ValueLayout.JAVA_BYTE, last, (byte) (changed.get(java.lang.foreign.ValueLayout.JAVA_BYTE, last) ^ 0x10));
            List<TensorRef> altered = new ArrayList<>(order);
            altered.set(0, new TensorRef(first.name(), first.dtype(), first.shape(), changed));
            int[] b = base.clone();
            ReferenceWorkload.referenceStep(b, TOKENS, HIDDEN, altered);
            assertFalse(java.util.Arrays.equals(a, b), "flipping one bit of the first tensor's last byte must change the output");
        }
    }

    /** Runs steps with a delay queued before each group's compute, so each kernel reads its slot late. */
    int[] runWithSlowCompute(OffloadConfig config, int steps, int delayMicros) {
        try (Offloader off = Offloader.open(config); ReferenceWorkload w = new ReferenceWorkload(off, TOKENS, HIDDEN)) {
            off.register("m", model);
            w.load(ReferenceWorkload.initialState(TOKENS, HIDDEN, 7));
            for (int s = 0; s < steps; s++) {
                try (Step step = off.step("m")) {
                    for (Group g : step) {
                        step.computeStream().delay(Duration.ofNanos(delayMicros * 1000L));
                        for (DeviceTensor t : g.tensors()) w.layer(t);
                    }
                }
            }
            int[] out = w.read();
            TestBackends.assertNoPageableCopies(off, "slow compute");
            return out;
        }
    }

    int[] referenceAfter(int steps) {
        List<TensorRef> order = dev.offload.graph.BlockGraph.discover(model).tensors();
        int[] s = ReferenceWorkload.initialState(TOKENS, HIDDEN, 7);
        for (int i = 0; i < steps; i++) ReferenceWorkload.referenceStep(s, TOKENS, HIDDEN, order);
        return s;
    }

    @Test
    void aSlotIsNeverOverwrittenWhileItsComputeIsPendingUnderSlowComputeAndDeepPrefetch() {
        long block = largestGroup(Grouping.blocks(1));
        OffloadConfig deep = host().strategy(Strategy.LAYERWISE).window(6).deviceBudget(6 * block + workloadBytes() + (1 << 20)).build();
        assertArrayEquals(referenceAfter(2), runWithSlowCompute(deep, 2, 3000));
        OffloadConfig leaf = host().strategy(Strategy.GROUP_OFFLOAD).leafLevel().deviceBudget(1 << 20).build();
        assertArrayEquals(referenceAfter(1), runWithSlowCompute(leaf, 1, 300));
    }

    @Test
    void aStepClosedEarlyKeepsTheRingInOrder() {
        OffloadConfig config = host().strategy(Strategy.LAYERWISE).window(3).deviceBudget(model.totalBytes() / 2).build();
        List<GroupSpec> groups = dev.offload.graph.BlockGraph.discover(model).groups(Grouping.blocks(1));
        int[] expect = ReferenceWorkload.initialState(TOKENS, HIDDEN, 7);
        for (int g = 0; g < 3; g++) ReferenceWorkload.referenceStep(expect, TOKENS, HIDDEN, groups.get(g).tensors());
        ReferenceWorkload.referenceStep(expect, TOKENS, HIDDEN, dev.offload.graph.BlockGraph.discover(model).tensors());
        try (Offloader off = Offloader.open(config); ReferenceWorkload w = new ReferenceWorkload(off, TOKENS, HIDDEN)) {
            off.register("m", model);
            w.load(ReferenceWorkload.initialState(TOKENS, HIDDEN, 7));
            try (Step step = off.step("m")) {
                int n = 0;
                for (Group g : step) {
                    for (DeviceTensor t : g.tensors()) w.layer(t);
                    if (++n == 3) break;
                }
            }
            w.step("m");
            assertArrayEquals(expect, w.read());
            TestBackends.assertNoPageableCopies(off, "steps");
        }
    }

    @Test
    void theHostRunsAStepAheadWithoutWaitingThenWaitsOncePerStep() {
        OffloadConfig config = host().strategy(Strategy.GROUP_OFFLOAD).deviceBudget(model.totalBytes()).build();
        try (Offloader off = Offloader.open(config); ReferenceWorkload w = new ReferenceWorkload(off, TOKENS, HIDDEN)) {
            Component c = off.register("m", model);
            long usedAfterRegister = off.deviceInfo().usedBytes();
            int[] expect = ReferenceWorkload.initialState(TOKENS, HIDDEN, 7);
            w.load(expect);
            long t0 = System.nanoTime();
            for (int s = 0; s < 2; s++) {  // step 0 holds the device for 500 ms; the host queues steps 0 and 1 meanwhile
                try (Step step = off.step("m")) {
                    for (Group g : step) {
                        if (s == 0 && g.index() == 0) step.computeStream().delay(Duration.ofMillis(500));
                        w.group(g);
                    }
                }
            }
            double queueMs = (System.nanoTime() - t0) / 1e6;
            assertTrue(queueMs < 450, "queueing two steps took " + queueMs + " ms: the host waited for the device's 500 ms");
            assertEquals(null, c.metrics(0, false), "step 0 is still running on the device: reading never blocks");
            w.step("m");  // step 2 may start only when step 0 is done: one wait, at its first acquire
            StepMetrics first = c.metrics(0, true);
            assertTrue(first.stepMs() >= 490 && first.computeMs() >= 490, first.toString());
            StepMetrics[] all = {first, c.metrics(1, true), c.metrics(2, true)};
            assertEquals(0, all[0].hostWaits());
            assertEquals(0, all[1].hostWaits());
            assertEquals(1, all[2].hostWaits(), all[2].toString());
            assertTrue(all[2].hostBlockedMs() > 100, all[2].toString());
            for (int s = 0; s < 3; s++) ReferenceWorkload.referenceStep(expect, TOKENS, HIDDEN, c.graph().tensors());
            assertArrayEquals(expect, w.read());
            TestBackends.assertNoPageableCopies(off, "steps");
            assertEquals(Status.NOT_READY, assertThrows(OffloadException.class, () -> c.metrics(3, true)).status());
            assertEquals(usedAfterRegister, off.deviceInfo().usedBytes(), "no device allocation in the steady state");
        }
    }

    @Test
    void underSlowComputeTheHostBlocksOnlyInTheOneWaitPerStep() {
        // 20 ms of compute per group: a protocol that made acquire wait for a slot would put most of
        // each step's device time into the host's acquire/release time outside the back-pressure wait.
        long block = largestGroup(Grouping.blocks(1));
        OffloadConfig config = host().strategy(Strategy.GROUP_OFFLOAD).deviceBudget(2 * block + workloadBytes()).build();
        try (Offloader off = Offloader.open(config); ReferenceWorkload w = new ReferenceWorkload(off, TOKENS, HIDDEN)) {
            Component c = off.register("m", model);
            w.load(ReferenceWorkload.initialState(TOKENS, HIDDEN, 7));
            long[] hostNanos = new long[5];
            for (int s = 0; s < hostNanos.length; s++) {
                Step step = off.step("m");
                for (Group g : step) {
                    step.computeStream().delay(Duration.ofMillis(20));
                    w.group(g);
                }
                step.close();
                hostNanos[s] = step.hostNanos();
            }
            double deviceMs = 20.0 * c.groupCount();
            for (int s = 2; s < hostNanos.length; s++) {
                StepMetrics m = c.metrics(s, true);
                double outsideWaitMs = hostNanos[s] / 1e6 - m.hostBlockedMs();
                assertEquals(1, m.hostWaits(), m.toString());
                assertTrue(m.hostBlockedMs() > deviceMs / 2, "the one wait held the host for the device: " + m);
                assertTrue(outsideWaitMs < deviceMs / 3, "step " + s + ": " + outsideWaitMs + " ms in acquire/release outside the "
                        + "back-pressure wait, with " + deviceMs + " ms of device work: something else blocked");
            }
        }
    }

    @Test
    void stepTimingIsTheDefaultAndGivesStepAndCopySpans() {
        long block = largestGroup(Grouping.blocks(1));
        OffloadConfig config = OffloadConfig.builder().device(device()).strategy(Strategy.GROUP_OFFLOAD)
                .deviceBudget(2 * block + workloadBytes()).build();
        assertEquals(Timing.STEP, config.timing());
        WorkloadRun.Result r = WorkloadRun.run(model, config, 4, TOKENS, HIDDEN, true, expected);
        assertEquals(Boolean.TRUE, r.verified());
        for (StepMetrics m : r.perStep()) {
            assertTrue(m.stepMs() > 0 && m.copyBusyMs() > 0, m.toString());
            assertTrue(Double.isNaN(m.computeMs()) && Double.isNaN(m.computeIdleMs()) && Double.isNaN(m.copyMs()), m.toString());
        }
        OffloadConfig off = OffloadConfig.builder().device(device()).strategy(Strategy.NO_OFFLOAD).timing(Timing.OFF).build();
        WorkloadRun.Result none = WorkloadRun.run(model, off, 2, TOKENS, HIDDEN, true, expected);
        assertEquals(Boolean.TRUE, none.verified());
        assertTrue(Double.isNaN(none.perStep().get(1).stepMs()));
    }

    @Test
    void twoSlotsSlowComputeAndTheHostAStepAheadStayBitExact() {
        // Every copy of step s + 1 is queued while the device still computes step s from the same two
        // slots: a copy that did not wait for the right release would overwrite weights in use.
        long block = largestGroup(Grouping.blocks(1));
        OffloadConfig two = host().strategy(Strategy.GROUP_OFFLOAD).stepsAhead(1).deviceBudget(2 * block + workloadBytes()).build();
        assertArrayEquals(referenceAfter(3), runWithSlowCompute(two, 3, 2000));
        OffloadConfig far = host().strategy(Strategy.GROUP_OFFLOAD).stepsAhead(3).deviceBudget(2 * block + workloadBytes()).build();
        assertArrayEquals(referenceAfter(4), runWithSlowCompute(far, 4, 1000));
    }

    @Test
    void runReportsAtMostOneHostWaitPerStep() {
        long block = largestGroup(Grouping.blocks(1));
        OffloadConfig config = host().strategy(Strategy.GROUP_OFFLOAD).deviceBudget(2 * block + workloadBytes()).build();
        WorkloadRun.Result r = WorkloadRun.run(model, config, 6, TOKENS, HIDDEN, true, expected);
        assertEquals(Boolean.TRUE, r.verified());
        assertTrue(r.hostWaitsPerStep() <= 1.0, "waits per step " + r.hostWaitsPerStep());
        for (StepMetrics m : r.perStep()) {
            assertTrue(m.hostWaits() <= 1, m.toString());
            assertTrue(m.copyBusyMs() >= m.copyMs() * 0.99 - 0.01, m.toString());
            assertTrue(m.computeIdleMs() >= 0 && m.computeIdleMs() <= m.stepMs() + 0.01, m.toString());
        }
    }

    @Test
    void twoComponentsShareTheStreamsAndTheBudget() {
        Path second = dir.resolve("second.safetensors");
        SyntheticModel.write(second, 96, 2, 2, 99);
        try (Checkpoint other = Checkpoint.open(second);
             Offloader off = Offloader.open(host().strategy(Strategy.LAYERWISE).window(2).deviceBudget(2 << 20).build());
             ReferenceWorkload w = new ReferenceWorkload(off, TOKENS, HIDDEN)) {
            Component a = off.register("a", model);
            Component b = off.register("b", other);
            assertTrue(off.deviceInfo().usedBytes() <= 2 << 20);
            assertEquals(a.plan().deviceBytes() + b.plan().deviceBytes() + ReferenceWorkload.deviceBytes(TOKENS, HIDDEN),
                    off.deviceInfo().usedBytes());
            int[] expect = ReferenceWorkload.initialState(TOKENS, HIDDEN, 7);
            w.load(expect);
            for (int s = 0; s < 3; s++) {  // alternate, as a text encoder and a transformer would
                w.step("a");
                w.step("b");
                ReferenceWorkload.referenceStep(expect, TOKENS, HIDDEN, a.graph().tensors());
                ReferenceWorkload.referenceStep(expect, TOKENS, HIDDEN, b.graph().tensors());
            }
            assertArrayEquals(expect, w.read());
            TestBackends.assertNoPageableCopies(off, "steps");
            assertEquals(off.components(), List.of(a, b));
        }
    }

    @Test
    void misuseGetsClearErrors() {
        long block = largestGroup(Grouping.blocks(1));
        OffloadConfig tooSmall = host().strategy(Strategy.GROUP_OFFLOAD).deviceBudget(block - 256).build();
        try (Offloader off = Offloader.open(tooSmall)) {
            OffloadException e = assertThrows(OffloadException.class, () -> off.register("m", model));
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().contains(String.valueOf(block - 256)) && e.getMessage().contains(String.valueOf(block)), e.getMessage());
            assertTrue(e.getMessage().contains("smaller than the largest group"), e.getMessage());
        }
        OffloadConfig noRoom = host().strategy(Strategy.NO_OFFLOAD).deviceBudget(model.totalBytes() / 2).build();
        try (Offloader off = Offloader.open(noRoom)) {
            OffloadException e = assertThrows(OffloadException.class, () -> off.register("m", model));
            assertTrue(e.getMessage().contains("NO_OFFLOAD needs"), e.getMessage());
        }

        Offloader off = Offloader.open(host().deviceBudget(model.totalBytes()).build());
        Component registered = off.register("m", model);
        assertSame(registered, off.register("m", model), "the same files under the same name: shared");
        assertEquals(2, registered.references());
        OffloadException twice = assertThrows(OffloadException.class, () -> off.register("m", dev.offload.graph.BlockGraph.discover(model)));
        assertEquals(Status.INVALID_ARGUMENT, twice.status());
        assertTrue(twice.getMessage().contains("registered already from"), twice.getMessage());
        OffloadException unknown = assertThrows(OffloadException.class, () -> off.step("vae"));
        assertTrue(unknown.getMessage().contains("no component named 'vae'") && unknown.getMessage().contains("[m]"), unknown.getMessage());

        Step step = off.step("m");
        OffloadException nested = assertThrows(OffloadException.class, () -> off.step("m"));
        assertTrue(nested.getMessage().contains("already has an open step"), nested.getMessage());
        var it = step.iterator();
        Group first = it.next();
        assertNotNull(first.tensors());
        Group second = it.next();
        assertTrue(assertThrows(IllegalStateException.class, first::tensors).getMessage().contains("step 0 released the group"));
        assertThrows(OffloadException.class, step::iterator);
        AtomicReference<Throwable> fromOtherThread = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                it.next();
            } catch (Throwable x) {
                fromOtherThread.set(x);
            }
        });
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        assertTrue(fromOtherThread.get() instanceof OffloadException && fromOtherThread.get().getMessage().contains("belongs to thread"));
        Component m = off.component("m");
        Thread reader = new Thread(() -> {
            try {
                m.metrics(0, false);
            } catch (Throwable x) {
                fromOtherThread.set(x);
            }
        });
        reader.start();
        try {
            reader.join();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        assertTrue(fromOtherThread.get().getMessage().contains("running a step on another thread"), fromOtherThread.get().getMessage());
        step.close();
        assertThrows(IllegalStateException.class, second::tensors);  // a released group: use after release
        assertEquals(Status.CLOSED, assertThrows(OffloadException.class, it::next).status());
        try (Step again = off.step("m")) {
            assertNotNull(again);
        }
        off.close();
        off.close();
        assertEquals(Status.CLOSED, assertThrows(OffloadException.class, () -> off.step("m")).status());
        assertEquals(Status.CLOSED, assertThrows(OffloadException.class, off::computeStream).status());
    }

    @Test
    void configsAreValidatedWhenBuilt() {
        assertThrows(OffloadException.class, () -> host().deviceBudget(-1).build());
        assertThrows(OffloadException.class, () -> host().window(0).build());
        assertThrows(OffloadException.class, () -> host().strategy(Strategy.LAYERWISE).leafLevel().build());
        assertThrows(OffloadException.class, () -> host().device(" ").build());
        assertThrows(OffloadException.class, () -> host().blocksPerGroup(0));
        assertEquals(Strategy.LAYERWISE, Strategy.parse("layerwise"));
        assertEquals(Strategy.GROUP_OFFLOAD, Strategy.parse("group-offload"));
        assertEquals(Strategy.BLOCK_PIN, Strategy.parse("block_pin"));
        assertEquals(Strategy.MODEL_OFFLOAD, Strategy.parse("model-offload"));
        assertEquals(Strategy.AUTO, Strategy.parse("AUTO"));
        assertThrows(OffloadException.class, () -> Strategy.parse("model_level"));
        assertThrows(OffloadException.class, () -> host().strategy(Strategy.MODEL_OFFLOAD).pin(dev.offload.plan.PinPolicy.firstLast()).build());
        assertThrows(OffloadException.class, () -> host().strategy(Strategy.AUTO).pin(dev.offload.plan.PinPolicy.count(2)).build());
        assertThrows(OffloadException.class, () -> host().h2dGbps(-1).build());
        assertThrows(OffloadException.class, () -> host().strategy(Strategy.BLOCK_PIN).pin(dev.offload.plan.PinPolicy.all()).build());
    }

    /**
     * Close from another thread while steps with slow compute run: the stepping thread either
     * finishes its current step or fails with CLOSED (an IllegalStateException, use after close,
     * where a group's tensors are read once its component is closed), and nothing else (no other
     * error, no crash); a second close is a no-op. Many rounds, closing at varying moments.
     */
    @Test
    void closingWhileAStepRunsOnAnotherThreadFailsTheStepCleanly() throws Exception {
        long block = largestGroup(Grouping.blocks(1));
        OffloadConfig config = host().strategy(Strategy.GROUP_OFFLOAD).stepsAhead(1).deviceBudget(2 * block + workloadBytes()).build();
        java.util.Random random = new java.util.Random(9);
        int namingTheComponent = 0;
        for (int round = 0; round < 24; round++) {
            Offloader off = Offloader.open(config);
            off.register("m", model);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            java.util.concurrent.CountDownLatch stepping = new java.util.concurrent.CountDownLatch(1);
            Thread stepper = new Thread(() -> {
                try {
                    while (true) {
                        try (Step step = off.step("m")) {
                            for (Group g : step) {
                                stepping.countDown();
                                step.computeStream().delay(Duration.ofNanos(200_000));
                                for (DeviceTensor t : g.tensors()) assertTrue(t.devicePointer().address() != 0);
                            }
                        }
                    }
                } catch (Throwable e) {
                    failure.set(e);
                }
            }, "stepper-" + round);
            stepper.start();
            assertTrue(stepping.await(10, java.util.concurrent.TimeUnit.SECONDS));
            Thread.sleep(random.nextInt(4));
            off.close();
            off.close();  // idempotent
            stepper.join(10_000);
            assertFalse(stepper.isAlive(), "the stepping thread ended");
            Throwable e = failure.get();
            assertTrue(e instanceof OffloadException o && o.status() == Status.CLOSED
                    || e instanceof IllegalStateException && e.getMessage().contains("component 'm' is closed"), "round " + round + ": " + e);
            for (Throwable suppressed : e.getSuppressed()) {
                assertTrue(suppressed instanceof OffloadException o && o.status() == Status.CLOSED, "suppressed: " + suppressed);
            }
            assertTrue(e.getMessage().contains("component 'm'") || e.getMessage().contains("stream"), e.getMessage());
            if (e.getMessage().contains("component 'm'")) namingTheComponent++;
            assertEquals(Status.CLOSED, assertThrows(OffloadException.class, () -> off.step("m")).status());
        }
        assertTrue(namingTheComponent > 0, "most failures name the component");
    }

    /**
     * Another allocation takes the rest of the device budget mid-run: the registered component keeps
     * stepping; registering another fails with OUT_OF_DEVICE_MEMORY and the numbers; after closing
     * everything the runtime's used bytes are back to zero.
     */
    @Test
    void deviceMemoryTakenByAnotherAllocationIsAClearErrorAndNothingLeaks() {
        long block = largestGroup(Grouping.blocks(1));
        long budget = 4 * block + workloadBytes();
        try (Offloader off = Offloader.open(host().strategy(Strategy.GROUP_OFFLOAD).deviceBudget(budget).build())) {
            Component a = off.register("a", model);
            List<dev.offload.runtime.DeviceBuffer> hog = new ArrayList<>();
            for (long size = budget - off.deviceInfo().usedBytes(); size > 0; ) {
                try {
                    hog.add(off.runtime().allocateDevice(size));
                } catch (OffloadException e) {
                    assertEquals(Status.OUT_OF_DEVICE_MEMORY, e.status(), e.getMessage());
                    size /= 2;
                }
            }
            long used = off.deviceInfo().usedBytes();
            long left = budget - used;
            assertTrue(left < block, "the budget is full: " + left + " left");
            for (int s = 0; s < 2; s++) {
                try (Step step = off.step("a")) {
                    for (Group g : step) assertTrue(g.tensors().get(0).devicePointer().address() != 0);
                }
            }
            OffloadException e = assertThrows(OffloadException.class, () -> off.register("b", model));
            assertEquals(Status.OUT_OF_DEVICE_MEMORY, e.status(), e.getMessage());
            String m = e.getMessage();
            assertTrue(m.contains("component 'b'") && m.contains("a budget of " + budget + " bytes less " + used + " bytes in use")
                    && m.contains("leaves " + left + " bytes") && m.contains(String.valueOf(block)), m);
            assertEquals(used, off.deviceInfo().usedBytes(), "the failed registration took nothing");
            hog.forEach(dev.offload.runtime.DeviceBuffer::close);
            a.close();
            a.close();
            assertEquals(0, off.deviceInfo().usedBytes(), "nothing leaks");
            assertEquals(Status.CLOSED, assertThrows(OffloadException.class, () -> off.step("a")).status());
        }
    }
}
