package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.offload.graph.BlockGraph;
import dev.offload.graph.Grouping;
import dev.offload.plan.PackedGroup;
import dev.offload.workload.ReferenceWorkload;
import dev.offload.workload.SyntheticModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ./offload plan} and {@code run} over a pipeline folder: issue 8's CLI acceptance. */
class PlanCommandTest {
    @TempDir
    static Path dir;
    static Path pipeline, single;
    static final Map<String, Long> SIZES = new LinkedHashMap<>();

    @BeforeAll
    static void write() throws Exception {
        pipeline = dir.resolve("pipe");
        SyntheticModel.write(Files.createDirectories(pipeline.resolve("text_encoder")).resolve("model.safetensors"), 48, 2, 2, 1);
        SyntheticModel.write(Files.createDirectories(pipeline.resolve("transformer")).resolve("diffusion_pytorch_model.safetensors"), 64, 5, 5, 2);
        SyntheticModel.write(Files.createDirectories(pipeline.resolve("vae")).resolve("diffusion_pytorch_model.safetensors"), 32, 1, 1, 3);
        Files.writeString(pipeline.resolve("model_index.json"), "{\"_class_name\": \"P\", \"text_encoder\": [\"a\", \"B\"],"
                + " \"transformer\": [\"c\", \"D\"], \"vae\": [\"e\", \"F\"]}");
        try (var p = dev.offload.checkpoint.Pipeline.open(pipeline)) {
            p.components().forEach((name, c) -> SIZES.put(name, BlockGraph.discover(c).groups(Grouping.blocks(1)).stream()
                    .mapToLong(g -> PackedGroup.alignUp(PackedGroup.of(g).bytes())).sum()));
        }
        single = dir.resolve("model.safetensors");
        SyntheticModel.write(single, 64, 10, 2, 4);
    }

    static JsonObject json(String... argv) {
        InfoCommandTest.Result r = InfoCommandTest.run(argv);
        assertEquals(0, r.exit(), r.err());
        return JsonParser.parseString(r.out()).getAsJsonObject();
    }

    static List<String> names(JsonArray a) {
        List<String> out = new ArrayList<>();
        a.forEach(e -> out.add(e.getAsJsonObject().get("name").getAsString()));
        return out;
    }

    @Test
    void planOnAPipelineGivesOneEntryPerComponentWithTheFields() {
        long largest = SIZES.values().stream().mapToLong(Long::longValue).max().orElseThrow();
        JsonObject j = json("plan", pipeline.toString(), "--device", "host", "--budget", String.valueOf(largest * 2), "--h2d-gbps", "5", "--json");
        JsonArray components = j.getAsJsonArray("components");
        assertEquals(List.of("text_encoder", "transformer", "vae"), names(components));
        for (String field : List.of("strategy", "pinned_groups", "predicted_step_ms", "device_bytes", "host_bytes", "reason")) {
            assertTrue(j.has(field), field);
            components.forEach(c -> assertTrue(c.getAsJsonObject().has(field), field + " in " + c));
        }
        // the largest x 1.5 fits, all three do not: they take turns
        assertEquals("model_offload", j.get("strategy").getAsString(), j.toString());
        assertEquals(largest, j.get("device_bytes").getAsLong());
        assertTrue(j.get("reason").getAsString().contains("model_offload"), j.toString());
        // a fixed strategy, in words
        InfoCommandTest.Result text = InfoCommandTest.run("plan", pipeline.toString(), "--device", "host", "--strategy", "group_offload",
                "--h2d-gbps", "5");
        assertEquals(0, text.exit(), text.err());
        assertTrue(text.out().contains("component 'transformer': group_offload (1 block/group)") && text.out().contains("as configured"), text.out());
    }

    @Test
    void planOfAModelTwiceTheBudgetStreamsItAndSaysWhy() {
        JsonObject j = json("plan", single.toString(), "--device", "host", "--budget", String.valueOf(SIZES.get("transformer")),
                "--h2d-gbps", "5", "--json");
        assertEquals("block_pin", j.get("strategy").getAsString(), j.toString());  // 10 repeated blocks >= 8
        assertTrue(j.get("predicted_step_ms").getAsDouble() > 0);
        assertTrue(j.get("reason").getAsString().contains("10 repeated blocks >= 8"), j.toString());
        assertTrue(j.getAsJsonArray("pinned_groups").size() > 0, j.toString());
        // too little host memory for a pinned copy: disk, said so
        JsonObject disk = json("plan", single.toString(), "--device", "host", "--budget", String.valueOf(SIZES.get("transformer")),
                "--h2d-gbps", "5", "--host-memory", String.valueOf(dev.offload.memory.HostMemory.MARGIN_BYTES + j.get("host_bytes").getAsLong() / 2),
                "--json");
        String reason = disk.getAsJsonArray("components").get(0).getAsJsonObject().get("reason").getAsString();
        assertTrue(reason.contains("would not fit the available host memory") && reason.contains("streamed from its files"), reason);
        assertTrue(disk.get("host_bytes").getAsLong() < j.get("host_bytes").getAsLong(), disk.toString());
        // --source disk: the staging ring it names, less than the model; pinned with too little is refused with the numbers
        JsonObject named = json("plan", single.toString(), "--device", "host", "--budget", String.valueOf(SIZES.get("transformer")),
                "--h2d-gbps", "5", "--host-memory", String.valueOf(dev.offload.memory.HostMemory.MARGIN_BYTES + (1 << 20)), "--source", "disk",
                "--staging", "64KiB", "--json");
        String why = named.getAsJsonArray("components").get(0).getAsJsonObject().get("reason").getAsString();
        assertTrue(why.contains("DISK as configured") && why.contains("64.00 KiB"), why);
        assertEquals(64 * 1024, named.get("host_bytes").getAsLong(), named.toString());
        var pinned = InfoCommandTest.run("plan", single.toString(), "--device", "host", "--budget", String.valueOf(SIZES.get("transformer")),
                "--h2d-gbps", "5", "--host-memory", "1KiB", "--source", "pinned");
        assertEquals(1, pinned.exit(), pinned.err());
        assertTrue(pinned.err().contains("needs " + j.get("host_bytes").getAsLong() + " bytes") && pinned.err().contains("1024"), pinned.err());
        assertEquals(2, InfoCommandTest.run("plan", single.toString(), "--source", "tape").exit());
    }

