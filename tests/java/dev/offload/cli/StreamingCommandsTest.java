package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.offload.workload.SyntheticModel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** inspect, run and demo: their JSON contracts and exit codes. */
class StreamingCommandsTest {
    @TempDir
    static Path dir;
    static Path model;

    @BeforeAll
    static void writeModel() {
        model = dir.resolve("model.safetensors");
        SyntheticModel.write(model, 64, 3, 2, 5);
    }

    static JsonObject json(InfoCommandTest.Result r) {
        assertEquals(0, r.exit(), r.err());
        return JsonParser.parseString(r.out()).getAsJsonObject();
    }

    @Test
    void inspectReportsTensorsBytesAndBlockLists() {
        JsonObject j = json(InfoCommandTest.run("inspect", model.toString(), "--json"));
        assertEquals(SyntheticModel.specs(64, 3, 2).size(), j.get("tensors").getAsInt());
        assertEquals(SyntheticModel.bytes(SyntheticModel.specs(64, 3, 2)), j.get("total_bytes").getAsLong());
        var lists = j.getAsJsonArray("block_lists");
        assertEquals(2, lists.size());
        JsonObject first = lists.get(0).getAsJsonObject();
        assertEquals("transformer_blocks", first.get("prefix").getAsString());
        assertEquals(3, first.get("count").getAsInt());
        assertTrue(first.get("bytes_per_block").getAsLong() > 0);
        assertEquals("single_transformer_blocks", lists.get(1).getAsJsonObject().get("prefix").getAsString());
        assertTrue(InfoCommandTest.run("inspect", model.toString()).out().contains("block list transformer_blocks"));
    }

    @Test
    void runVerifiesAndReportsTheContractFields() {
        JsonObject j = json(InfoCommandTest.run("run", model.toString(), "--device", "host", "--budget", "256KiB", "--strategy",
                "layerwise", "--steps", "3", "--verify", "--json"));
        assertTrue(j.get("strategy").getAsString().startsWith("layerwise"));
        assertEquals(3, j.get("steps").getAsInt());
        assertTrue(j.get("verified").getAsBoolean());
        assertEquals(256 * 1024, j.get("budget_bytes").getAsLong());
        assertTrue(j.get("peak_device_bytes").getAsLong() <= 256 * 1024);
        assertTrue(j.get("peak_host_bytes").getAsLong() >= j.get("model_bytes").getAsLong());
        assertTrue(j.get("h2d_bytes").getAsLong() > 0);
        assertTrue(j.get("step_ms_median").getAsDouble() > 0);
        assertTrue(j.get("overlap_efficiency").getAsDouble() > 0);
        // The engine's figures (medians; waits a mean): every field present and in range.
        double waits = j.get("host_waits_per_step").getAsDouble();
        assertTrue(waits >= 0 && waits <= 1, "host_waits_per_step " + waits);
        assertTrue(j.get("host_blocked_ms").getAsDouble() >= 0);
        double idle = j.get("compute_idle_ms").getAsDouble();
        assertTrue(idle >= 0 && idle <= j.get("step_ms_median").getAsDouble() + 0.01, "compute_idle_ms " + idle);
        assertTrue(j.get("copy_busy_ms").getAsDouble() >= j.get("copy_ms_median").getAsDouble() * 0.99 - 0.01);
        assertTrue(j.get("host_us_per_group").getAsDouble() > 0);
        assertTrue(j.get("wall_ms_per_step").getAsDouble() > 0);
        assertEquals(1, j.get("steps_ahead").getAsInt());

        JsonObject copyOnly = json(InfoCommandTest.run("run", model.toString(), "--device", "host", "--budget", "256KiB", "--strategy",
                "group_offload", "--workload", "none", "--steps", "2", "--verify", "--json", "--timing", "step"));
        assertTrue(copyOnly.get("verified").isJsonNull(), "nothing computed, nothing verified");
        String copyOnlyText = InfoCommandTest.run("run", model.toString(), "--device", "host", "--budget", "256KiB", "--workload", "none",
                "--steps", "2", "--verify").out();
        assertTrue(copyOnlyText.contains("verified nothing to verify (workload none computes nothing)"), copyOnlyText);
        assertTrue(copyOnly.get("compute_idle_ms").isJsonNull(), "step timing has no per-group figures");
        assertTrue(copyOnly.get("copy_busy_ms").getAsDouble() > 0);
        assertEquals(2, InfoCommandTest.run("run", model.toString(), "--timing", "sometimes").exit());

        JsonObject unverified = json(InfoCommandTest.run("run", model.toString(), "--device", "host", "--strategy", "no_offload",
                "--steps", "1", "--json"));
        assertTrue(unverified.get("verified").isJsonNull());
    }

