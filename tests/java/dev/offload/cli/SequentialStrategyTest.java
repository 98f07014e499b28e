package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.offload.workload.SyntheticModel;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * SEQUENTIAL (accelerate's sequential CPU offload): one slot, no prefetch, bit for bit the
 * unoffloaded reference, within the budget; at block and leaf level. Its peak is the largest
 * streamed group's slot plus the workload's buffers, below GROUP_OFFLOAD's two slots.
 */
class SequentialStrategyTest {
    @TempDir
    static Path dir;

    static JsonObject run(Path model, String strategy, String... grouping) {
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("run", model.toString(), "--device", "host", "--budget",
                "600KiB", "--strategy", strategy, "--steps", "3", "--verify", "--json"));
        args.addAll(java.util.List.of(grouping));
        InfoCommandTest.Result r = InfoCommandTest.run(args.toArray(String[]::new));
        assertEquals(0, r.exit(), r.err());
        return JsonParser.parseString(r.out()).getAsJsonObject();
    }

    @ParameterizedTest
    @ValueSource(strings = {"--blocks-per-group 1", "--leaf"})
    void oneSlotNoPrefetchBitExactWithinTheBudget(String grouping) {
        Path model = dir.resolve("m.safetensors");
        if (!model.toFile().exists()) SyntheticModel.write(model, 64, 3, 2, 11);
        String[] g = grouping.split(" ");
        JsonObject seq = run(model, "sequential", g);
        assertTrue(seq.get("strategy").getAsString().startsWith("sequential"), seq.toString());
        assertTrue(seq.get("verified").getAsBoolean());
        assertEquals(0, seq.get("pageable_copies").getAsLong(), seq.toString());  // the steady state never waits on a pageable copy
        assertEquals(1, seq.get("slots").getAsInt());
        assertTrue(seq.get("peak_device_bytes").getAsLong() <= seq.get("budget_bytes").getAsLong(), seq.toString());
        JsonObject group = run(model, "group_offload", g);
        assertTrue(group.get("slots").getAsInt() >= 2, group.toString());
        assertTrue(seq.get("peak_device_bytes").getAsLong() < group.get("peak_device_bytes").getAsLong(),
                "one slot holds less than two: " + seq.get("peak_device_bytes") + " vs " + group.get("peak_device_bytes"));
        java.util.List<String> planArgs = new java.util.ArrayList<>(java.util.List.of("plan", model.toString(), "--budget", "600KiB",
                "--strategy", "sequential", "--h2d-gbps", "10", "--json"));
        planArgs.addAll(java.util.List.of(g));
        InfoCommandTest.Result plan = InfoCommandTest.run(planArgs.toArray(String[]::new));
        assertEquals(0, plan.exit(), plan.err());
        JsonObject c = JsonParser.parseString(plan.out()).getAsJsonObject().getAsJsonArray("components").get(0).getAsJsonObject();
        assertEquals(1, c.get("slots").getAsInt());
        assertEquals(0, c.get("prefetch_depth").getAsInt());
    }
}
