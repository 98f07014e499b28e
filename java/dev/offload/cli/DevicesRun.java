package dev.offload.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.offload.Component;
import dev.offload.OffloadConfig;
import dev.offload.Offloader;
import dev.offload.checkpoint.Pipeline;
import dev.offload.runtime.DeviceInfo;
import dev.offload.workload.ReferenceWorkload;
import dev.offload.workload.Workload;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@code run --devices host:0,host:1 [--replicate | --place NAME=DEVICE ...]}: one offloader on
 * several devices (issue 20). Each device runs the mix workload on its own thread over the
 * components placed (or replicated) on it, in the pipeline's order, {@code steps} steps, each step
 * snapshotted and, with {@code verify}, compared bit for bit with the unoffloaded reference. JSON:
 * {@code devices} (per device: device, budget_bytes, peak_device_bytes, verified, components),
 * {@code verified} (all of them), {@code peak_host_bytes} (every runtime's pinned peak, less the
 * workloads' own buffers: one copy of each component however many devices hold it) and
 * {@code model_bytes}.
 */
final class DevicesRun {
    private DevicesRun() {}

    static int run(Pipeline pipeline, OffloadConfig config, int steps, int tokens, int hidden, boolean verify, boolean json, PrintStream out) {
        return run(pipeline, config, steps, tokens, hidden, verify, json, out, null);
    }

    /** As above; with {@code traceFile} (a config with {@code trace(true)}) every device's timeline is written there, a process each. */
    static int run(Pipeline pipeline, OffloadConfig config, int steps, int tokens, int hidden, boolean verify, boolean json, PrintStream out,
                   java.nio.file.Path traceFile) {
        List<String> devices = config.placement().devices();
        try (Offloader off = Offloader.open(config)) {
            Map<String, ReferenceWorkload> workloads = new LinkedHashMap<>();
            for (String d : devices) workloads.put(d, new ReferenceWorkload(off, d, tokens, hidden, steps));
            try {
                Map<String, Component> registered = new LinkedHashMap<>();
                pipeline.components().forEach((name, checkpoint) -> registered.put(name, off.register(name, checkpoint)));
                var placement = off.plan().placement();
                ExecutorService threads = Executors.newFixedThreadPool(devices.size());
                Map<String, Future<Boolean>> verified = new LinkedHashMap<>();
                Map<String, List<String>> onDevice = new LinkedHashMap<>();
                for (String d : devices) {
                    List<String> names = new ArrayList<>();
                    registered.keySet().forEach(n -> {
                        if (placement.get(n).devices().contains(d)) names.add(n);
                    });
                    onDevice.put(d, names);
                    ReferenceWorkload w = workloads.get(d);
                    List<dev.offload.graph.TensorRef> order = new ArrayList<>();
                    for (String n : names) order.addAll(registered.get(n).graph().tensors());
                    verified.put(d, threads.submit(() -> {
                        w.start(order);
                        for (int s = 0; s < steps; s++) {
                            for (String n : names) w.step(n);
                            w.snapshot(s);
                        }
                        return names.isEmpty() || !verify ? null : w.verify(steps, order, new Workload.Expected()) == null;
                    }));
                }
                threads.shutdown();
                JsonObject j = new JsonObject();
                JsonArray list = new JsonArray();
                Boolean all = verify ? Boolean.TRUE : null;
                long hostPeak = 0;
                for (String d : devices) {
                    Boolean ok = result(verified.get(d));
                    DeviceInfo info = off.runtime(d).info();
                    hostPeak += info.hostPeakBytes() - workloads.get(d).pinnedBytes();
                    JsonObject e = new JsonObject();
                    e.addProperty("device", d);
                    e.addProperty("budget_bytes", info.budgetBytes());
                    e.addProperty("peak_device_bytes", info.peakBytes());
                    if (ok == null) e.add("verified", com.google.gson.JsonNull.INSTANCE);
                    else e.addProperty("verified", ok);
                    JsonArray names = new JsonArray();
                    onDevice.get(d).forEach(names::add);
                    e.add("components", names);
                    list.add(e);
                    if (Boolean.FALSE.equals(ok)) all = false;
                    if (!json) {
                        out.printf(java.util.Locale.ROOT, "%s: %s, %d steps, peak device %d of %d budget bytes, verified %s%n", d, onDevice.get(d),
                                steps, info.peakBytes(), info.budgetBytes(), ok == null ? "no (--verify not given)" : ok);
                    }
                }
                if (traceFile != null) off.trace().writeChromeJson(traceFile);  // every device's steps are done (result above)
                if (json) {
                    j.add("devices", list);
                    if (all == null) j.add("verified", com.google.gson.JsonNull.INSTANCE);
                    else j.addProperty("verified", all);
                    j.addProperty("steps", steps);
                    j.addProperty("peak_host_bytes", hostPeak);
                    j.addProperty("model_bytes", pipeline.totalBytes());
                    out.println(j);
                } else {
                    out.printf(java.util.Locale.ROOT, "devices %s: peak host %d bytes (pinned, workloads' own left out), model %d bytes%n", devices,
                            hostPeak, pipeline.totalBytes());
                }
                return Boolean.FALSE.equals(all) ? 1 : 0;
            } finally {
                for (ReferenceWorkload w : workloads.values()) w.close();
            }
        }
    }

    /** A device thread's outcome; its failure rethrown as it was (an OffloadException keeps its status and exit code). */
    private static Boolean result(Future<Boolean> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted waiting for a device's steps", e);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new IllegalStateException(e.getCause());
        }
    }

    /** --devices, --replicate and --place (run and plan): a usage error names the flag. */
    static void options(Args args, OffloadConfig.Builder config) {
        if (!args.has("--devices")) {
            if (args.flag("--replicate") || args.has("--place")) throw new UsageException("--replicate and --place need --devices");
            return;
        }
        List<String> devices = List.of(args.option("--devices", "").split(","));
        if (devices.size() < 2 || devices.stream().anyMatch(String::isBlank)) {
            throw new UsageException("--devices needs two or more device names separated by commas (host:0,host:1), got '"
                    + args.option("--devices", "") + "'");
        }
        if (args.has("--device")) throw new UsageException("--device and --devices exclude each other");
        config.devices(devices.toArray(String[]::new)).replicate(args.flag("--replicate"));
        for (String place : args.options("--place")) {
            int eq = place.indexOf('=');
            if (eq <= 0 || eq == place.length() - 1) throw new UsageException("--place needs NAME=DEVICE, got '" + place + "'");
            config.place(place.substring(0, eq), place.substring(eq + 1));
        }
    }
}