    @Test
    void synthAndRunTheLinearWorkload() {
        Path linear = dir.resolve("linear.safetensors");
        JsonObject written = json(InfoCommandTest.run("synth", linear.toString(), "--workload", "linear", "--dim", "64", "--blocks", "3",
                "--seed", "9", "--json"));
        assertEquals(dev.offload.workload.LinearModel.bytes(64, 3), written.get("total_bytes").getAsLong());
        JsonObject j = json(InfoCommandTest.run("run", linear.toString(), "--device", "host", "--workload", "linear", "--strategy",
                "layerwise", "--tokens", "4", "--steps", "3", "--verify", "--json"));
        assertEquals("linear", j.get("workload").getAsString());
        assertTrue(j.get("verified").getAsBoolean(), j.toString());
        var mixOnLinear = InfoCommandTest.run("run", model.toString(), "--device", "host", "--workload", "linear", "--steps", "1");
        assertEquals(2, mixOnLinear.exit());
        assertTrue(mixOnLinear.err().contains("no *.self_attn.q_proj.weight"), mixOnLinear.err());
    }

    @Test
    void badInputExitsTwoWithOneLine() {
        var tooSmall = InfoCommandTest.run("run", model.toString(), "--device", "host", "--budget", "8KiB");
        assertEquals(2, tooSmall.exit());
        assertTrue(tooSmall.err().contains("smaller than the largest group"), tooSmall.err());
        var badStrategy = InfoCommandTest.run("run", model.toString(), "--strategy", "magic");
        assertEquals(2, badStrategy.exit());
        assertTrue(badStrategy.err().contains("unknown strategy 'magic'"), badStrategy.err());
        var missing = InfoCommandTest.run("inspect", dir.resolve("nope.safetensors").toString());
        assertEquals(2, missing.exit());
        assertTrue(missing.err().contains("nope.safetensors: no such file"), missing.err());
        var noPath = InfoCommandTest.run("run");
        assertEquals(2, noPath.exit());
        assertEquals(1, noPath.err().strip().lines().count());
    }

    /** Options that would be ignored or fail only at the end are refused up front, exit 2, naming the rule. */
    @Test
    void contradictoryOrLateFailingOptionsAreUsageErrors() {
        String[][] cases = {
            {"LAYERWISE slides over single blocks", "--strategy", "layerwise", "--blocks-per-group", "3"},
            {"is not a whole number of bytes", "--budget", "0.6"},
            {"does not exist", "--trace", dir.resolve("no-such-folder").resolve("trace.json").toString()},
            {"is a folder", "--trace", dir.toString()},
            {"--trace needs --timing group", "--timing", "off", "--trace", dir.resolve("t.json").toString()},
            {"workload's device buffers for 1 token(s)", "--budget", "1KiB"},
        };
        for (String[] c : cases) {
            java.util.List<String> argv = new java.util.ArrayList<>(java.util.List.of("run", model.toString(), "--device", "host"));
            argv.addAll(java.util.Arrays.asList(c).subList(1, c.length));
            InfoCommandTest.Result r = InfoCommandTest.run(argv.toArray(String[]::new));
            assertEquals(2, r.exit(), String.join(" ", argv) + ": " + r.err());
            assertTrue(r.err().contains(c[0]) && r.err().lines().count() == 1, r.err());
        }
        assertEquals(2, InfoCommandTest.run("demo", "--device", "host", "--trace", dir.resolve("nope").resolve("t.json").toString()).exit());
    }

