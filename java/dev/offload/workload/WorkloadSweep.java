package dev.offload.workload;

import dev.offload.Component;
import dev.offload.HostSource;
import dev.offload.OffloadConfig;
import dev.offload.Offloader;
import dev.offload.ProgressListener;
import dev.offload.Strategy;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.graph.Grouping;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One checkpoint through every streaming variant at several token counts, in one process, pinned
 * once ({@code ./offload sweep}; tests/gpu/run.sh's pipeline figures).
 *
 * <p>Design: a fresh process per (variant, tokens) pins the whole model again each time, and reads
 * its host figures with the JIT cold. Here one offloader holds one pinned copy, packed one block per
 * group, and runs, in the order given, block ({@code group_offload}, one block per group) as
 * registered, and leaf ({@code group_offload} at leaf level), {@code layerwise} and
 * {@code sequential} through {@link Offloader#override}: an override keeps the host copy, and
 * leaf's groups (one tensor each) are slices of the block-level packing (each tensor sits at a
 * 256-aligned offset in its block's group, as it would alone), so nothing is packed again and the
 * pinned peak is one copy of the model. Then disk (the block grouping streamed from the file through
 * its staging ring, which is all it pins), in its own offloader, last. Each variant runs over every
 * token count.
 *
 * <p>Balance: the token count where compute equals the copies is measured, not assumed: one
 * copy-only pass (workload none, block level: its step time) and one compute pass at
 * {@code probeTokens} (the compute stream's time less its waits for copies, block level), then
 * balanced = probeTokens x copy / compute, rounded to a multiple of 16 (compute taken as linear in
 * tokens). Token counts go outward from it: balanced, /2, x2, /4, x4, ... (the first {@code counts}
 * within 1..65536).
 *
 * <p>Each (variant, tokens) runs a warm-up pass, then the measured pass, both verified against the
 * unoffloaded reference (reference states cached per token count across variants), unless
 * {@code verify} is off: the Java reference costs a model's bytes in arithmetic per token and step,
 * beyond reach at a GPU's balanced token count on a multi-GiB model (tests/gpu/run.sh verifies a
 * small model's sweep instead). The warm-up pass
 * has at least enough steps for {@link #JIT_GROUP_VISITS} group visits (at most {@link #MAX_WARMUP}
 * steps), so {@code host_us_per_group} is read with the step path compiled.
 */
public final class WorkloadSweep {
    /** The variants, in their default order. */
    public static final List<String> VARIANTS = List.of("block", "leaf", "layerwise", "sequential", "disk");
    static final int JIT_GROUP_VISITS = 12_000, MAX_WARMUP = 12, MAX_TOKENS = 65536;

    /** What to sweep; {@code base} gives device, budget, window and timing (grouping, strategy and source are the sweep's). */
    public record Options(OffloadConfig base, String workload, int hidden, int steps, int warmup, int probeTokens, int counts,
                          List<String> variants, boolean verify) {}

    /** One measured (variant, tokens), with the balance it was swept around and the packings made so far. */
    public record Line(String variant, int tokens, int balancedTokens, int probeTokens, double copyOnlyMs, double computeProbeMs,
                       int packings, long pinnedPeakBytes, Boolean verified, WorkloadRun.Result result) {}

    /** The balance measurement: the copy-only step and the compute at the probe token count. */
    public record Balance(int tokens, int probeTokens, double copyOnlyMs, double computeProbeMs) {}

    private WorkloadSweep() {}

    /** Runs the sweep, handing each line to {@code out} as it is measured. Returns the balance. */
    public static Balance run(Checkpoint checkpoint, Options o, Consumer<Line> out) {
        for (String v : o.variants()) {
            if (!VARIANTS.contains(v)) throw dev.offload.OffloadException.invalid("unknown sweep variant '" + v + "': expected " + VARIANTS);
        }
        int[] packings = {0};
        ProgressListener previous = o.base().progress();
        ProgressListener counting = new ProgressListener() {
            private long last = Long.MAX_VALUE;

            @Override
            public void progress(String task, long done, long total) {
                if (done <= last) packings[0]++;  // a packing's first group: done starts again from its first bytes
                last = done >= total ? Long.MAX_VALUE : done;
                if (previous != null) previous.progress(task, done, total);
            }
        };
        Map<Integer, WorkloadRun.Expected> references = new HashMap<>();
        Balance balance = null;
        List<Integer> tokens = null;
        // one pinned copy, packed one block per group: block as registered, leaf, layerwise and sequential
        // through overrides (an override keeps the host copy; leaf's groups are slices of it), and the balance
        try (Offloader off = Offloader.open(config(o, counting, HostSource.PINNED))) {
            Component c = WorkloadRun.withinBudget(() -> off.register("model", checkpoint));
            balance = measure(off, c, checkpoint, o);
            tokens = tokenCounts(balance.tokens(), o.counts());
            for (String v : o.variants()) {
                if (v.equals("disk")) continue;
                try (var scope = v.equals("block") ? null : switch (v) {
                    case "leaf" -> off.override("model", Strategy.GROUP_OFFLOAD, Grouping.leaf());
                    case "layerwise" -> off.override("model", Strategy.LAYERWISE);
                    default -> off.override("model", Strategy.SEQUENTIAL);
                }) {
                    sweep(off, off.component("model"), checkpoint, o, v, tokens, balance, references, packings, out);
                }
            }
        }
        if (o.variants().contains("disk")) {  // the block grouping streamed from the file through its staging ring: nothing packed
            try (Offloader off = Offloader.open(config(o, counting, HostSource.DISK))) {
                Component c = WorkloadRun.withinBudget(() -> off.register("model", checkpoint));
                sweep(off, c, checkpoint, o, "disk", tokens, balance, references, packings, out);
            }
        }
        return balance;
    }

    private static OffloadConfig config(Options o, ProgressListener progress, HostSource source) {
        OffloadConfig b = o.base();
        OffloadConfig.Builder c = OffloadConfig.builder().device(b.device()).deviceBudget(b.deviceBudget()).window(b.window())
                .timing(b.timing()).stepsAhead(b.stepsAhead()).strategy(Strategy.GROUP_OFFLOAD).source(source).progress(progress);
        if (b.stagingBytes() > 0) c.stagingBytes(b.stagingBytes());
        return c.blocksPerGroup(1).build();
    }

    /** One copy-only pass and one compute pass at the probe token count, block level; the balanced token count from them. */
    static Balance measure(Offloader off, Component c, Checkpoint checkpoint, Options o) {
        int steps = Math.max(3, Math.min(o.steps(), 6));
        WorkloadRun.Result copy, compute;
        try (Workload none = Workload.create("none", off, checkpoint, 1, o.hidden(), steps, false)) {
            copy = WorkloadRun.drive(off, c, none, checkpoint.totalBytes(), steps, 1, false, new WorkloadRun.Expected(), null, null, System.nanoTime());
        }
        try (Workload w = Workload.create(o.workload(), off, checkpoint, o.probeTokens(), o.hidden(), steps, false)) {
            compute = WorkloadRun.drive(off, c, w, checkpoint.totalBytes(), steps, o.probeTokens(), false, new WorkloadRun.Expected(), null, null, System.nanoTime());
        }
        double copyMs = copy.stepMsMedian(), computeMs = compute.computeMsMedian();
        double exact = computeMs > 0 && Double.isFinite(computeMs) && Double.isFinite(copyMs) ? o.probeTokens() * copyMs / computeMs : o.probeTokens();
        long rounded = exact < 16 ? Math.max(1, Math.round(exact)) : Math.round(exact / 16) * 16;
        return new Balance((int) Math.min(MAX_TOKENS, rounded), o.probeTokens(), copyMs, computeMs);
    }

    /** balanced, balanced/2, balanced*2, balanced/4, balanced*4, ...: the first {@code counts} distinct ones within 1..65536. */
    public static List<Integer> tokenCounts(int balanced, int counts) {
        LinkedHashSet<Integer> out = new LinkedHashSet<>();
        out.add(balanced);
        for (int k = 1; out.size() < counts && (balanced >> k > 0 || (long) balanced << k <= MAX_TOKENS); k++) {
            if (balanced >> k > 0) out.add(Math.max(1, balanced >> k));
            if (out.size() < counts && (long) balanced << k <= MAX_TOKENS) out.add(balanced << k);
        }
        return List.copyOf(new ArrayList<>(out).subList(0, Math.min(counts, out.size())));
    }

    private static void sweep(Offloader off, Component c, Checkpoint checkpoint, Options o, String variant, List<Integer> tokens,
                              Balance balance, Map<Integer, WorkloadRun.Expected> references, int[] packings, Consumer<Line> out) {
        int warmup = Math.max(o.warmup(), Math.min(MAX_WARMUP, (JIT_GROUP_VISITS + c.groupCount() - 1) / c.groupCount()));
        for (int t : tokens) {
            WorkloadRun.Expected expected = references.computeIfAbsent(t, k -> new WorkloadRun.Expected());
            WorkloadRun.Result warm, r;
            try (Workload w = Workload.create(o.workload(), off, checkpoint, t, o.hidden(), Math.max(warmup, o.steps()), o.verify())) {
                warm = WorkloadRun.drive(off, c, w, checkpoint.totalBytes(), warmup, t, o.verify(), expected, null, null, System.nanoTime());
                r = WorkloadRun.drive(off, c, w, checkpoint.totalBytes(), o.steps(), t, o.verify(), expected, null, null, System.nanoTime());
            }
            Boolean verified = !o.verify() ? null : !Boolean.FALSE.equals(warm.verified()) && Boolean.TRUE.equals(r.verified());
            out.accept(new Line(variant, t, balance.tokens(), balance.probeTokens(), balance.copyOnlyMs(), balance.computeProbeMs(),
                    packings[0], off.deviceInfo().hostPeakBytes(), verified, r));
        }
    }

    /** "block, leaf" parsed: each a known variant, no repeats. */
    public static List<String> parseVariants(String text) {
        List<String> out = new ArrayList<>();
        for (String part : text.split(",")) {
            String v = part.trim().toLowerCase(Locale.ROOT);
            if (!VARIANTS.contains(v)) throw dev.offload.OffloadException.invalid("unknown sweep variant '" + part.trim() + "': expected some of " + VARIANTS);
            if (out.contains(v)) throw dev.offload.OffloadException.invalid("sweep variant '" + v + "' given twice");
            out.add(v);
        }
        return List.copyOf(out);
    }
}
