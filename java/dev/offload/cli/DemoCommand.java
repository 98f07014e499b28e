package dev.offload.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.offload.OffloadConfig;
import dev.offload.OffloadException;
import dev.offload.Size;
import dev.offload.Strategy;
import dev.offload.Timing;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.files.FileWriteException;
import dev.offload.files.ProcessTemps;
import dev.offload.workload.ReferenceWorkload;
import dev.offload.workload.SyntheticModel;
import dev.offload.workload.WorkloadRun;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code ./offload demo [--json] [--steps N] [--tokens N] [--dim N]}: writes a Flux-shaped synthetic
 * checkpoint of a few hundred MiB to a temporary folder, runs it under each strategy with a device
 * budget well below its size (NO_OFFLOAD, the baseline, gets room for the whole model), verifies every
 * step against the unoffloaded Java reference, and prints one row per run. Exit 1 if any run
 * differs from the reference. The folder ({@code offload-demo-PID-START-SEQ} in java.io.tmpdir) is
 * removed at the end, on Ctrl-C (the shutdown hook of {@link ProcessTemps}), or, after kill -9, by
 * the next demo. {@code --devices D,D...} adds a row for the same component replicated on those
 * devices (one offloader, one host copy, each device within the offloaded budget, stepped from a
 * thread per device and each verified: DevicesRun); its JSON is {@code devices_run}, with the
 * per-device entries of {@code run --json --devices}. It runs first, so a device that cannot be
 * opened fails the demo before the strategies' runs.
 */
final class DemoCommand {
    static final String USAGE = "demo [--steps N] [--tokens N] [--dim N] [--budget-fraction F] [--device NAME] [--trace FILE] [--source pinned|disk|lowmem] [--staging SIZE] [--disk-io auto|buffered|direct|probe] [--readers N] [--disk-cache DIR] [--disk-cache-max SIZE] [--disk-cache-check stamp|content] [--devices D,D...] [--json]";

    private DemoCommand() {}

