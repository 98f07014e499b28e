package dev.offload.cli;

import dev.offload.OffloadConfig;
import dev.offload.Offloader;
import dev.offload.Size;
import dev.offload.Strategy;
import dev.offload.checkpoint.OpenOptions;
import dev.offload.checkpoint.Pipeline;
import dev.offload.graph.BlockGraph;
import dev.offload.plan.PinPolicy;
import dev.offload.plan.Plan;
import dev.offload.workload.ReferenceWorkload;
import dev.offload.workload.WorkloadRun;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code ./offload plan PATH... [--budget SIZE] [--host-memory SIZE] [--strategy S] [--source S] [--json]}:
 * what an offloader would do with a checkpoint or a pipeline's components, and why, without doing
 * it: nothing is packed or pinned and no weights move (the bandwidth probe aside, unless
 * {@code --h2d-gbps} gives it). The strategy defaults to auto. {@code --host-memory} replaces the
 * measured available host memory; {@code --source} and {@code --staging} are run's (with no source
 * a component whose pinned copy would not fit streams from disk, as run would do). The budget left
 * to the components is what run leaves them: run's workload buffers ({@code --workload},
 * {@code --tokens}, {@code --hidden}, run's defaults) are allocated first and counted, so plan and run
 * agree on whether a budget fits (issue 16). JSON: strategy, pinned_groups, predicted_step_ms, device_bytes,
 * host_bytes, reason, components (the same fields per component), workload and workload_buffer_bytes.
 */
final class PlanCommand {
    static final String USAGE = "plan PATH... [--budget SIZE] [--host-memory SIZE] [--strategy S] [--pin P] [--blocks-per-group N | --leaf]"
            + " [--window D] [--reserve SIZE] [--h2d-gbps X] [--source pinned|disk|lowmem] [--staging SIZE] [--device NAME] [--variant V]"
            + " [--component NAME] [--workload mix|linear|none] [--tokens N] [--hidden N] [--devices D,D... [--replicate | --place NAME=DEVICE ...]]"
            + " [--json]";

    private PlanCommand() {}

    static int run(List<String> argv, PrintStream out) {
        Args args = new Args(argv, Set.of("--json", "--leaf", "--replicate"), Set.of("--devices", "--place", "--budget", "--host-memory", "--strategy", "--pin", "--blocks-per-group",
                "--window", "--reserve", "--h2d-gbps", "--device", "--variant", "--component", "--source", "--staging", "--workload", "--tokens", "--hidden"));
        if (args.positional().isEmpty()) throw new UsageException("plan needs at least one checkpoint path");
        if (args.flag("--leaf") && args.has("--blocks-per-group")) throw new UsageException("--leaf and --blocks-per-group exclude each other");
        OffloadConfig.Builder config = OffloadConfig.builder()
                .device(args.option("--device", "auto"))
                .deviceBudget(args.has("--budget") ? Size.parse(args.option("--budget", "0")) : 0)
                .strategy(Strategy.parse(args.option("--strategy", "auto")))
                .window(Main.parseInt(args.option("--window", "2"), "--window", 1, 1 << 16))
                .activationReserve(args.has("--reserve") ? Size.parse(args.option("--reserve", "0")) : 0);
        if (args.has("--pin")) config.pin(PinPolicy.parse(args.option("--pin", "none")));
        if (args.flag("--leaf")) config.leafLevel();
        else config.blocksPerGroup(Main.parseInt(args.option("--blocks-per-group", "1"), "--blocks-per-group", 1, 1 << 16));
        if (args.has("--h2d-gbps")) config.h2dGbps(parseGbps(args.option("--h2d-gbps", "")));
        RunCommand.source(args, config);
        DevicesRun.options(args, config);  // several devices: each component's JSON gains device, devices and device_reason
        java.util.OptionalLong hostMemory = args.has("--host-memory") ? java.util.OptionalLong.of(Size.parse(args.option("--host-memory", "0")))
                : java.util.OptionalLong.empty();
        List<Path> paths = args.positional().stream().map(p -> RunCommand.path(p, "checkpoint path")).toList();
        OpenOptions options = OpenOptions.defaults().variant(args.option("--variant", null)).component(args.option("--component", null));
        String workload = args.option("--workload", "mix").toLowerCase(java.util.Locale.ROOT);
        int tokens = Main.parseInt(args.option("--tokens", "1"), "--tokens", 1, 65536);
        int hidden = Main.parseInt(args.option("--hidden", String.valueOf(ReferenceWorkload.DEFAULT_HIDDEN)), "--hidden", 1, 65536);
        Plan plan;
        long bufferBytes;
        try (Pipeline pipeline = Main.openInputs(paths, options); Offloader off = Offloader.open(config.build());
             WorkloadRun.Buffers buffers = WorkloadRun.workloadBuffers(off, pipeline, workload, tokens, hidden)) {
            bufferBytes = off.deviceInfo().usedBytes();
            Map<String, BlockGraph> graphs = new LinkedHashMap<>();
            pipeline.components().forEach((name, checkpoint) -> {
                if (checkpoint.tensors().isEmpty()) {
                    throw dev.offload.OffloadException.invalid(checkpoint.name() + ": no tensors, nothing to plan (component '" + name + "')");
                }
                graphs.put(name, BlockGraph.discover(checkpoint));
            });
            plan = WorkloadRun.withinBudget(() -> off.preview(graphs, hostMemory));
        }
        if (args.flag("--json")) {
            com.google.gson.JsonObject json = plan.toJson();
            json.addProperty("workload", workload);
            json.addProperty("workload_buffer_bytes", bufferBytes);
            out.println(json);
        } else {
            out.print(plan.explain());
            out.println("workload: " + workload + " (as run's --workload, --tokens, --hidden), its device buffers " + bufferBytes + " bytes ("
                    + Size.format(bufferBytes) + "), counted in the budget above" + (workload.equals("none") ? "" : "; --workload none leaves them out"));
        }
        return 0;
    }

    private static double parseGbps(String text) {
        try {
            double v = Double.parseDouble(text.trim());
            if (!(v > 0) || !Double.isFinite(v)) throw new UsageException("--h2d-gbps must be a positive number of GB/s, got " + text);
            return v;
        } catch (NumberFormatException e) {
            throw new UsageException("--h2d-gbps must be a number of GB/s, got '" + text + "'");
        }
    }
}