    /**
     * BLOCK_PIN for every component of a pipeline registered together, in a budget that holds all
     * but the last one: the earlier ones pin less, so the last still gets its ring (it used to be
     * refused, the earlier ones having pinned the whole budget); plan says the same.
     */
    @Test
    void blockPinForEveryComponentLeavesTheLaterOnesRoomForTheirRings() {
        long budget = SIZES.get("text_encoder") + SIZES.get("transformer") + 4096;
        dev.offload.OffloadConfig config = dev.offload.OffloadConfig.builder().device("host").strategy(dev.offload.Strategy.BLOCK_PIN)
                .deviceBudget(budget).build();
        try (var p = dev.offload.checkpoint.Pipeline.open(pipeline); dev.offload.Offloader off = dev.offload.Offloader.open(config)) {
            Map<String, BlockGraph> graphs = new LinkedHashMap<>();
            p.components().forEach((name, c) -> graphs.put(name, BlockGraph.discover(c)));
            var registered = off.registerGraphs(graphs);
            assertEquals(List.of("text_encoder", "transformer", "vae"), List.copyOf(registered.keySet()));
            assertTrue(registered.get("transformer").plan().pinnedGroups().size() > 0, "the transformer still pins what it can");
            assertTrue(registered.get("vae").plan().slots() > 0 || registered.get("vae").plan().pinnedGroups().size() > 0);
            assertTrue(off.deviceInfo().usedBytes() <= budget);
        }
        // all resident in the same budget: the vae does not fit; the ones before it stay registered and the error names it
        dev.offload.OffloadConfig resident = dev.offload.OffloadConfig.builder().device("host").strategy(dev.offload.Strategy.NO_OFFLOAD)
                .deviceBudget(budget).build();
        try (var p = dev.offload.checkpoint.Pipeline.open(pipeline); dev.offload.Offloader off = dev.offload.Offloader.open(resident)) {
            Map<String, BlockGraph> graphs = new LinkedHashMap<>();
            p.components().forEach((name, c) -> graphs.put(name, BlockGraph.discover(c)));
            var e = org.junit.jupiter.api.Assertions.assertThrows(dev.offload.OffloadException.class, () -> off.registerGraphs(graphs));
            assertTrue(e.getMessage().contains("component 'vae'"), e.getMessage());
            assertEquals(List.of("text_encoder", "transformer"), off.components().stream().map(dev.offload.Component::name).toList());
        }
        JsonObject plan = json("plan", pipeline.toString(), "--device", "host", "--strategy", "block_pin", "--budget", String.valueOf(budget),
                "--h2d-gbps", "5", "--json");
        assertEquals(3, plan.getAsJsonArray("components").size(), plan.toString());
        assertTrue(plan.get("device_bytes").getAsLong() <= budget, plan.toString());
    }

    @Test
    void badPlanInputIsExitTwo() {
        var r = InfoCommandTest.run("plan", single.toString(), "--h2d-gbps", "fast");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("--h2d-gbps"), r.err());
        var s = InfoCommandTest.run("plan", single.toString(), "--strategy", "sideways");
        assertEquals(2, s.exit());
        assertTrue(s.err().contains("unknown strategy 'sideways'"), s.err());
    }

    @Test
    void runModelOffloadOnAThreeComponentPipelineVerifiesWithinTheLargestPlusResidentPlusThePrefetch() {
        long buffers = 3 * ReferenceWorkload.deviceBytes(1, 32);
        long largest = SIZES.get("transformer");
        long budget = largest + SIZES.get("vae") + buffers;
        JsonObject j = json("run", pipeline.toString(), "--device", "host", "--strategy", "model_offload", "--budget", String.valueOf(budget),
                "--steps", "3", "--hidden", "32", "--verify", "--json");
        assertTrue(j.get("verified").getAsBoolean(), j.toString());
        assertEquals(List.of("text_encoder", "transformer", "vae"), names(j.getAsJsonArray("components")));
        long bound = largest + buffers + Math.max(SIZES.get("text_encoder"), SIZES.get("vae"));
        assertTrue(j.get("peak_device_bytes").getAsLong() <= bound, j.get("peak_device_bytes") + " > " + bound);
        assertTrue(j.get("peak_device_bytes").getAsLong() < SIZES.values().stream().mapToLong(Long::longValue).sum(), "never all at once");
        j.getAsJsonArray("components").forEach(c -> {
            assertTrue(c.getAsJsonObject().get("verified").getAsBoolean());
            assertEquals(1, c.getAsJsonObject().get("activations").getAsLong());
        });
    }
}
