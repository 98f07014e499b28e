package dev.offload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.plan.Plan;
import dev.offload.workload.SyntheticModel;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code plan()}'s measured mean covers the steps the device has finished, whether or not the
 * program read their figures (the README's per-component example prints {@code explain()} after
 * its steps and reads no metrics).
 */
class PlanMeasuredTest {
    @TempDir
    Path dir;

    @Test
    void explainShowsTheMeasuredMeanOfStepsTheProgramNeverRead() {
        Path file = dir.resolve("model.safetensors");
        SyntheticModel.write(file, 32, 2, 1, 5);
        try (Offloader off = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).build());
             Checkpoint ckpt = Checkpoint.open(file)) {
            Component c = off.register("transformer", ckpt);
            Plan before = off.plan();
            assertEquals(0, before.components().get(0).measuredSteps());
            assertTrue(!before.explain().contains("(mean of"), before.explain());
            for (int i = 0; i < 3; i++) {
                try (Step s = off.step("transformer")) {
                    for (Group g : s) g.tensors();
                }
            }
            off.computeStream().synchronize();
            Plan after = off.plan();
            Plan.Entry e = after.components().get(0);
            assertEquals(3, e.measuredSteps(), after.explain());
            assertTrue(e.measuredStepMs() >= 0, after.explain());
            assertTrue(after.explain().contains("(mean of 3)"), after.explain());
            assertEquals(3, c.totals().steps(), "the figures read for the plan are the component's totals too");
            // read again by the program: still three steps, not six
            c.metrics(2, true);
            assertEquals(3, off.plan().components().get(0).measuredSteps());
        }
    }
}
