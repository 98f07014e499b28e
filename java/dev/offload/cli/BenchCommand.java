package dev.offload.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.offload.Component;
import dev.offload.Group;
import dev.offload.OffloadConfig;
import dev.offload.Offloader;
import dev.offload.Size;
import dev.offload.Step;
import dev.offload.StepMetrics;
import dev.offload.Strategy;
import dev.offload.Timing;
import dev.offload.checkpoint.DType;
import dev.offload.graph.BlockGraph;
import dev.offload.graph.TensorRef;
import dev.offload.runtime.CopyBandwidth;
import dev.offload.runtime.PinnedBuffer;
import dev.offload.workload.WorkloadRun;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code ./offload bench [--device NAME] [--json]}: a short, verified selection of the benchmarks
 * on the current backend, in seconds:
 * <ul>
 *   <li>bandwidth: {@link CopyBandwidth} from pinned memory (data verified after timing);</li>
 * *   <li>pipeline: GROUP_OFFLOAD of 16 groups (16 MiB each on host, 64 MiB on cuda) through 2 slots, compute a stream delay of 0.5x, 1x
 *       and 2x one group's copy time; overlap efficiency per ratio from GROUP timing (the balanced
 *       one is ratio 1); each step copies 16 bytes of every acquired group back (pinned, in stream
 *       order) and they are checked against the group's fill pattern after the run;</li>
 *   <li>acquire/release: 200 leaf-level steps of 256 tiny groups with no compute; host nanoseconds per
 *       group in acquire and release, back-pressure wait excluded, median over the last 100 steps
 *       (the steady state: the JIT has compiled the per-group path by then).</li>
 * </ul>
 * Exit 1 when a check fails. docs/BENCHMARKS.md holds the longer benchmarks (JMH, native).
 */
final class BenchCommand {
    static final String USAGE = "bench [--device NAME] [--json]";
    private static final int GROUPS = 16, LEAF_GROUPS = 256, STEPS = 6;

    private BenchCommand() {}

    static int run(List<String> argv, PrintStream out) {
        Args args = new Args(argv, Set.of("--json"), Set.of("--device"));
        if (!args.positional().isEmpty()) throw new UsageException("bench takes no arguments: " + args.positional());
        String device = args.option("--device", "auto");
        JsonObject json = new JsonObject();
        boolean verified = true;
        try (Arena arena = Arena.ofShared()) {
            double bandwidth;
            String backend;
            long groupBytes;
            try (Offloader probe = Offloader.open(OffloadConfig.builder().device(device).build())) {
                backend = probe.deviceInfo().backend().id();
                groupBytes = backend.equals("host") ? Size.mib(16) : Size.mib(64);  // past the CPU caches on host
                try (PinnedBuffer p = probe.runtime().allocatePinned(groupBytes)) {
                    bandwidth = CopyBandwidth.hostToDevice(probe.runtime(), p.segment(), 5).medianGbps();
                }
            }
            json.addProperty("backend", backend);
            json.addProperty("h2d_pinned_gbps", bandwidth);
            double copyMs = groupBytes / (bandwidth * 1e9) * 1e3;
            JsonArray sweep = new JsonArray();
            double balanced = Double.NaN;
            BlockGraph graph = graph(arena, GROUPS, groupBytes);
            for (double ratio : new double[] {0.5, 1, 2}) {
                Sweep s = pipeline(device, graph, groupBytes, Duration.ofNanos((long) (ratio * copyMs * 1e6)));
                verified &= s.verified;
                JsonObject row = new JsonObject();
                row.addProperty("compute_copy_ratio", ratio);
                row.addProperty("step_ms", s.stepMs);
                row.addProperty("overlap_efficiency", s.overlap);
                row.addProperty("verified", s.verified);
                sweep.add(row);
                if (ratio == 1) balanced = s.overlap;
            }
            json.add("pipeline", sweep);
            json.addProperty("overlap_efficiency_balanced", balanced);
            json.addProperty("acquire_release_ns", acquireReleaseNs(device, graph(arena, LEAF_GROUPS, 4096)));
            json.addProperty("verified", verified);
        }
        if (args.flag("--json")) {
            out.println(json);
        } else {
            out.printf(Locale.ROOT, "backend %s: H2D pinned %.2f GB/s; overlap at balance %.3f; acquire/release %.0f ns per group;"
                            + " verified %s%n", json.get("backend").getAsString(), json.get("h2d_pinned_gbps").getAsDouble(),
                    json.get("overlap_efficiency_balanced").getAsDouble(), json.get("acquire_release_ns").getAsDouble(), verified);
            for (var e : json.getAsJsonArray("pipeline")) {
                JsonObject r = e.getAsJsonObject();
                out.printf(Locale.ROOT, "  compute/copy %.1f: step %.2f ms, overlap %.3f%n", r.get("compute_copy_ratio").getAsDouble(),
                        r.get("step_ms").getAsDouble(), r.get("overlap_efficiency").getAsDouble());
            }
        }
        return verified ? 0 : 1;
    }