    /** Only zero-size tensors: nothing to stream under any strategy or source (a slot of 0 bytes divided the budget by zero). */
    @Test
    void aCheckpointOfZeroSizeTensorsOnlyRunsUnderEveryStreamingStrategy() throws Exception {
        byte[] header = ("{\"layers.0.a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
                + "\"layers.1.a\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[0,0]}}").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocate(8 + header.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        bytes.putLong(header.length).put(header);
        Path zero = dir.resolve("zero-size.safetensors");
        Files.write(zero, bytes.array());
        for (String strategy : new String[] {"group_offload", "layerwise", "block_pin"}) {
            for (String source : new String[] {"pinned", "disk"}) {
                JsonObject j = json(InfoCommandTest.run("run", zero.toString(), "--device", "host", "--budget", "8192", "--steps", "3", "--verify",
                        "--strategy", strategy, "--source", source, "--json"));
                assertTrue(j.get("verified").getAsBoolean(), strategy + " " + source);
                assertEquals(0, j.get("h2d_bytes").getAsLong(), strategy + " " + source);
            }
            assertEquals(0, InfoCommandTest.run("plan", zero.toString(), "--device", "host", "--budget", "8192", "--strategy", strategy).exit());
        }
    }

    @Test
    void aCorruptFileIsBadInput() throws Exception {
        Path bad = dir.resolve("bad.safetensors");
        Files.write(bad, new byte[] {1, 0, 0, 0, 0, 0, 0, 0, '{'});
        var r = InfoCommandTest.run("inspect", bad.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().startsWith("offload: " + bad), r.err());
        assertTrue(!r.err().contains("\tat "));
    }

    @Test
    void demoVerifiesEveryStrategy() {
        JsonObject j = json(InfoCommandTest.run("demo", "--dim", "128", "--steps", "2", "--device", "host", "--json"));
        assertTrue(j.get("all_verified").getAsBoolean());
        assertEquals("host", j.get("backend").getAsString());
        var runs = j.getAsJsonArray("runs");
        assertEquals(8, runs.size());
        assertTrue(runs.get(5).getAsJsonObject().get("strategy").getAsString().startsWith("block_pin"));
        assertTrue(runs.get(6).getAsJsonObject().get("strategy").getAsString().startsWith("sequential"), runs.get(6).toString());
        assertTrue(runs.get(7).getAsJsonObject().get("strategy").getAsString().startsWith("auto: "), runs.get(7).toString());
        for (var run : runs) {
            JsonObject r = run.getAsJsonObject();
            assertTrue(r.get("verified").getAsBoolean(), r.toString());
            if (!r.get("strategy").getAsString().equals("no_offload")) {
                assertTrue(r.get("budget_bytes").getAsLong() < j.get("model_bytes").getAsLong() / 2, r.toString());
                assertTrue(r.get("peak_device_bytes").getAsLong() <= r.get("budget_bytes").getAsLong(), r.toString());
            }
        }
    }

    @Test
    void benchRunsAVerifiedSelectionAndReportsTheContractFields() {
        JsonObject j = json(InfoCommandTest.run("bench", "--device", "host", "--json"));
        assertEquals("host", j.get("backend").getAsString());
        assertTrue(j.get("h2d_pinned_gbps").getAsDouble() > 0);
        double overlap = j.get("overlap_efficiency_balanced").getAsDouble();
        assertTrue(overlap > 0 && overlap <= 1.05, "overlap " + overlap);
        assertTrue(j.get("acquire_release_ns").getAsDouble() > 0);
        assertTrue(j.get("verified").getAsBoolean());
        assertEquals(3, j.getAsJsonArray("pipeline").size());
        assertEquals(2, InfoCommandTest.run("bench", "extra").exit());
    }

    /** Pinned and disk sources: the disk run adds a track of the reader's reads, one per streamed group and step. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"pinned", "disk"})
    void runWritesATraceThatPerfettoCanRead(String source) throws java.io.IOException {
        Path big = dir.resolve("trace-model.safetensors");
        if (!java.nio.file.Files.exists(big)) SyntheticModel.write(big, 256, 4, 2, 9);  // ~10 MiB: copies and compute long enough to overlap
        Path trace = dir.resolve("t-" + source + ".json");
        JsonObject run = json(InfoCommandTest.run("run", big.toString(), "--device", "host", "--budget", "6MiB", "--strategy",
                "group_offload", "--steps", "4", "--tokens", "4", "--verify", "--json", "--trace", trace.toString(), "--source", source));
        assertTrue(run.get("verified").getAsBoolean());
        JsonObject root = JsonParser.parseString(java.nio.file.Files.readString(trace)).getAsJsonObject();
        java.util.Map<Integer, String> names = new java.util.HashMap<>();
        java.util.Map<String, java.util.List<double[]>> spans = new java.util.HashMap<>();
        int marks = 0;
        for (var e : root.getAsJsonArray("traceEvents")) {
            JsonObject o = e.getAsJsonObject();
            String ph = o.get("ph").getAsString();
            if (ph.equals("M") && o.get("name").getAsString().equals("thread_name")) {
                names.put(o.get("tid").getAsInt(), o.getAsJsonObject("args").get("name").getAsString());
            } else if (ph.equals("X")) {
                spans.computeIfAbsent(String.valueOf(o.get("tid").getAsInt()), k -> new java.util.ArrayList<>())
                        .add(new double[] {o.get("ts").getAsDouble(), o.get("ts").getAsDouble() + o.get("dur").getAsDouble()});
                assertTrue(o.getAsJsonObject("args").has("step"), o.toString());
            } else if (ph.equals("i")) {
                marks++;
            }
        }
        // Tracks: the host thread, the copy stream and the compute stream of the component.
        java.util.Set<String> tracks = new java.util.HashSet<>(java.util.Set.of("host: model", "copy: model", "compute: model"));
        if (source.equals("disk")) tracks.add("disk: model");
        assertEquals(tracks, java.util.Set.copyOf(names.values()));
        java.util.Map<String, java.util.List<double[]>> byTrack = new java.util.HashMap<>();
        names.forEach((tid, name) -> byTrack.put(name, spans.getOrDefault(String.valueOf(tid), java.util.List.of())));
        assertEquals(4, byTrack.get("host: model").size(), "one host span per step");
        int groups = run.get("groups").getAsInt();
        assertEquals(4 * groups, byTrack.get("compute: model").size());
        assertEquals(4 * groups, byTrack.get("copy: model").size(), "every group streams under group offload");
        if (source.equals("disk")) assertEquals(4 * groups, byTrack.get("disk: model").size(), "one read per streamed group and step");
        for (var track : byTrack.entrySet()) {  // spans within one track never overlap
            java.util.List<double[]> sorted = new java.util.ArrayList<>(track.getValue());
            sorted.sort(java.util.Comparator.comparingDouble(a -> a[0]));
            for (int k = 1; k < sorted.size(); k++) {
                assertTrue(sorted.get(k)[0] >= sorted.get(k - 1)[1] - 1.0, track.getKey() + " overlaps at " + sorted.get(k)[0]);
            }
        }
        boolean overlapped = false;  // prefetch: some copy runs while some compute runs
        for (double[] c : byTrack.get("copy: model")) {
            for (double[] k : byTrack.get("compute: model")) overlapped |= c[0] < k[1] - 1 && k[0] < c[1] - 1;
        }
        assertTrue(overlapped, "no copy span overlaps a compute span");
        assertTrue(marks <= 4, "at most one back-pressure mark per step");
    }

    @Test
    void longWorkReportsProgressOnStderrButNeverWithJson() {
        InfoCommandTest.Result plain = InfoCommandTest.run("run", model.toString(), "--device", "host", "--steps", "3");
        assertEquals(0, plain.exit(), plain.err());
        assertTrue(plain.err().contains("offload: run: 3/3 steps (100%)"), plain.err());
        assertTrue(plain.err().contains("offload: packing model: ") && plain.err().contains("MiB (100%)"), plain.err());
        assertTrue(!plain.out().contains("offload: run:"), "progress stays off stdout");
        InfoCommandTest.Result json = InfoCommandTest.run("run", model.toString(), "--device", "host", "--steps", "3", "--json");
        assertEquals(0, json.exit(), json.err());
        assertTrue(!json.err().contains("offload: run:"), json.err());
        JsonParser.parseString(json.out());  // stdout is the one JSON object
    }
}
