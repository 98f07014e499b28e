package dev.offload.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import dev.offload.Component;
import dev.offload.Group;
import dev.offload.OffloadConfig;
import dev.offload.Offloader;
import dev.offload.Step;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.graph.TensorRef;
import dev.offload.runtime.DeviceInfo;
import dev.offload.workload.ReferenceWorkload;
import dev.offload.workload.Workload;
import dev.offload.workload.WorkloadRun;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One offloader on several devices (issue 20), for {@code run --devices host:0,host:1 [--replicate |
 * --place NAME=DEVICE ...]} and {@code demo --devices}'s row. Each device runs the mix workload on its
 * own thread over the components placed (or replicated) on it, in the given order, {@code steps}
 * steps, each step snapshotted and, with {@code verify}, compared bit for bit with the unoffloaded
 * reference; each step's figures are read {@code 1 + stepsAhead} steps behind (so reading never
 * stalls the device). {@link #measure} gives the {@link Outcome}; {@link #run} prints it. JSON:
 * {@code devices} (per device: device, budget_bytes, peak_device_bytes, verified, components,
 * step_ms_median), {@code verified} (all of them), {@code peak_host_bytes} (every runtime's pinned
 * peak, less the workloads' own buffers: one copy of each component however many devices hold it)
 * and {@code model_bytes}.
 */
final class DevicesRun {
    private DevicesRun() {}

    /** One device's part: what ran there, its budget and peak, its verdict (null: not verified) and its median step (ms). */
    record DeviceOutcome(String device, List<String> components, long budgetBytes, long peakDeviceBytes, Boolean verified,
                         double stepMsMedian) {
        JsonObject toJson() {
            JsonObject e = new JsonObject();
            e.addProperty("device", device);
            e.addProperty("budget_bytes", budgetBytes);
            e.addProperty("peak_device_bytes", peakDeviceBytes);
            if (verified == null) e.add("verified", JsonNull.INSTANCE);
            else e.addProperty("verified", verified);
            JsonArray names = new JsonArray();
            components.forEach(names::add);
            e.add("components", names);
            RunCommand.number(e, "step_ms_median", stepMsMedian);
            return e;
        }
    }

    /** Every device's part; {@code verified} is all of theirs (null when not asked); the host peak is the pinned one copy. */
    record Outcome(String backend, String strategy, List<DeviceOutcome> devices, Boolean verified, int steps, long peakHostBytes,
                   long modelBytes) {
        long maxPeakDeviceBytes() {
            return devices.stream().mapToLong(DeviceOutcome::peakDeviceBytes).max().orElse(0);
        }

        long maxBudgetBytes() {
            return devices.stream().mapToLong(DeviceOutcome::budgetBytes).max().orElse(0);
        }

        /** The slowest device's median step (ms). */
        double maxStepMsMedian() {
            return devices.stream().mapToDouble(DeviceOutcome::stepMsMedian).max().orElse(Double.NaN);
        }

        JsonObject toJson() {
            JsonObject j = new JsonObject();
            j.addProperty("strategy", strategy);
            JsonArray list = new JsonArray();
            devices.forEach(d -> list.add(d.toJson()));
            j.add("devices", list);
            if (verified == null) j.add("verified", JsonNull.INSTANCE);
            else j.addProperty("verified", verified);
            j.addProperty("steps", steps);
            j.addProperty("peak_host_bytes", peakHostBytes);
            j.addProperty("model_bytes", modelBytes);
            return j;
        }
    }

    /** {@code run --devices}: the outcome, printed (JSON or a line per device); exit 1 where a device's steps differ. */
    static int run(Map<String, Checkpoint> components, long modelBytes, OffloadConfig config, int steps, int tokens, int hidden,
                   boolean verify, boolean json, PrintStream out, java.nio.file.Path traceFile) {
        Outcome o = measure(components, modelBytes, config, steps, tokens, hidden, verify, traceFile);
        if (json) {
            out.println(o.toJson());
        } else {
            for (DeviceOutcome d : o.devices()) {
                out.printf(Locale.ROOT, "%s: %s, %d steps, step %s ms (median), peak device %d of %d budget bytes, verified %s%n", d.device(),
                        d.components(), steps, RunCommand.figure(d.stepMsMedian(), 2), d.peakDeviceBytes(), d.budgetBytes(),
                        d.verified() != null ? d.verified() : d.components().isEmpty() ? "- (nothing placed here)" : "no (--verify not given)");
            }
            out.printf(Locale.ROOT, "devices %s: peak host %d bytes (pinned, workloads' own left out), model %d bytes%n",
                    o.devices().stream().map(DeviceOutcome::device).toList(), o.peakHostBytes(), modelBytes);
        }
        return Boolean.FALSE.equals(o.verified()) ? 1 : 0;
    }

    /**
     * Registers the components (in order) in one offloader on the config's devices and steps each device from its own thread;
     * with {@code traceFile} (a config with {@code trace(true)}) every device's timeline is written there, a process each.
     */
    static Outcome measure(Map<String, Checkpoint> components, long modelBytes, OffloadConfig config, int steps, int tokens, int hidden,
                           boolean verify, java.nio.file.Path traceFile) {
        List<String> devices = config.placement().devices();
        try (Offloader off = Offloader.open(config)) {
            Map<String, ReferenceWorkload> workloads = new LinkedHashMap<>();
            try {
                for (String d : devices) workloads.put(d, new ReferenceWorkload(off, d, tokens, hidden, steps));
                Map<String, Component> registered = new LinkedHashMap<>();
                components.forEach((name, checkpoint) -> registered.put(name, off.register(name, checkpoint)));
                var placement = off.plan().placement();
                ExecutorService threads = Executors.newFixedThreadPool(devices.size());
                Map<String, Future<Stepped>> stepped = new LinkedHashMap<>();
                Map<String, List<String>> onDevice = new LinkedHashMap<>();
                try {
                    for (String d : devices) {
                        List<String> names = new ArrayList<>();
                        registered.keySet().forEach(n -> {
                            if (placement.get(n).devices().contains(d)) names.add(n);
                        });
                        onDevice.put(d, names);
                        List<TensorRef> order = new ArrayList<>();
                        for (String n : names) order.addAll(registered.get(n).graph().tensors());
                        ReferenceWorkload w = workloads.get(d);
                        stepped.put(d, threads.submit(() -> steps(off, d, names, w, order, steps, 1 + config.stepsAhead(), verify)));
                    }
                } finally {
                    awaitAll(threads);  // also when a submit or the loop fails: no thread outlives the offloader, the pool is shut down
                }
                // a device's failure is reported (result, below) once every device's thread is done with the offloader
                List<DeviceOutcome> outcomes = new ArrayList<>();
                Boolean all = verify ? Boolean.TRUE : null;
                long hostPeak = 0;
                for (String d : devices) {
                    Stepped done = result(stepped.get(d));
                    double[] stepMs = done.stepMs();
                    Boolean ok = done.verified();
                    List<String> names = onDevice.get(d);
                    DeviceInfo info = off.runtime(d).info();
                    hostPeak += info.hostPeakBytes() - workloads.get(d).pinnedBytes();
                    double[] steady = steps > 1 ? java.util.Arrays.copyOfRange(stepMs, 1, steps) : stepMs;
                    outcomes.add(new DeviceOutcome(d, names, info.budgetBytes(), info.peakBytes(), ok,
                            names.isEmpty() ? Double.NaN : WorkloadRun.median(steady)));
                    if (Boolean.FALSE.equals(ok)) all = false;
                }
                if (traceFile != null) off.trace().writeChromeJson(traceFile);  // every device's steps are done (result above)
                List<String> labels = new ArrayList<>();
                registered.values().forEach(c -> labels.add(c.setup().label()));
                return new Outcome(off.deviceInfo().backend().id(), String.join(", ", labels), outcomes, all, steps, hostPeak,
                        modelBytes);
            } finally {
                for (ReferenceWorkload w : workloads.values()) w.close();
            }
        }
    }

    /** A device thread's steps: each step's milliseconds and the verdict (null: nothing on it, or not verified). */
    private record Stepped(double[] stepMs, Boolean verified) {}

    /**
     * One device's steps from its own thread: each step of each of its components (named by the
     * device), then a snapshot; each step's milliseconds (the device's components' summed) are read
     * {@code lag} steps behind and waited for at the end; then, with {@code verify}, the snapshots
     * are compared with the reference.
     */
    private static Stepped steps(Offloader off, String device, List<String> names, ReferenceWorkload w, List<TensorRef> order,
                                 int steps, int lag, boolean verify) {
        double[] stepMs = new double[steps];
        if (names.isEmpty()) return new Stepped(stepMs, null);
        Component[] onDevice = new Component[names.size()];
        long[][] index = new long[steps][names.size()];
        w.start(order);
        int read = 0;
        for (int s = 0; s < steps; s++) {
            for (int i = 0; i < names.size(); i++) {
                try (Step step = off.step(names.get(i), device)) {
                    for (Group group : step) w.group(group);
                    onDevice[i] = step.component();  // this device's engine's component (a replicated one has one per device)
                    index[s][i] = step.index();
                }
            }
            w.snapshot(s);
            while (read <= s - lag) stepMs[read] = stepMs(onDevice, index[read++]);
        }
        while (read < steps) stepMs[read] = stepMs(onDevice, index[read++]);
        return new Stepped(stepMs, verify ? w.verify(steps, order, new Workload.Expected()) == null : null);
    }

    private static double stepMs(Component[] components, long[] index) {
        double ms = 0;
        for (int i = 0; i < components.length; i++) ms += components[i].metrics(index[i], true).stepMs();
        return ms;
    }

    private static void awaitAll(ExecutorService threads) {
        threads.shutdown();
        try {
            while (!threads.awaitTermination(1, java.util.concurrent.TimeUnit.MINUTES)) {
                // a device still stepping: keep waiting (each step has its own timeouts)
            }
        } catch (InterruptedException e) {
            threads.shutdownNow();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted waiting for the devices' steps", e);
        }
    }

    /** A device thread's outcome; its failure rethrown as it was (an OffloadException keeps its status and exit code). */
    private static <T> T result(Future<T> f) {
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
        config.devices(devices(args).toArray(String[]::new)).replicate(args.flag("--replicate"));
        for (String place : args.options("--place")) {
            int eq = place.indexOf('=');
            if (eq <= 0 || eq == place.length() - 1) throw new UsageException("--place needs NAME=DEVICE, got '" + place + "'");
            config.place(place.substring(0, eq), place.substring(eq + 1));
        }
    }

    /** --devices D,D... (run, plan, demo): two or more names, none empty, none twice, and not with --device. */
    static List<String> devices(Args args) {
        String text = args.option("--devices", "");
        List<String> devices = List.of(text.split(",", -1));
        if (devices.size() < 2 || devices.stream().anyMatch(String::isBlank)) {
            throw new UsageException("--devices needs two or more device names separated by commas (host:0,host:1), got '" + text + "'");
        }
        for (String d : devices) {
            if (devices.indexOf(d) != devices.lastIndexOf(d)) {
                throw new UsageException("--devices names '" + d + "' twice in '" + text + "': each device is named once");
            }
        }
        if (args.has("--device")) throw new UsageException("--device and --devices exclude each other");
        return devices;
    }
}
