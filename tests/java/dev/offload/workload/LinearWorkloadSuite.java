package dev.offload.workload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.offload.Group;
import dev.offload.OffloadConfig;
import dev.offload.OffloadException;
import dev.offload.Offloader;
import dev.offload.Step;
import dev.offload.Strategy;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.graph.BlockGraph;
import dev.offload.graph.BlockList;
import dev.offload.graph.Grouping;
import dev.offload.graph.TensorRef;
import dev.offload.plan.PackedGroup;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
 * The linear workload end to end, written once and run per backend (HostLinearWorkloadTest,
 * CudaLinearWorkloadTest): every strategy verifies within tolerance on a small Llama-shaped model,
 * and the tolerance is proven tight enough: one poisoned weight, or two blocks swapped (a stale or
 * misplaced slot), in the reference makes verification fail.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class LinearWorkloadSuite {
    static final int DIM = 64, BLOCKS = 4, TOKENS = 8, STEPS = 3;
    Path dir;
    Checkpoint model;

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
        dir = Files.createTempDirectory("offload-linear-");
        Path file = dir.resolve("linear.safetensors");
        LinearModel.write(file, DIM, BLOCKS, 3);
        model = Checkpoint.open(file);
    }

    @AfterAll
    void closeModel() throws java.io.IOException {
        model.close();
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    long slot() {
        return BlockGraph.discover(model).groups(Grouping.blocks(1)).stream()
                .mapToLong(g -> PackedGroup.alignUp(PackedGroup.of(g).bytes())).max().orElseThrow();
    }

    OffloadConfig.Builder config() {
        return OffloadConfig.builder().device(device());
    }

    @Test
    void discoveryMakesOneBlockPerLayer() {
        List<BlockList> lists = BlockGraph.discover(model).blockLists();
        assertEquals(1, lists.size());
        assertEquals("model.layers", lists.get(0).prefix());
        assertEquals(BLOCKS, lists.get(0).blocks().size());
        assertEquals(DIM, LinearWorkload.dimOf(model));
        assertEquals(LinearModel.bytes(DIM, BLOCKS), model.totalBytes());
    }

    @Test
    void everyStrategyVerifiesWithinTolerance() {
        long budget = 2 * slot() + LinearWorkload.deviceBytes(TOKENS, DIM);
        for (OffloadConfig c : List.of(config().strategy(Strategy.NO_OFFLOAD).build(),
                config().strategy(Strategy.GROUP_OFFLOAD).grouping(Grouping.blocks(1)).deviceBudget(budget).build(),
                config().strategy(Strategy.GROUP_OFFLOAD).grouping(Grouping.blocks(2)).build(),
                config().strategy(Strategy.GROUP_OFFLOAD).grouping(Grouping.leaf()).deviceBudget(budget).build(),
                config().strategy(Strategy.LAYERWISE).window(2).deviceBudget(budget).build())) {
            WorkloadRun.Result r = WorkloadRun.run(model, c, "linear", STEPS, TOKENS, 0, true, null);
            assertEquals(Boolean.TRUE, r.verified(), r.strategy() + ": " + r.verifyNote());
            assertEquals("linear", r.workload());
            assertTrue(r.peakDeviceBytes() <= r.budgetBytes(), r.strategy());
        }
    }

    @Test
    void aPoisonedWeightOrAStaleBlockFailsVerification() {
        List<TensorRef> order = BlockGraph.discover(model).tensors();
        try (Arena arena = Arena.ofConfined()) {
            // One weight of block 2's down_proj set to 4.0 (the others are below 0.5/sqrt(256)).
            List<TensorRef> poisoned = new ArrayList<>(order);
            for (int i = 0; i < poisoned.size(); i++) {
                TensorRef t = poisoned.get(i);
                if (!t.name().equals("model.layers.2.mlp.down_proj.weight")) continue;
                MemorySegment copy = arena.allocate(t.byteSize());
                copy.copyFrom(t.data());
                copy.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2 * 37, Bf16.fromFloat(4f));
                poisoned.set(i, new TensorRef(t.name(), t.dtype(), t.shape(), copy));
            }
            // Block 1 run with block 2's weights: what a stale or misplaced slot would compute.
            List<TensorRef> stale = new ArrayList<>(order);
            for (int i = 0; i < stale.size(); i++) {
                TensorRef t = stale.get(i);
                if (!t.name().startsWith("model.layers.1.")) continue;
                TensorRef other = BlockGraph.discover(model).tensors().stream()
                        .filter(o -> o.name().equals(t.name().replace("layers.1.", "layers.2."))).findFirst().orElseThrow();
                stale.set(i, new TensorRef(t.name(), t.dtype(), t.shape(), other.data()));
            }
            OffloadConfig c = config().strategy(Strategy.GROUP_OFFLOAD).grouping(Grouping.blocks(1)).build();
            try (Offloader off = Offloader.open(c); LinearWorkload w = new LinearWorkload(off, TOKENS, DIM, STEPS)) {
                off.register("model", model);
                w.start(order);
                for (int s = 0; s < STEPS; s++) {
                    try (Step step = off.step("model")) {
                        for (Group g : step) w.group(g);
                    }
                    w.snapshot(s);
                }
                assertNull(w.verify(STEPS, order, new Workload.Expected()));
                LinearWorkload.State ref = LinearWorkload.initialReference(TOKENS, DIM, 7);
                for (int s = 0; s < STEPS; s++) LinearWorkload.referenceStep(ref, TOKENS, DIM, order);
                double clean = LinearTolerance.worstError(w.snapshotOf(STEPS - 1), ref.x(), 2 * BLOCKS * STEPS);
                System.out.printf("linear on %s: worst error %.3f of the tolerance%n", device(), clean);
                assertTrue(clean <= 0.5, "the unpoisoned run uses at most half the tolerance, used " + clean);
                String p = w.verify(STEPS, poisoned, new Workload.Expected());
                assertNotNull(p, "one poisoned weight must fail verification");
                assertTrue(p.startsWith("linear: step 0:"), p);
                assertNotNull(w.verify(STEPS, stale, new Workload.Expected()), "a stale block must fail verification");
                LinearWorkload.State staleRef = LinearWorkload.initialReference(TOKENS, DIM, 7);
                LinearWorkload.referenceStep(staleRef, TOKENS, DIM, stale);
                double off1 = LinearTolerance.worstError(w.snapshotOf(0), staleRef.x(), 2 * BLOCKS);
                System.out.printf("linear on %s: a stale block is off by %.1f tolerances%n", device(), off1);
                assertTrue(off1 > 4, "a stale block is far outside the tolerance, got " + off1);
            }
        }
    }

    @Test
    void leafGroupsComputeTheSameFunctionAsBlocks() {
        WorkloadRun.Result blocks = WorkloadRun.run(model, config().strategy(Strategy.GROUP_OFFLOAD).grouping(Grouping.blocks(1)).build(),
                "linear", 2, TOKENS, 0, true, null);
        WorkloadRun.Result leaf = WorkloadRun.run(model, config().strategy(Strategy.GROUP_OFFLOAD).grouping(Grouping.leaf()).build(),
                "linear", 2, TOKENS, 0, true, null);
        assertEquals(Boolean.TRUE, blocks.verified(), blocks.verifyNote());
        assertEquals(Boolean.TRUE, leaf.verified(), leaf.verifyNote());
        assertEquals(6 * BLOCKS, leaf.groups());
    }

    @Test
    void executionOrderIsTheCheckpointsNameOrder() {
        // Checkpoints list a block's weights by name (down, up, k, o, q, v); the products follow it.
        List<String> block0 = BlockGraph.discover(model).tensors().stream().map(TensorRef::name)
                .filter(n -> n.startsWith("model.layers.0.")).toList();
        assertEquals(List.of("mlp.down_proj.weight", "mlp.up_proj.weight", "self_attn.k_proj.weight", "self_attn.o_proj.weight",
                "self_attn.q_proj.weight", "self_attn.v_proj.weight"), block0.stream().map(n -> n.substring("model.layers.0.".length())).toList());
    }
}
