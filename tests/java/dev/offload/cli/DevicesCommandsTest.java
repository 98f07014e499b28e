package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.offload.workload.SyntheticModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code run --devices}, {@code plan --devices} and {@code demo --devices} (issue 20) on the host backend's emulated devices. */
class DevicesCommandsTest {
    @TempDir
    static Path dir;
    static Path pipeline, single;

    @BeforeAll
    static void write() throws Exception {
        pipeline = dir.resolve("pipe");
        SyntheticModel.write(Files.createDirectories(pipeline.resolve("text_encoder")).resolve("model.safetensors"), 48, 2, 2, 1);
        SyntheticModel.write(Files.createDirectories(pipeline.resolve("transformer")).resolve("diffusion_pytorch_model.safetensors"), 64, 5, 5, 2);
        SyntheticModel.write(Files.createDirectories(pipeline.resolve("vae")).resolve("diffusion_pytorch_model.safetensors"), 32, 1, 1, 3);
        Files.writeString(pipeline.resolve("model_index.json"), "{\"_class_name\": \"P\", \"text_encoder\": [\"a\", \"B\"],"
                + " \"transformer\": [\"c\", \"D\"], \"vae\": [\"e\", \"F\"]}");
        single = dir.resolve("model.safetensors");
        SyntheticModel.write(single, 64, 4, 2, 4);
    }

    @Test
    void planGivesEachComponentOneOfTheNamedDevicesAndTheReason() {
        JsonObject j = PlanCommandTest.json("plan", pipeline.toString(), "--devices", "host:0,host:1", "--budget", "8MiB", "--h2d-gbps", "10",
                "--workload", "none", "--json");
        var components = j.getAsJsonArray("components");
        assertEquals(3, components.size());
        for (var e : components) {
            JsonObject c = e.getAsJsonObject();
            assertTrue(List.of("host:0", "host:1").contains(c.get("device").getAsString()), c.toString());
            assertTrue(c.get("device_reason").getAsString().startsWith("largest first"), c.toString());
        }
        assertEquals("host:0", components.get(1).getAsJsonObject().get("device").getAsString());  // the transformer, largest, first
        JsonObject placed = PlanCommandTest.json("plan", pipeline.toString(), "--devices", "host:0,host:1", "--place", "transformer=host:1",
                "--place", "vae=host:1", "--budget", "8MiB", "--h2d-gbps", "10", "--json");
        assertEquals("host:1", placed.getAsJsonArray("components").get(1).getAsJsonObject().get("device").getAsString());
        assertEquals("placed by hand on host:1", placed.getAsJsonArray("components").get(2).getAsJsonObject().get("device_reason").getAsString());
    }

    @Test
    void runReplicatedOnTwoDevicesVerifiesBothWithinTheirBudgetsAndOneHostCopy() {
        InfoCommandTest.Result r = InfoCommandTest.run("run", single.toString(), "--devices", "host:0,host:1", "--replicate", "--budget", "1MiB",
                "--steps", "4", "--verify", "--json");
        assertEquals(0, r.exit(), r.err());
        JsonObject j = JsonParser.parseString(r.out()).getAsJsonObject();
        assertTrue(j.get("verified").getAsBoolean());
        var devices = j.getAsJsonArray("devices");
        assertEquals(2, devices.size());
        for (int i = 0; i < 2; i++) {
            JsonObject d = devices.get(i).getAsJsonObject();
            assertEquals("host:" + i, d.get("device").getAsString());
            assertTrue(d.get("verified").getAsBoolean());
            assertEquals(1 << 20, d.get("budget_bytes").getAsLong());
            assertTrue(d.get("peak_device_bytes").getAsLong() <= 1 << 20, d.toString());
            assertTrue(d.get("step_ms_median").getAsDouble() > 0, d.toString());
        }
        assertTrue(j.get("peak_host_bytes").getAsLong() <= 1.05 * j.get("model_bytes").getAsLong(), j.toString());
    }

    @Test
    void runReplicatedFromDiskReadsTheSameFilesOnBothDevices() {  // was: the second device found no file region for any tensor
        InfoCommandTest.Result r = InfoCommandTest.run("run", single.toString(), "--devices", "host:0,host:1", "--replicate", "--budget", "1MiB",
                "--source", "disk", "--steps", "3", "--verify", "--json");
        assertEquals(0, r.exit(), r.err());
        JsonObject j = JsonParser.parseString(r.out()).getAsJsonObject();
        assertTrue(j.get("verified").getAsBoolean(), j.toString());
        for (var d : j.getAsJsonArray("devices")) assertTrue(d.getAsJsonObject().get("verified").getAsBoolean(), d.toString());
    }

