package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.offload.workload.SyntheticModel;
import dev.offload.workload.WorkloadSweep;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./offload sweep}: one process, every variant at every token count, balanced first, each
 * line verified with its fields; the block-level pinned copy made once and shared by every variant
 * (block as registered; leaf, layerwise and sequential through overrides, leaf's groups slices of
 * it; disk pins only its staging ring), so the pinned peak stays one copy of the model.
 */
class SweepCommandTest {
    @TempDir
    static Path dir;

    @Test
    void everyVariantAtEveryTokenCountOnePinningBalancedFirst() {
        Path model = dir.resolve("m.safetensors");
        SyntheticModel.write(model, 256, 2, 1, 7);  // about 6 MiB: a second pinned copy would show in the peak beside the workload's buffers
        InfoCommandTest.Result r = InfoCommandTest.run("sweep", model.toString(), "--device", "host", "--budget", "64MiB", "--steps", "3",
                "--hidden", "32",
                "--warmup", "1", "--counts", "3", "--json");
        assertEquals(0, r.exit(), r.err());
        List<JsonObject> lines = new ArrayList<>();
        for (String line : r.out().strip().split("\n")) lines.add(JsonParser.parseString(line).getAsJsonObject());
        assertEquals(5 * 3, lines.size(), r.out());
        int balanced = lines.get(0).get("balanced_tokens").getAsInt();
        assertEquals(balanced, lines.get(0).get("tokens").getAsInt(), "the balanced count comes first");
        assertTrue(lines.get(0).get("copy_only_ms").getAsDouble() > 0 && lines.get(0).get("compute_probe_ms").getAsDouble() > 0,
                "balance measured from a copy-only and a compute pass: " + lines.get(0));
        Map<String, List<Integer>> tokens = new LinkedHashMap<>();
        long model1 = lines.get(0).get("model_bytes").getAsLong();
        for (JsonObject j : lines) {
            String v = j.get("variant").getAsString();
            tokens.computeIfAbsent(v, k -> new ArrayList<>()).add(j.get("tokens").getAsInt());
            assertTrue(j.get("verified").getAsBoolean(), j.toString());
            assertTrue(j.get("step_ms_median").getAsDouble() > 0, j.toString());
            double overlap = j.get("overlap_efficiency").getAsDouble();
            // > 0 and finite; on the loaded host backend a leaf step's summed copy events can exceed its period, so no upper bound
            assertTrue(overlap > 0 && Double.isFinite(overlap), j.toString());
            double host = j.get("host_us_per_group").getAsDouble();
            assertTrue(host > 0 && host < 10_000, j.toString());
            assertEquals(balanced, j.get("balanced_tokens").getAsInt());
            // one pinned packing for every variant, leaf included (its groups are slices of the block-level copy); disk adds none
            assertEquals(1, j.get("packings").getAsInt(), j.toString());
            long peak = j.get("pinned_peak_bytes").getAsLong();
            assertTrue((v.equals("disk") || peak >= model1) && peak <= model1 + model1 / 20,
                    "the pinned peak stays one copy of the model (within 1.05x; disk: its staging ring): " + j);
        }
        assertEquals(WorkloadSweep.VARIANTS, List.copyOf(tokens.keySet()), "the pinned variants in the order given, disk last");
        List<Integer> expected = WorkloadSweep.tokenCounts(balanced, 3);
        for (var e : tokens.entrySet()) assertEquals(expected, e.getValue(), e.getKey());
        assertTrue(lines.stream().filter(j -> j.get("variant").getAsString().equals("leaf"))
                .allMatch(j -> j.get("groups").getAsInt() > lines.get(0).get("groups").getAsInt()), "leaf groups are tensors");
        assertTrue(lines.stream().filter(j -> j.get("variant").getAsString().equals("disk")).allMatch(j -> j.get("source").getAsString().equals("disk")));
        assertTrue(lines.stream().filter(j -> j.get("variant").getAsString().equals("sequential")).allMatch(j -> j.get("slots").getAsInt() == 1));
    }

    @Test
    void tokenCountsGoOutwardFromTheBalance() {
        assertEquals(List.of(64, 32, 128, 16, 256), WorkloadSweep.tokenCounts(64, 5));
        assertEquals(List.of(1, 2, 4), WorkloadSweep.tokenCounts(1, 3));
        assertEquals(List.of(65536, 32768, 16384), WorkloadSweep.tokenCounts(65536, 3));
        assertEquals(List.of(48), WorkloadSweep.tokenCounts(48, 1));
    }

    @Test
    void aSubsetOfVariantsAndBadOnesRefused() {
        Path model = dir.resolve("s.safetensors");
        SyntheticModel.write(model, 64, 2, 1, 3);
        InfoCommandTest.Result r = InfoCommandTest.run("sweep", model.toString(), "--device", "host", "--variants", "leaf,block", "--counts", "1",
                "--steps", "2", "--warmup", "1", "--json");
        assertEquals(0, r.exit(), r.err());
        List<String> variants = r.out().strip().lines().map(l -> JsonParser.parseString(l).getAsJsonObject().get("variant").getAsString()).toList();
        assertEquals(List.of("leaf", "block"), variants, "the order given");
        InfoCommandTest.Result bad = InfoCommandTest.run("sweep", model.toString(), "--variants", "block,turbo");
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("unknown sweep variant 'turbo'"), bad.err());
        InfoCommandTest.Result none = InfoCommandTest.run("sweep", model.toString(), "--workload", "none");
        assertEquals(2, none.exit());
        assertTrue(none.err().contains("--workload must be mix or linear"), none.err());
    }
}
