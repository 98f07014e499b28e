package dev.offload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.plan.Plan;
import dev.offload.workload.SyntheticModel;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the README and the Offloader javadoc say of the API, beyond what their compiled snippets show:
 * {@code plan()}'s measured mean covers the steps the device has finished, whether or not the
 * program read their figures (the README's per-component example prints {@code explain()} after
 * its steps and reads no metrics); {@code Group.tensor} takes a tensor's full name.
 */
class ReadmeClaimsTest {
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

    @Test
    void groupTensorTakesTheFullNameAsInTheFile() {
        Path file = dir.resolve("model.safetensors");
        SyntheticModel.write(file, 32, 2, 1, 5);
        try (Offloader off = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).build());
             Checkpoint ckpt = Checkpoint.open(file)) {
            off.register("transformer", ckpt);
            int found = 0;
            try (Step s = off.step("transformer")) {
                for (Group g : s) {
                    if (g.tensors().stream().noneMatch(t -> t.name().startsWith("transformer_blocks.0."))) continue;
                    DeviceTensor q = g.tensor("transformer_blocks.0.attn.to_q.weight");
                    assertEquals("transformer_blocks.0.attn.to_q.weight", q.name());
                    assertEquals(32L * 32 * 2, q.byteSize());
                    OffloadException e = assertThrows(OffloadException.class, () -> g.tensor("attn.to_q.weight"));
                    assertTrue(e.getMessage().contains("has no tensor 'attn.to_q.weight'") && e.getMessage().contains(g.name()), e.getMessage());
                    found++;
                }
            }
            assertEquals(1, found, "one group holds block 0");
        }
    }
}