    /** {@code n} one-tensor blocks of {@code bytes} bytes; block g is filled with the byte g + 1. */
    private static BlockGraph graph(Arena arena, int n, long bytes) {
        BlockGraph.Builder b = BlockGraph.builder();
        for (int g = 0; g < n; g++) {
            MemorySegment data = arena.allocate(bytes, 256);
            data.fill((byte) (g + 1));
            b.block("blocks", List.of(new TensorRef("blocks." + g + ".weight", DType.U8, new long[] {bytes}, data)));
        }
        return b.build();
    }

    private record Sweep(double stepMs, double overlap, boolean verified) {}

    private static Sweep pipeline(String device, BlockGraph graph, long groupBytes, Duration compute) {
        OffloadConfig config = OffloadConfig.builder().device(device).strategy(Strategy.GROUP_OFFLOAD).timing(Timing.GROUP)
                .deviceBudget(2 * groupBytes + Size.mib(1)).build();
        try (Offloader off = Offloader.open(config)) {
            Component c = off.register("bench", graph);
            try (PinnedBuffer samples = off.runtime().allocatePinned(16L * STEPS * GROUPS)) {
                samples.segment().fill((byte) 0);
                for (int s = 0; s < STEPS; s++) {
                    try (Step step = off.step("bench")) {
                        for (Group g : step) {
                            step.computeStream().delay(compute);
                            sample(off, g, samples.segment().asSlice(16L * (s * GROUPS + g.index()), 16));
                        }
                    }
                }
                double[] step = new double[STEPS - 1], overlap = new double[STEPS - 1];
                for (int s = 1; s < STEPS; s++) {
                    StepMetrics m = c.metrics(s, true);
                    step[s - 1] = m.stepMs();
                    overlap[s - 1] = m.overlapEfficiency();
                }
                off.computeStream().synchronize();
                boolean ok = true;
                for (int i = 0; i < STEPS * GROUPS; i++) {
                    byte want = (byte) (i % GROUPS + 1);
                    for (int b = 0; b < 16; b++) ok &= samples.segment().get(ValueLayout.JAVA_BYTE, 16L * i + b) == want;
                }
                return new Sweep(WorkloadRun.median(step), WorkloadRun.median(overlap), ok);
            }
        }
    }

    /** Copies the first 8 and the last 8 bytes the group holds now into {@code to}, in compute-stream order. */
    private static void sample(Offloader off, Group g, MemorySegment to) {
        var t = g.tensors().get(0);
        long at = t.devicePointer().address();
        copyBack(off, at, to.asSlice(0, 8));
        copyBack(off, at + t.byteSize() - 8, to.asSlice(8, 8));
    }

    private static void copyBack(Offloader off, long deviceAddress, MemorySegment to) {
        off.computeStream().copyToHost(MemorySegment.ofAddress(deviceAddress), to, 8);
    }

    private static double acquireReleaseNs(String device, BlockGraph graph) {
        OffloadConfig config = OffloadConfig.builder().device(device).strategy(Strategy.GROUP_OFFLOAD).leafLevel().build();
        try (Offloader off = Offloader.open(config)) {
            Component c = off.register("leaf", graph);
            int steps = 200;  // 51,200 groups: the JIT has compiled the per-group path before the last 100 steps
            int measured = 100;
            double[] perGroup = new double[measured];
            for (int s = 0; s < steps; s++) {
                Step step = off.step("leaf");
                var groups = step.iterator();
                while (groups.hasNext()) groups.next();  // no compute: the host cost of acquire and release alone
                step.close();
                if (s >= steps - measured) {
                    double blockedNs = c.metrics(s, true).hostBlockedMs() * 1e6;
                    perGroup[s - (steps - measured)] = (step.hostNanos() - blockedNs) / c.groupCount();
                }
            }
            return WorkloadRun.median(perGroup);
        }
    }
}
