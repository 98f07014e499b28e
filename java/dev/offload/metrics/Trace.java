package dev.offload.metrics;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.offload.files.AtomicFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A timeline of spans and marks on named tracks, written as Chrome trace-event JSON (Perfetto and
 * chrome://tracing open it). Times are microseconds from the trace's origin, the host clock when
 * the trace began ({@link #originNanos}). Device spans come from the engine's events (device clock)
 * and are placed by the component that records them (see {@code Component}); host spans come from
 * {@link System#nanoTime()}. Thread-safe: components of one offloader record into one trace.
 * Files are written whole or not at all ({@link AtomicFile}): a full disk leaves the old file, or none.
 */
public final class Trace {
    /**
     * One span ({@code ph: X}) or, with a NaN duration, one mark ({@code ph: i}); {@code device}: the
     * device whose components recorded it in a merged trace ({@link #merged}), null for one device.
     */
    public record Event(String track, String name, double startUs, double durationUs, Map<String, Object> args, String device) {}

    private final long originNanos;
    private final List<Event> events = new ArrayList<>();
    private double deviceOriginUs = Double.NaN;  // trace time of the runtime's device clock origin

    public Trace() {
        this(System.nanoTime());
    }

    private Trace(long originNanos) {
        this.originNanos = originNanos;
    }

    /**
     * Every device's trace in one (an offloader with several devices): each event keeps its track and
     * is tagged with its device (a process per device in the Chrome JSON, its tracks that process's
     * threads), its time moved onto one clock, the earliest trace's origin (each device's trace began
     * when its device opened). A snapshot: what the devices record later is not in it.
     */
    public static Trace merged(Map<String, Trace> byDevice) {
        long origin = Long.MAX_VALUE;
        for (Trace t : byDevice.values()) origin = Math.min(origin, t.originNanos);
        Trace out = new Trace(byDevice.isEmpty() ? System.nanoTime() : origin);
        for (Map.Entry<String, Trace> d : byDevice.entrySet()) {
            double shiftUs = (d.getValue().originNanos - out.originNanos) / 1e3;
            for (Event e : d.getValue().events()) {
                out.events.add(new Event(e.track(), e.name(), e.startUs() + shiftUs, e.durationUs(), e.args(), d.getKey()));
            }
        }
        return out;
    }

    /**
     * Places the runtime's device clock (offload.h: ofl_step_metrics.begin_ms, shared by every
     * engine of the runtime) on this trace, once: its origin is recorded when the runtime's first
     * engine is made, so the host time of that moment stands for it (the device may reach it a
     * little later). Later calls change nothing.
     */
    public synchronized void deviceClockAt(long nanos) {
        if (Double.isNaN(deviceOriginUs)) deviceOriginUs = hostUs(nanos);
    }

    /** Trace time of the device clock's origin (0 before {@link #deviceClockAt}). */
    public synchronized double deviceOriginUs() {
        return Double.isNaN(deviceOriginUs) ? 0 : deviceOriginUs;
    }

    /** The host clock at the trace's time 0. */
    public long originNanos() {
        return originNanos;
    }

    /** Microseconds from the origin to a {@link System#nanoTime()} reading. */
    public double hostUs(long nanos) {
        return (nanos - originNanos) / 1e3;
    }

    public synchronized void span(String track, String name, double startUs, double durationUs, Map<String, Object> args) {
        events.add(new Event(track, name, startUs, Math.max(0, durationUs), args, null));
    }

    public synchronized void mark(String track, String name, double atUs, Map<String, Object> args) {
        events.add(new Event(track, name, atUs, Double.NaN, args, null));
    }

    public synchronized List<Event> events() {
        return List.copyOf(events);
    }

    /** Writes this trace alone (process "offload"; a merged trace: a process per device, named by it). */
    public void writeChromeJson(Path file) {
        write(file, Map.of("offload", this));
    }

    /**
     * Writes several traces into one file, one process each (in map order), named by its key; a
     * merged trace's events a process per device: "KEY DEVICE", or the device's name alone for the
     * key "offload" (writeChromeJson). Each process's tracks are its threads.
     */
    public static void write(Path file, Map<String, Trace> processes) {
        JsonArray out = new JsonArray();
        Map<String, Integer> pids = new LinkedHashMap<>();
        Map<Integer, Map<String, Integer>> tids = new LinkedHashMap<>();
        for (Map.Entry<String, Trace> p : processes.entrySet()) {
            for (Event e : p.getValue().events()) {
                String process = e.device() == null ? p.getKey() : p.getKey().equals("offload") ? e.device() : p.getKey() + " " + e.device();
                int pid = pid(pids, out, process);
                Map<String, Integer> threads = tids.computeIfAbsent(pid, k -> new LinkedHashMap<>());
                int tid = threads.computeIfAbsent(e.track(), k -> threads.size() + 1);
                JsonObject j = new JsonObject();
                j.addProperty("name", e.name());
                j.addProperty("ph", Double.isNaN(e.durationUs()) ? "i" : "X");
                j.addProperty("ts", e.startUs());
                if (!Double.isNaN(e.durationUs())) j.addProperty("dur", e.durationUs());
                else j.addProperty("s", "t");
                j.addProperty("pid", pid);
                j.addProperty("tid", tid);
                JsonObject args = new JsonObject();
                e.args().forEach((k, v) -> {
                    if (v instanceof Number n) args.addProperty(k, n);
                    else args.addProperty(k, String.valueOf(v));
                });
                j.add("args", args);
                out.add(j);
            }
            if (p.getValue().events().isEmpty()) pid(pids, out, p.getKey());  // an empty trace still names its process
        }
        tids.forEach((pid, threads) -> threads.forEach((track, tid) -> out.add(meta("thread_name", pid, tid, track))));
        JsonObject root = new JsonObject();
        root.add("traceEvents", out);
        root.addProperty("displayTimeUnit", "ms");
        byte[] bytes = root.toString().getBytes(StandardCharsets.UTF_8);
        AtomicFile.write(file, "the trace", target -> target.write(ByteBuffer.wrap(bytes), 0));
    }

    /** The process's id, numbered from 1 in order of first use; its name's metadata is written at its first use. */
    private static int pid(Map<String, Integer> pids, JsonArray out, String process) {
        Integer pid = pids.get(process);
        if (pid != null) return pid;
        pids.put(process, pids.size() + 1);
        out.add(meta("process_name", pids.size(), 0, process));
        return pids.size();
    }

    private static JsonObject meta(String kind, int pid, int tid, String name) {
        JsonObject j = new JsonObject();
        j.addProperty("name", kind);
        j.addProperty("ph", "M");
        j.addProperty("pid", pid);
        j.addProperty("tid", tid);
        JsonObject args = new JsonObject();
        args.addProperty("name", name);
        j.add("args", args);
        return j;
    }
}
