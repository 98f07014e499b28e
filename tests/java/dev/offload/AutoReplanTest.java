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
}
