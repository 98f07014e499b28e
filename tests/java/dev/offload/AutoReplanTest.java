package dev.offload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.graph.Grouping;
import dev.offload.plan.PackedGroup;
import dev.offload.plan.Plan;
import dev.offload.workload.SyntheticModel;
import dev.offload.workload.WorkloadRun;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AUTO without a compute profile on the host backend: the first steps run under the size rules,
 * step 1 is profiled, the component is re-planned with the measured compute, the prediction is
 * checked against a measured step, and the output stays the unoffloaded reference's bit for bit
 * through the engine swaps.
 */
class AutoReplanTest {
    @TempDir
    Path dir;

    @Test
    void autoProfilesItsSecondStepReplansAndStaysBitExact() {
        Path file = dir.resolve("model.safetensors");
        SyntheticModel.write(file, 64, 6, 6, 5);
        try (Checkpoint model = Checkpoint.open(file)) {
            long block = dev.offload.graph.BlockGraph.discover(model).groups(Grouping.blocks(1)).stream()
                    .mapToLong(g -> PackedGroup.alignUp(PackedGroup.of(g).bytes())).max().orElseThrow();
            long budget = model.totalBytes() / 2 + dev.offload.workload.ReferenceWorkload.deviceBytes(2, 32);
            OffloadConfig config = OffloadConfig.builder().device("host").strategy(Strategy.AUTO).h2dGbps(5).deviceBudget(budget).build();
            WorkloadRun.Result r = WorkloadRun.run(model, config, "mix", 8, 2, 32, true, null);
            assertEquals(Boolean.TRUE, r.verified(), r.plan());
            assertTrue(r.strategy().startsWith("auto: ") && !r.strategy().contains("blocks/group"), "the grouping stays: " + r.strategy());
            assertTrue(r.plan().contains("re-planned after step 1 with its profiled compute"), r.plan());
            assertTrue(r.plan().contains("from its compute profile"), r.plan());
            assertTrue(r.plan().contains(" against ") && r.plan().contains("ms predicted"), r.plan());
            assertTrue(r.plan().contains("measured") && r.plan().contains("(mean of 8)"), r.plan());
            assertTrue(r.peakDeviceBytes() <= budget, r.peakDeviceBytes() + " > " + budget);
            assertTrue(block > 0);
        }
    }

    @Test
    void aFixedStrategyIsNeverReplanned() {
        Path file = dir.resolve("fixed.safetensors");
        SyntheticModel.write(file, 64, 4, 4, 6);
        try (Checkpoint model = Checkpoint.open(file);
             Offloader off = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).h2dGbps(5)
                     .deviceBudget(model.totalBytes() / 2).build())) {
            Component c = off.register("model", model);
            var plan = c.plan();
            for (int s = 0; s < 4; s++) {
                try (Step step = off.step("model")) {
                    for (Group g : step) assertTrue(g.byteSize() > 0);
                }
            }
            assertTrue(plan == c.plan(), "same plan object");
            Plan p = off.plan();
            assertEquals(4, p.components().get(0).measuredSteps() + (4 - c.totals().steps()));
            assertTrue(p.explain().contains("group_offload as configured"), p.explain());
        }
    }

    /**
     * The lock rule (docs/ARCHITECTURE.md): AUTO's follow-up waits for the device (its profiled step's
     * figures) outside the offloader's lock, so another thread's step of another component goes on
     * meanwhile. Before, the follow-up waited under the lock and the other step waited for it.
     */
    @Test
    void anotherComponentsStepGoesOnWhileAutosFollowUpWaitsForTheDevice() throws Exception {
        Path a = dir.resolve("a.safetensors"), b = dir.resolve("b.safetensors");
        SyntheticModel.write(a, 64, 6, 6, 5);
        SyntheticModel.write(b, 64, 2, 2, 6);
        try (Checkpoint ca = Checkpoint.open(a); Checkpoint cb = Checkpoint.open(b);
             Offloader off = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.AUTO).strategy("b", Strategy.GROUP_OFFLOAD)
                     .h2dGbps(5).deviceBudget(ca.totalBytes() / 2 + cb.totalBytes()).build())) {
            off.register("a", ca);
            off.register("b", cb);
            java.util.function.IntConsumer stepA = slowMs -> {
                try (Step s = off.step("a")) {
                    boolean first = true;
                    for (Group g : s) {
                        if (first && slowMs > 0) s.computeStream().delay(java.time.Duration.ofMillis(slowMs));
                        first = false;
                    }
                }
            };
            stepA.accept(0);
            stepA.accept(600);  // step 1, the profiled one: the device is busy with it for 600 ms
            long[] aReturned = new long[1];
            java.util.concurrent.CountDownLatch calling = new java.util.concurrent.CountDownLatch(1);
            Thread t = new Thread(() -> {
                calling.countDown();
                stepA.accept(0);  // step 2: the follow-up reads step 1's figures first, waiting for the device
                aReturned[0] = System.nanoTime();
            }, "auto-follow-up");
            t.start();
            calling.await();
            Thread.sleep(100);  // the follow-up is waiting for step 1 now
            try (Step s = off.step("b")) {
                for (Group g : s) assertTrue(g.byteSize() > 0);
            }
            long bReturned = System.nanoTime();
            t.join(30_000);
            assertTrue(aReturned[0] > 0, "the AUTO component's step ran");
            assertTrue(bReturned < aReturned[0], "b's step waited for a's follow-up: b returned "
                    + (bReturned - aReturned[0]) / 1e6 + " ms after it");
            assertTrue(off.plan().explain().contains("re-planned after step 1"), off.plan().explain());
        }
    }
}