    static int run(List<String> argv, PrintStream out, PrintStream err) {
        Args args = new Args(argv, Set.of("--json"), Set.of("--steps", "--tokens", "--dim", "--budget-fraction", "--device", "--trace",
                "--source", "--staging", "--disk-cache", "--disk-io", "--readers", "--disk-cache-max", "--disk-cache-check", "--devices"));
        boolean tracing = args.has("--trace");
        if (!args.positional().isEmpty()) throw new UsageException("demo takes no arguments: " + args.positional());
        Path traceFile = tracing ? RunCommand.traceFile(args.option("--trace", "")) : null;
        int steps = Main.parseInt(args.option("--steps", "4"), "--steps", 1, 1000);
        int tokens = Main.parseInt(args.option("--tokens", "1"), "--tokens", 1, 65536);
        int dim = Main.parseInt(args.option("--dim", "1024"), "--dim", 64, 8192);
        double fraction;
        try {
            fraction = Double.parseDouble(args.option("--budget-fraction", "0.3"));
        } catch (NumberFormatException e) {
            throw new UsageException("--budget-fraction must be a number, got '" + args.option("--budget-fraction", "") + "'");
        }
        if (!(fraction > 0 && fraction < 1)) throw new UsageException("--budget-fraction must be between 0 and 1");
        String device = args.option("--device", "auto");
        List<String> devices = args.has("--devices") ? DevicesRun.devices(args) : List.of();
        OffloadConfig.Builder sourced = OffloadConfig.builder();  // only to validate --source and --staging up front
        RunCommand.source(args, sourced);
        OffloadConfig sourceConfig = sourced.build();
        java.util.function.Supplier<OffloadConfig.Builder> base = () -> {
            OffloadConfig.Builder b = OffloadConfig.builder().device(device).stagingBytes(sourceConfig.stagingBytes())
                    .diskCache(sourceConfig.diskCache()).diskCacheMaxBytes(sourceConfig.diskCacheMaxBytes())
                    .diskCacheCheck(sourceConfig.diskCacheCheck()).diskIo(sourceConfig.diskIo()).readerThreads(sourceConfig.readerThreads())
                    .timing(Timing.GROUP);
            return b.source(sourceConfig.source());
        };
        int hidden = ReferenceWorkload.DEFAULT_HIDDEN;

        Path dir = null;
        try {
            dir = ProcessTemps.createFolder(Path.of(System.getProperty("java.io.tmpdir")), "offload-demo-");
            Path file = dir.resolve("model.safetensors");
            SyntheticModel.write(file, dim, 8, 4, 42);
            List<WorkloadRun.Result> results = new ArrayList<>();
            DevicesRun.Outcome devicesRow = null;
            try (Checkpoint checkpoint = Checkpoint.open(file)) {
                long model = checkpoint.totalBytes();
                long budget = (long) (model * fraction) + ReferenceWorkload.deviceBytes(tokens, hidden);
                if (!args.flag("--json")) {
                    err.printf(Locale.ROOT, "demo: synthetic checkpoint of %s at %s; offloaded runs get a device budget of %s%n",
                            Size.format(model), file, Size.format(budget));
                }
                WorkloadRun.Expected expected = new WorkloadRun.Expected();
                List<OffloadConfig> configs = List.of(
                        base.get().trace(tracing).strategy(Strategy.NO_OFFLOAD).build(),
                        base.get().trace(tracing).deviceBudget(budget).strategy(Strategy.GROUP_OFFLOAD).blocksPerGroup(1).build(),
                        base.get().trace(tracing).deviceBudget(budget).strategy(Strategy.GROUP_OFFLOAD).leafLevel().build(),
                        base.get().trace(tracing).deviceBudget(budget).strategy(Strategy.LAYERWISE).window(2).build(),
                        base.get().trace(tracing).deviceBudget(budget).strategy(Strategy.LAYERWISE).window(3).build(),
                        base.get().trace(tracing).deviceBudget(budget).strategy(Strategy.BLOCK_PIN).build(),
                        // the synchronous baseline: one group at a time, no prefetch
                        base.get().trace(tracing).deviceBudget(budget).strategy(Strategy.SEQUENTIAL).blocksPerGroup(1).build(),
                        // AUTO: the size rules first, then its profiled second step re-plans it
                        base.get().trace(tracing).deviceBudget(budget).strategy(Strategy.AUTO).build());
                java.util.Map<String, dev.offload.metrics.Trace> traces = new java.util.LinkedHashMap<>();
                Progress progress = new Progress(err, "demo", (long) (configs.size() + (devices.isEmpty() ? 0 : 1)) * steps, "steps",
                        !args.flag("--json"));
                if (!devices.isEmpty()) {  // the component replicated on the devices: one host copy, a thread per device
                    OffloadConfig replicated = base.get().deviceBudget(budget).strategy(Strategy.GROUP_OFFLOAD).blocksPerGroup(1)
                            .devices(devices.toArray(String[]::new)).replicate(true).build();
                    devicesRow = DevicesRun.measure(java.util.Map.of(dev.offload.checkpoint.Pipeline.SINGLE_COMPONENT, checkpoint), model,
                            replicated, steps, tokens, hidden, true, null);
                    progress.advance(steps);
                }
                for (OffloadConfig config : configs) {
                    WorkloadRun.Result r = WorkloadRun.run(checkpoint, config, "mix", steps, tokens, hidden, true, expected,
                            tracing ? trace -> traces.put("run " + (traces.size() + 1), trace) : null, s -> progress.advance(1));
                    results.add(r);
                }
                progress.finish();
                if (tracing) {  // one process per run, named by its strategy
                    java.util.Map<String, dev.offload.metrics.Trace> named = new java.util.LinkedHashMap<>();
                    int i = 0;
                    for (dev.offload.metrics.Trace t : traces.values()) named.put(results.get(i++).strategy(), t);
                    dev.offload.metrics.Trace.write(traceFile, named);
                }
            }
            boolean allVerified = results.stream().allMatch(r -> Boolean.TRUE.equals(r.verified()))
                    && (devicesRow == null || Boolean.TRUE.equals(devicesRow.verified()));
            if (args.flag("--json")) {
                JsonObject json = new JsonObject();
                json.addProperty("backend", results.get(0).backend());
                json.addProperty("model_bytes", results.get(0).modelBytes());
                json.addProperty("all_verified", allVerified);
                JsonArray runs = new JsonArray();
                results.forEach(r -> runs.add(RunCommand.toJson(r)));
                json.add("runs", runs);
                if (devicesRow != null) json.add("devices_run", devicesRow.toJson());
                out.println(json);
            } else {
                printTable(out, results, devicesRow);
            }
            return allVerified ? 0 : 1;
        } catch (IOException e) {  // only the folder's creation throws it: the writes below report their own
            throw new FileWriteException("cannot create the demo's temporary folder in " + System.getProperty("java.io.tmpdir") + ": "
                    + OffloadException.reason(e), e);
        } finally {
            if (dir != null) ProcessTemps.remove(dir);
        }
    }

