package dev.offload;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.graph.BlockGraph;
import dev.offload.graph.Grouping;
import dev.offload.plan.ComponentPlan;
import dev.offload.plan.PackedGroup;
import dev.offload.plan.PinPolicy;
import dev.offload.workload.ReferenceWorkload;
import dev.offload.workload.SyntheticModel;
import dev.offload.workload.WorkloadRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Pin policies and BLOCK_PIN end to end, written once and run on every backend present
 * (HostPinningTest, CudaPinningTest): pinned groups stay put and only the others are copied each
 * step, outputs equal the unoffloaded reference bit for bit, peaks stay within the budget, and peak
 * device memory is ordered as diffusers' group-offloading tests order it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class PinningSuite {
    static final int TOKENS = 2, HIDDEN = 32, STEPS = 3;
    Path dir;
    Checkpoint model;
    final WorkloadRun.Expected expected = new WorkloadRun.Expected();

    abstract String device();

    String unavailableBecause() {
        return null;
    }

    @BeforeEach
    void requireBackend() {
        String why = unavailableBecause();
        assumeTrue(why == null, why);
    }

    @BeforeAll
    void writeModel() throws java.io.IOException {
        dir = Files.createTempDirectory("offload-pin-");
        Path file = dir.resolve("model.safetensors");
        SyntheticModel.write(file, 64, 4, 3, 11);
        model = Checkpoint.open(file);
    }

    @AfterAll
    void closeModel() throws java.io.IOException {
        model.close();
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    OffloadConfig.Builder config() {
        return OffloadConfig.builder().device(device()).timing(Timing.GROUP);
    }

    List<PackedGroup> packed(Grouping grouping) {
        return BlockGraph.discover(model).groups(grouping).stream().map(PackedGroup::of).toList();
    }

    long workloadBytes() {
        return ReferenceWorkload.deviceBytes(TOKENS, HIDDEN);
    }

    /** Runs STEPS steps, checks the output against the reference and every step's copies; returns the plan. */
    ComponentPlan runAndCheck(OffloadConfig config) {
        try (Offloader off = Offloader.open(config); ReferenceWorkload w = new ReferenceWorkload(off, TOKENS, HIDDEN)) {
            Component c = off.register("m", model);
            int[] expect = ReferenceWorkload.initialState(TOKENS, HIDDEN, 7);
            w.load(expect);
            for (int s = 0; s < STEPS; s++) {
                w.step("m");
                ReferenceWorkload.referenceStep(expect, TOKENS, HIDDEN, c.graph().tensors());
            }
            assertArrayEquals(expect, w.read(), c.plan().describe());
            TestBackends.assertNoPageableCopies(off, c.plan().describe());
            for (int s = 1; s < STEPS; s++) {
                StepMetrics m = c.metrics(s, true);
                assertEquals(c.plan().streamedBytesPerStep(), m.h2dBytes(), "step " + s + " copies the streamed groups only\n" + c.plan().describe());
                assertTrue(m.peakDeviceBytes() <= off.deviceInfo().budgetBytes(), m.toString());
                assertEquals(0, m.pageableCopies(), m.toString());
            }
            return c.plan();
        }
    }

    @Test
    void pinPoliciesPinWhatTheySayAndTheRestStreamsBitExactly() {
        long roomy = model.totalBytes() + workloadBytes() + (1 << 16);
        int groups = packed(Grouping.blocks(1)).size();
        ComponentPlan firstLast = runAndCheck(config().deviceBudget(roomy).pin(PinPolicy.firstLast()).build());
        assertEquals(2, firstLast.pinnedGroups().size());
        assertTrue(firstLast.resident()[0] && firstLast.resident()[groups - 1]);
        ComponentPlan all = runAndCheck(config().deviceBudget(roomy).pin(PinPolicy.all()).build());
        assertEquals(groups, all.pinnedGroups().size());
        assertEquals(0, all.slots());
        ComponentPlan three = runAndCheck(config().deviceBudget(roomy).pin(PinPolicy.count(3)).build());
        assertEquals(3, three.pinnedGroups().size());
        ComponentPlan single = runAndCheck(config().deviceBudget(roomy)
                .pin(PinPolicy.matching((name, index, g) -> name.startsWith("single"))).build());
        List<String> singles = packed(Grouping.blocks(1)).stream().map(g -> g.spec().name()).filter(n -> n.startsWith("single")).toList();
        assertTrue(!singles.isEmpty() && singles.size() < groups, singles.toString());
        assertEquals(singles, single.pinnedGroups());
        ComponentPlan layerwise = runAndCheck(config().strategy(Strategy.LAYERWISE).window(2).deviceBudget(roomy).pin(PinPolicy.count(2)).build());
        assertTrue(layerwise.pinnedGroups().containsAll(List.of("head", "tail")) && layerwise.pinnedGroups().size() == 4,
                layerwise.describe());
    }

    @Test
    void invalidPoliciesFailAtRegistrationNamingTheComponent() {
        int groups = packed(Grouping.blocks(1)).size();
        try (Offloader off = Offloader.open(config().deviceBudget(model.totalBytes()).pin(PinPolicy.count(groups + 1)).build())) {
            OffloadException e = org.junit.jupiter.api.Assertions.assertThrows(OffloadException.class, () -> off.register("dit", model));
            assertTrue(e.getMessage().contains("component 'dit': pin policy count:" + (groups + 1)), e.getMessage());
            assertEquals(0, off.deviceInfo().usedBytes(), "nothing allocated for a refused plan");
        }
        PinPolicy throwing = PinPolicy.matching((name, index, g) -> {
            if (index == 2) throw new IllegalArgumentException("no rule for " + name);
            return false;
        });
        try (Offloader off = Offloader.open(config().deviceBudget(model.totalBytes()).pin(throwing).build())) {
            OffloadException e = org.junit.jupiter.api.Assertions.assertThrows(OffloadException.class, () -> off.register("dit", model));
            String third = packed(Grouping.blocks(1)).get(2).spec().name();
            assertTrue(e.getMessage().contains("component 'dit': the pin predicate threw on group '" + third + "' (index 2)")
                    && e.getCause() instanceof IllegalArgumentException, e.getMessage());
        }
    }

    @Test
    void blockPinAtSeveralBudgetsVerifiesBitExactlyAndCopiesOnlyWhatIsNotPinned() {
        List<PackedGroup> packed = packed(Grouping.blocks(1));
        long slot = packed.stream().mapToLong(g -> PackedGroup.alignUp(g.bytes())).max().orElseThrow();
        long total = packed.stream().mapToLong(PackedGroup::bytes).sum();
        List<Integer> pinnedCounts = new ArrayList<>();
        for (long budget : new long[] {2 * slot + workloadBytes(), 3 * slot + workloadBytes(), total / 2 + workloadBytes(),
                total - slot + workloadBytes(), total + workloadBytes()}) {
            OffloadConfig config = config().strategy(Strategy.BLOCK_PIN).deviceBudget(budget).build();
            WorkloadRun.Result r = WorkloadRun.run(model, config, STEPS, TOKENS, HIDDEN, true, expected);
            ComponentPlan plan = ComponentPlan.make("model", Strategy.BLOCK_PIN, packed, false, config.window(),
                    config.pinning("model"), budget - workloadBytes());
            String label = "budget " + budget + "\n" + r.plan();
            assertEquals(plan.describe(), r.plan(), "the run made the plan computed here");
            assertEquals(Boolean.TRUE, r.verified(), label);
            assertTrue(r.peakDeviceBytes() <= budget, label + ": peak " + r.peakDeviceBytes());
            assertEquals(plan.deviceBytes() + workloadBytes(), r.peakDeviceBytes(), label);
            long pinned = 0;
            for (int g = 0; g < packed.size(); g++) if (plan.resident()[g]) pinned += packed.get(g).bytes();
            assertEquals(total - pinned, r.h2dBytes(), label);
            pinnedCounts.add(plan.pinnedGroups().size());
        }
        assertEquals(List.copyOf(pinnedCounts.stream().sorted().toList()), pinnedCounts, "more budget, more pinned: " + pinnedCounts);
        assertEquals(packed.size(), pinnedCounts.getLast(), "a budget holding the model pins every group");
        assertTrue(pinnedCounts.stream().anyMatch(n -> n > 0 && n < packed.size()), "some budget pins part of the model: " + pinnedCounts);
    }

    @Test
    void peakDeviceMemoryIsOrderedLeafBlockOneBlockThreeNoOffload() {
        // Each streamed configuration at the smallest budget it accepts (one slot of its largest group),
        // as diffusers' group-offloading tests compare them.
        long leaf = peak(config().strategy(Strategy.GROUP_OFFLOAD).leafLevel().deviceBudget(minimal(Grouping.leaf())).build());
        long one = peak(config().strategy(Strategy.GROUP_OFFLOAD).blocksPerGroup(1).deviceBudget(minimal(Grouping.blocks(1))).build());
        long three = peak(config().strategy(Strategy.GROUP_OFFLOAD).blocksPerGroup(3).deviceBudget(minimal(Grouping.blocks(3))).build());
        long none = peak(config().strategy(Strategy.NO_OFFLOAD).build());
        String figures = "leaf " + leaf + ", block(1) " + one + ", block(3) " + three + ", no offload " + none;
        assertTrue(leaf <= one && one < three && three < none, figures);
        // Given room, the plan buys prefetch depth with it (8 slots at leaf level, 2 at block level),
        // so leaf may then exceed block(1); blocks stay ordered.
        long roomy = model.totalBytes() + workloadBytes() + (1 << 16);
        long oneRoomy = peak(config().strategy(Strategy.GROUP_OFFLOAD).blocksPerGroup(1).deviceBudget(roomy).build());
        long threeRoomy = peak(config().strategy(Strategy.GROUP_OFFLOAD).blocksPerGroup(3).deviceBudget(roomy).build());
        assertTrue(oneRoomy < threeRoomy && threeRoomy < none, oneRoomy + " < " + threeRoomy + " < " + none);
    }

    long minimal(Grouping grouping) {
        return packed(grouping).stream().mapToLong(g -> PackedGroup.alignUp(g.bytes())).max().orElseThrow() + workloadBytes();
    }

    long peak(OffloadConfig config) {
        WorkloadRun.Result r = WorkloadRun.run(model, config, 2, TOKENS, HIDDEN, true, expected);
        assertEquals(Boolean.TRUE, r.verified(), r.plan());
        return r.peakDeviceBytes();
    }
}
