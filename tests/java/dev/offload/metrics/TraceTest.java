package dev.offload.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Trace.merged (several devices, issue 20): every device's events, tagged, on one clock, a process per device in the JSON. */
class TraceTest {
    @TempDir
    Path dir;

    @Test
    void mergedKeepsEveryDevicesEventsOnTheEarliestOriginsClockAProcessEach() throws Exception {
        Trace first = new Trace();
        Thread.sleep(5);
        Trace second = new Trace();
        first.span("compute: m", "0", 10, 5, Map.of());
        second.span("compute: m", "0", 10, 5, Map.of("group", 0));
        second.mark("host: m", "wait", 20, Map.of());
        Map<String, Trace> byDevice = new LinkedHashMap<>();
        byDevice.put("host:0", first);
        byDevice.put("host:1", second);
        Trace merged = Trace.merged(byDevice);
        assertEquals(first.originNanos(), merged.originNanos());
        List<Trace.Event> events = merged.events();
        assertEquals(3, events.size());
        assertEquals("host:0", events.get(0).device());
        assertEquals(10, events.get(0).startUs(), 1e-9);
        assertEquals("host:1", events.get(1).device());
        double shift = (second.originNanos() - first.originNanos()) / 1e3;
        assertTrue(shift >= 5000, "shift " + shift);
        assertEquals(10 + shift, events.get(1).startUs(), 1e-6);  // the second device's span, moved onto the first's clock
        assertNull(first.events().get(0).device());  // the devices' own traces are left as they were

        Path file = dir.resolve("t.json");
        merged.writeChromeJson(file);
        Map<String, Integer> pids = new TreeMap<>();
        Map<Integer, Integer> spans = new TreeMap<>();
        for (var e : JsonParser.parseString(Files.readString(file)).getAsJsonObject().getAsJsonArray("traceEvents")) {
            JsonObject o = e.getAsJsonObject();
            if (o.get("name").getAsString().equals("process_name")) pids.put(o.getAsJsonObject("args").get("name").getAsString(), o.get("pid").getAsInt());
            if (o.get("ph").getAsString().equals("X")) spans.merge(o.get("pid").getAsInt(), 1, Integer::sum);
        }
        assertEquals(Map.of("host:0", 1, "host:1", 2), pids);
        assertEquals(Map.of(1, 1, 2, 1), spans);

        Map<String, Trace> runs = new LinkedHashMap<>();  // demo's several runs: "RUN DEVICE" per device, a plain trace its own
        runs.put("replicated", merged);
        runs.put("group_offload", first);
        Trace.write(file, runs);
        pids.clear();
        for (var e : JsonParser.parseString(Files.readString(file)).getAsJsonObject().getAsJsonArray("traceEvents")) {
            JsonObject o = e.getAsJsonObject();
            if (o.get("name").getAsString().equals("process_name")) pids.put(o.getAsJsonObject("args").get("name").getAsString(), o.get("pid").getAsInt());
        }
        assertEquals(Map.of("replicated host:0", 1, "replicated host:1", 2, "group_offload", 3), pids);
    }
}