    private static void printTable(PrintStream out, List<WorkloadRun.Result> results, DevicesRun.Outcome devicesRow) {
        WorkloadRun.Result first = results.get(0);
        if (first.backend().equals("host")) {
            out.println("backend: host (no CUDA device here: the emulated device runs on the CPU; copies are memcpy)");
        } else {
            out.println("backend: " + first.backend());
        }
        String header = String.format(Locale.ROOT, "%-34s %10s %9s %8s %9s %11s %11s %11s %9s", "strategy", "step ms", "H2D GB/s",
                "overlap", "waits/st", "budget", "peak dev", "peak host", "verified");
        out.println(header);
        for (WorkloadRun.Result r : results) {
            out.println(String.format(Locale.ROOT, "%-34s %10s %9s %8s %9s %11s %11s %11s %9s", r.strategy(),
                    RunCommand.figure(r.stepMsMedian(), 2), RunCommand.figure(r.h2dGbps(), 2), RunCommand.figure(r.overlapEfficiency(), 3),
                    RunCommand.figure(r.hostWaitsPerStep(), 2), Size.format(r.budgetBytes()), Size.format(r.peakDeviceBytes()),
                    Size.format(r.peakHostBytes()), r.verified()));
        }
        if (devicesRow != null) {  // the slowest device's step, the largest device peak, the one host copy; verified on every device
            List<String> names = devicesRow.devices().stream().map(DevicesRun.DeviceOutcome::device).toList();
            out.println(String.format(Locale.ROOT, "%-34s %10s %9s %8s %9s %11s %11s %11s %9s", "replicated on " + String.join(",", names),
                    RunCommand.figure(devicesRow.maxStepMsMedian(), 2), "-", "-", "-", Size.format(devicesRow.maxBudgetBytes()),
                    Size.format(devicesRow.maxPeakDeviceBytes()), Size.format(devicesRow.peakHostBytes()), devicesRow.verified()));
            out.printf(Locale.ROOT, "  %s on each device, one host copy (peak host above)%n", devicesRow.strategy());
            for (DevicesRun.DeviceOutcome d : devicesRow.devices()) {
                out.printf(Locale.ROOT, "  %s: step %s ms (median), peak device %s of %s, verified %s%n", d.device(),
                        RunCommand.figure(d.stepMsMedian(), 2), Size.format(d.peakDeviceBytes()), Size.format(d.budgetBytes()), d.verified());
            }
        }
        out.printf(Locale.ROOT, "model: %s; %d steps each, %d token(s); medians leave out the first step%n",
                Size.format(first.modelBytes()), first.steps(), first.tokens());
    }
}
