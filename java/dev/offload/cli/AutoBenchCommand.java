package dev.offload.cli;

import dev.offload.Component;
import dev.offload.Group;
import dev.offload.OffloadConfig;
import dev.offload.Offloader;
import dev.offload.Step;
import dev.offload.StepMetrics;
import dev.offload.Strategy;
import dev.offload.checkpoint.DType;
import dev.offload.graph.BlockGraph;
import dev.offload.graph.Grouping;
import dev.offload.graph.TensorRef;
import dev.offload.plan.ComputeProfile;
import dev.offload.plan.PackedGroup;
import dev.offload.plan.PinPolicy;
import dev.offload.plan.Plan;
import dev.offload.workload.WorkloadRun;
import java.lang.foreign.Arena;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Issue 8's acceptance benchmark: a synthetic model twice the budget, compute and copy balanced
 * (each block's compute is a stream delay as long as its copy at the measured bandwidth), run under
 * every fixed strategy that fits and under AUTO given the compute profile. Median step time of
 * each (STEP timing, the first steps left out), over interleaved repeats; AUTO's prediction beside
 * its measurement. Exit 1 when AUTO is slower than the best fixed strategy by more than the
 * measurement noise (the median over the arrangements of half the spread of their repeats,
 * relative; at least 5 %) or its prediction is off by more than 25 %.
 *
 * <pre>./offload autobench [--device host|cuda] [--block-mib N] [--blocks N] [--steps N] [--repeats N] [--ratio R]</pre>
 * (scripts/auto-bench.sh runs it; the GPU run, tests/gpu/run.sh, too).
 * {@code --ratio} sets compute to R times the copy (1: balanced, the acceptance case; below 1 the
 * copies dominate and what is pinned matters).
 */
final class AutoBenchCommand {
    static final String USAGE = "autobench [--device NAME] [--block-mib N] [--blocks N] [--steps N] [--repeats N] [--ratio R]";

    private AutoBenchCommand() {}

    static final double NOISE = 0.05, PREDICTION = 0.25;

    static int run(List<String> argv, java.io.PrintStream out) {
        Args args = new Args(argv, java.util.Set.of(), java.util.Set.of("--device", "--block-mib", "--blocks", "--steps", "--repeats", "--ratio"));
        if (!args.positional().isEmpty()) throw new UsageException("autobench takes no paths: " + args.positional());
        String device = args.option("--device", "auto");
        long blockBytes = (long) Main.parseInt(args.option("--block-mib", "16"), "--block-mib", 1, 4096) << 20;
        int blocks = Main.parseInt(args.option("--blocks", "16"), "--blocks", 2, 4096);
        int steps = Main.parseInt(args.option("--steps", "30"), "--steps", 4, 100_000);
        int repeats = Main.parseInt(args.option("--repeats", "7"), "--repeats", 1, 1000);
        double ratio;
        try {
            ratio = Double.parseDouble(args.option("--ratio", "1"));
        } catch (NumberFormatException e) {
            throw new UsageException("--ratio must be a number, got '" + args.option("--ratio", "") + "'");
        }
        if (!(ratio > 0) || !Double.isFinite(ratio)) throw new UsageException("--ratio must be a positive number, got " + ratio);
        try (Arena arena = Arena.ofShared()) {
            BlockGraph graph = model(arena, blocks, blockBytes);
            long model = graph.totalBytes();
            long budget = model / 2;
            double gbps;
            try (Offloader probe = Offloader.open(OffloadConfig.builder().device(device).strategy(Strategy.AUTO).build())) {
                gbps = probe.facts().h2dGbps();
            }
            double[] unitMs = new double[graph.groups(Grouping.blocks(1)).size()];
            var units = graph.groups(Grouping.blocks(1));
            for (int u = 0; u < unitMs.length; u++) unitMs[u] = ratio * units.get(u).byteSize() / (gbps * 1e6);  // ratio 1: balanced
            out.printf(Locale.ROOT, "model %s (%d blocks of %d MiB), budget %s, %s, copies at %.2f GB/s, compute %.2fx copy: %.3f ms per block%n",
                    dev.offload.Size.format(model), blocks, blockBytes >> 20, dev.offload.Size.format(budget), device, gbps, ratio, unitMs[1]);
            Map<String, OffloadConfig> configs = new LinkedHashMap<>();
            OffloadConfig.Builder base = OffloadConfig.builder().device(device).deviceBudget(budget).h2dGbps(gbps);
            for (int n : new int[] {1, 2, 4}) configs.put("group_offload " + n + "/group", copy(base).strategy(Strategy.GROUP_OFFLOAD).blocksPerGroup(n).build());
            for (int n : new int[] {1, 2}) configs.put("block_pin " + n + "/group", copy(base).strategy(Strategy.BLOCK_PIN).blocksPerGroup(n).build());
            for (int w : new int[] {2, 3, 4}) configs.put("layerwise window " + w, copy(base).strategy(Strategy.LAYERWISE).window(w).build());
            configs.put("group_offload first_last", copy(base).strategy(Strategy.GROUP_OFFLOAD).pin(PinPolicy.firstLast()).build());
            configs.put("AUTO", copy(base).strategy(Strategy.AUTO).computeProfile("model", new ComputeProfile(unitMs, gbps)).build());
            Map<String, List<Double>> medians = new LinkedHashMap<>();
            Map<String, Double> predicted = new LinkedHashMap<>();
            Map<String, String> chosen = new LinkedHashMap<>();
            Map<String, String> deviceMiB = new LinkedHashMap<>();
            for (int r = 0; r < repeats; r++) {
                for (var e : configs.entrySet()) {
                    Run run;
                    try {
                        run = run(e.getValue(), graph, unitMs, steps);
                    } catch (dev.offload.OffloadException x) {
                        if (r == 0) out.println(e.getKey() + ": does not fit (" + x.getMessage() + ")");
                        continue;
                    }
                    medians.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(run.medianMs);
                    predicted.put(e.getKey(), run.predictedMs);
                    chosen.put(e.getKey(), run.setup);
                    deviceMiB.put(e.getKey(), String.format(Locale.ROOT, "%.1f", run.deviceBytes / 1048576.0));
                }
            }
            out.println();
            out.println("| arrangement | setup | device MiB | predicted ms | measured ms (median of repeats) | repeats |");
            out.println("|---|---|---|---|---|---|");
            double bestFixed = Double.MAX_VALUE;
            String best = null;
            Map<String, Double> measured = new LinkedHashMap<>();
            for (var e : medians.entrySet()) {
                double m = WorkloadRun.median(e.getValue().stream().mapToDouble(Double::doubleValue).toArray());
                measured.put(e.getKey(), m);
                if (!e.getKey().equals("AUTO") && m < bestFixed) {
                    bestFixed = m;
                    best = e.getKey();
                }
                out.printf(Locale.ROOT, "| %s | %s | %s | %.2f | %.2f %s | %d |%n", e.getKey(), chosen.get(e.getKey()),
                        deviceMiB.get(e.getKey()), predicted.get(e.getKey()), m, e.getValue().stream()
                                .map(v -> String.format(Locale.ROOT, "%.2f", v)).toList(), e.getValue().size());
            }
            double auto = measured.get("AUTO"), autoPredicted = predicted.get("AUTO");
            double error = Math.abs(autoPredicted - auto) / auto;
            // Measurement noise: the median, over the arrangements, of half the spread of a run's
            // repeats relative to their median (at least NOISE).
            double[] spreads = medians.entrySet().stream().mapToDouble(e -> {
                double[] v = e.getValue().stream().mapToDouble(Double::doubleValue).toArray();
                double lo = java.util.Arrays.stream(v).min().orElse(0), hi = java.util.Arrays.stream(v).max().orElse(0);
                return (hi - lo) / 2 / measured.get(e.getKey());
            }).toArray();
            double noise = Math.max(NOISE, WorkloadRun.median(spreads));
            boolean fastEnough = auto <= bestFixed * (1 + noise);
            out.printf(Locale.ROOT, "%nmeasurement noise (median half-spread of the repeats): %.1f %%%n", 100 * noise);
            out.printf(Locale.ROOT, "AUTO chose %s: %.2f ms measured, %.2f ms predicted (%.1f %% off); best fixed %s: %.2f ms -> %s%n",
                    chosen.get("AUTO"), auto, autoPredicted, 100 * error, best, bestFixed,
                    fastEnough && error <= PREDICTION ? "PASS" : "FAIL" + (fastEnough ? "" : " (slower than the best fixed)")
                            + (error <= PREDICTION ? "" : " (prediction off by more than 25 %)"));
            return fastEnough && error <= PREDICTION ? 0 : 1;
        }
    }

    record Run(double medianMs, double predictedMs, String setup, long deviceBytes) {}

    static Run run(OffloadConfig config, BlockGraph graph, double[] unitMs, int steps) {
        try (Offloader off = Offloader.open(config)) {
            Component c = off.register("model", graph);
            // per group compute: the sum of its blocks' (one block per group: the units themselves)
            double[] groupMs = dev.offload.plan.Resolver.aggregate(graph, unitMs, c.plan().groups().stream().map(PackedGroup::spec).toList());
            // Figures are read as the steps finish (the engine keeps only the last 64): step s - lag is
            // done once step s has begun, so reading it never waits.
            int lag = 1 + config.stepsAhead();
            double[] ms = new double[steps - 2];
            for (int s = 0; s < steps; s++) {
                try (Step step = off.step("model")) {
                    int g = 0;
                    for (Group group : step) step.computeStream().delay(Duration.ofNanos((long) (groupMs[g++] * 1e6)));
                }
                if (s - lag >= 2) ms[s - lag - 2] = c.metrics(s - lag, true).stepMs();
            }
            for (int s = Math.max(2, steps - lag); s < steps; s++) ms[s - 2] = c.metrics(s, true).stepMs();
            Plan plan = off.plan();
            Plan.Entry e = plan.components().get(0);
            double predicted = e.profiled() ? e.predictedStepMs()
                    : dev.offload.plan.Resolver.predict(c.plan(), groupMs, off.facts());
            return new Run(WorkloadRun.median(ms), predicted, c.setup().label() + " pinned " + c.plan().pinnedGroups().size(),
                    c.plan().deviceBytes());
        }
    }

    static OffloadConfig.Builder copy(OffloadConfig.Builder b) {
        OffloadConfig c = b.build();
        return OffloadConfig.builder().device(c.device()).deviceBudget(c.deviceBudget()).h2dGbps(c.h2dGbps());
    }

    /** head (a quarter block), blocks of random bytes, tail (a quarter block). */
    static BlockGraph model(Arena arena, int blocks, long blockBytes) {
        java.util.SplittableRandom random = new java.util.SplittableRandom(8);
        BlockGraph.Builder b = BlockGraph.builder().head(tensor(arena, "embed.weight", blockBytes / 4, random));
        for (int i = 0; i < blocks; i++) b.block("blocks", List.of(tensor(arena, "blocks." + i + ".w", blockBytes, random)));
        return b.tail(tensor(arena, "proj_out.weight", blockBytes / 4, random)).build();
    }

    static TensorRef tensor(Arena arena, String name, long bytes, java.util.SplittableRandom random) {
        var seg = arena.allocate(bytes, 256);
        for (long i = 0; i + 8 <= bytes; i += 8) seg.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, i, random.nextLong());
        return new TensorRef(name, DType.U8, new long[] {bytes}, seg);
    }
}