    @Test
    void aTwoDeviceRunsTraceHasEveryDevicesSpansAProcessEach() throws Exception {
        Path trace = dir.resolve("devices-trace.json");
        InfoCommandTest.Result r = InfoCommandTest.run("run", single.toString(), "--devices", "host:0,host:1", "--replicate", "--budget", "1MiB",
                "--steps", "3", "--trace", trace.toString(), "--json");
        assertEquals(0, r.exit(), r.err());
        var events = JsonParser.parseString(Files.readString(trace)).getAsJsonObject().getAsJsonArray("traceEvents");
        java.util.Map<Integer, String> processes = new java.util.HashMap<>();            // pid: its process's name
        java.util.Map<String, String> threads = new java.util.HashMap<>();               // "pid/tid": its thread's name
        for (var e : events) {
            JsonObject o = e.getAsJsonObject();
            if (!o.get("ph").getAsString().equals("M")) continue;
            String name = o.getAsJsonObject("args").get("name").getAsString();
            if (o.get("name").getAsString().equals("process_name")) processes.put(o.get("pid").getAsInt(), name);
            else threads.put(o.get("pid").getAsInt() + "/" + o.get("tid").getAsInt(), name);
        }
        assertEquals(java.util.Set.of("host:0", "host:1"), java.util.Set.copyOf(processes.values()), processes.toString());
        java.util.Map<String, java.util.Set<String>> tracks = new java.util.TreeMap<>();   // device: its threads' names
        threads.forEach((key, name) -> tracks.computeIfAbsent(processes.get(Integer.parseInt(key.split("/")[0])),
                k -> new java.util.TreeSet<>()).add(name));
        java.util.Map<String, Integer> computeSpans = new java.util.TreeMap<>();          // device: its compute spans
        for (var e : events) {
            JsonObject o = e.getAsJsonObject();
            if (o.get("ph").getAsString().equals("X") && "compute: model".equals(threads.get(o.get("pid").getAsInt() + "/" + o.get("tid").getAsInt()))) {
                computeSpans.merge(processes.get(o.get("pid").getAsInt()), 1, Integer::sum);
            }
        }
        assertEquals(java.util.Set.of("host:0", "host:1"), tracks.keySet(), tracks.toString());
        for (String d : java.util.List.of("host:0", "host:1")) {
            assertTrue(tracks.get(d).containsAll(java.util.List.of("compute: model", "copy: model", "host: model")), d + ": " + tracks);
            assertTrue(computeSpans.getOrDefault(d, 0) >= 3, d + " has " + computeSpans.get(d) + " compute spans: " + computeSpans);
        }
    }

    @Test
    void badDeviceOptionsAreUsageErrors() {
        InfoCommandTest.Result r = InfoCommandTest.run("run", single.toString(), "--replicate");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("need --devices"), r.err());
        r = InfoCommandTest.run("run", single.toString(), "--devices", "host:0,host:1", "--place", "model");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("--place needs NAME=DEVICE"), r.err());
        r = InfoCommandTest.run("run", single.toString(), "--devices", "host:0");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("two or more device names"), r.err());
    }

    @Test
    void demoAddsAReplicatedRowVerifiedOnBothDevicesWithOneHostCopy() {
        InfoCommandTest.Result r = InfoCommandTest.run("demo", "--dim", "64", "--steps", "3", "--devices", "host:0,host:1", "--json");
        assertEquals(0, r.exit(), r.err());
        JsonObject j = JsonParser.parseString(r.out()).getAsJsonObject();
        assertTrue(j.get("all_verified").getAsBoolean());
        assertEquals(8, j.getAsJsonArray("runs").size());  // the one-device rows stay as they were
        JsonObject row = j.getAsJsonObject("devices_run");
        assertTrue(row.get("verified").getAsBoolean(), row.toString());
        assertEquals(3, row.get("steps").getAsInt());
        assertEquals(j.get("model_bytes").getAsLong(), row.get("model_bytes").getAsLong());
        assertTrue(row.get("strategy").getAsString().startsWith("group_offload"), row.toString());
        var devices = row.getAsJsonArray("devices");
        assertEquals(2, devices.size());
        long budget = j.getAsJsonArray("runs").get(1).getAsJsonObject().get("budget_bytes").getAsLong();  // the offloaded runs' budget
        for (int i = 0; i < 2; i++) {
            JsonObject d = devices.get(i).getAsJsonObject();
            assertEquals("host:" + i, d.get("device").getAsString());
            assertTrue(d.get("verified").getAsBoolean(), d.toString());
            assertEquals(budget, d.get("budget_bytes").getAsLong());
            assertTrue(d.get("peak_device_bytes").getAsLong() > 0 && d.get("peak_device_bytes").getAsLong() <= budget, d.toString());
            assertTrue(d.get("step_ms_median").getAsDouble() > 0, d.toString());
            assertEquals("model", d.getAsJsonArray("components").get(0).getAsString());
        }
        long model = row.get("model_bytes").getAsLong();
        long host = row.get("peak_host_bytes").getAsLong();
        assertTrue(host >= model && host <= 1.05 * model, "one host copy for two devices: " + row);
    }

    @Test
    void demoRefusesABadDeviceListNamingTheRule() {
        InfoCommandTest.Result r = InfoCommandTest.run("demo", "--dim", "64", "--steps", "2", "--devices", "host:0,host:0");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("--devices names 'host:0' twice") && r.err().contains("each device is named once"), r.err());
        r = InfoCommandTest.run("demo", "--dim", "64", "--steps", "2", "--devices", "host:0");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("two or more device names"), r.err());
        r = InfoCommandTest.run("demo", "--dim", "64", "--steps", "2", "--devices", "host:0,nowhere:1");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("unknown device name 'nowhere:1'"), r.err());
        r = InfoCommandTest.run("demo", "--device", "host", "--devices", "host:0,host:1");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("--device and --devices exclude each other"), r.err());
    }
}
