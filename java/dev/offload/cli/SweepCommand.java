package dev.offload.cli;

import com.google.gson.JsonObject;
import dev.offload.OffloadConfig;
import dev.offload.OffloadException;
import dev.offload.Size;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.OpenOptions;
import dev.offload.checkpoint.Pipeline;
import dev.offload.workload.ReferenceWorkload;
import dev.offload.workload.WorkloadSweep;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code ./offload sweep PATH [--workload mix|linear] [--variants LIST] [--counts N] [--json] ...}: one
 * checkpoint through every streaming variant (block, leaf, layerwise, sequential, disk) at token counts
 * going outward from the measured balance, in one process, the model pinned once for every variant
 * (workload.WorkloadSweep says how). One line per (variant, tokens) as it is measured; with
 * {@code --json} one JSON object per line: {@code run}'s fields plus {@code variant},
 * {@code balanced_tokens}, {@code probe_tokens}, {@code copy_only_ms}, {@code compute_probe_ms},
 * {@code packings} (pinned packings made so far) and {@code pinned_peak_bytes}. Exit 1 when a line
 * is not verified. {@code --no-verify} skips the Java reference (a multi-GiB model at a GPU's
 * balanced token count: the reference would take hours); {@code verified} is then null.
 */
final class SweepCommand {
    static final String USAGE = "sweep PATH [--workload mix|linear] [--variants LIST] [--counts N] [--steps N] [--warmup N] [--probe-tokens N]"
            + " [--hidden N] [--budget SIZE] [--window D] [--device NAME] [--no-verify] [--json]";

    private SweepCommand() {}

    static int run(List<String> argv, PrintStream out, PrintStream err) {
        Args args = new Args(argv, Set.of("--json", "--no-verify"), Set.of("--workload", "--variants", "--counts", "--steps", "--warmup", "--probe-tokens",
                "--hidden", "--budget", "--window", "--device"));
        if (args.positional().size() != 1) throw new UsageException("sweep needs exactly one checkpoint path");
        String workload = args.option("--workload", "mix").toLowerCase(Locale.ROOT);
        if (!workload.equals("mix") && !workload.equals("linear")) {
            throw new UsageException("--workload must be mix or linear (a sweep balances compute against copies), got '" + workload + "'");
        }
        List<String> variants;
        try {
            variants = WorkloadSweep.parseVariants(args.option("--variants", String.join(",", WorkloadSweep.VARIANTS)));
        } catch (OffloadException e) {
            throw new UsageException("--variants: " + e.getMessage());
        }
        boolean json = args.flag("--json");
        OffloadConfig base = OffloadConfig.builder()
                .device(args.option("--device", "auto"))
                .deviceBudget(args.has("--budget") ? Size.parse(args.option("--budget", "0")) : 0)
                .window(Main.parseInt(args.option("--window", "2"), "--window", 1, 1 << 16))
                .timing(dev.offload.Timing.GROUP)  // per-group figures: the compute stream's time less its waits
                .progress(Progress.tasks(err, !json))
                .build();
        int hidden = Main.parseInt(args.option("--hidden", String.valueOf(ReferenceWorkload.DEFAULT_HIDDEN)), "--hidden", 1, 65536);
        WorkloadSweep.Options options = new WorkloadSweep.Options(base, workload, hidden,
                Main.parseInt(args.option("--steps", "6"), "--steps", 2, 100_000),
                Main.parseInt(args.option("--warmup", "2"), "--warmup", 1, 100_000),
                Main.parseInt(args.option("--probe-tokens", workload.equals("linear") ? "1024" : "16"), "--probe-tokens", 1, 65536),
                Main.parseInt(args.option("--counts", "3"), "--counts", 1, 32), variants, !args.flag("--no-verify"));
        Path path = RunCommand.path(args.positional().get(0), "checkpoint path");
        boolean[] allVerified = {true};
        try (Pipeline pipeline = Main.openInputs(List.of(path), OpenOptions.defaults())) {
            if (pipeline.components().size() != 1) {
                throw new UsageException(path + " holds " + pipeline.components().size() + " components " + pipeline.components().keySet()
                        + ": sweep takes one (give the component's own folder or file)");
            }
            Checkpoint checkpoint = pipeline.components().values().iterator().next();
            WorkloadSweep.Balance balance = WorkloadSweep.run(checkpoint, options, line -> {
                allVerified[0] &= !Boolean.FALSE.equals(line.verified());
                out.println(json ? toJson(line) : text(line));
                out.flush();
            });
            if (!json) {
                out.printf(Locale.ROOT, "balance: copy-only step %s ms, compute %s ms at %d tokens -> balanced at %d tokens%n",
                        RunCommand.figure(balance.copyOnlyMs(), 2), RunCommand.figure(balance.computeProbeMs(), 2), balance.probeTokens(),
                        balance.tokens());
            }
        }
        return allVerified[0] ? 0 : 1;
    }

    static JsonObject toJson(WorkloadSweep.Line line) {
        JsonObject j = new JsonObject();
        j.addProperty("variant", line.variant());
        j.addProperty("tokens", line.tokens());
        if (line.verified() == null) j.add("verified", com.google.gson.JsonNull.INSTANCE);
        else j.addProperty("verified", line.verified());
        for (var e : RunCommand.toJson(line.result()).entrySet()) {
            if (!j.has(e.getKey())) j.add(e.getKey(), e.getValue());
        }
        j.addProperty("balanced_tokens", line.balancedTokens());
        j.addProperty("probe_tokens", line.probeTokens());
        RunCommand.number(j, "copy_only_ms", line.copyOnlyMs());
        RunCommand.number(j, "compute_probe_ms", line.computeProbeMs());
        j.addProperty("packings", line.packings());
        j.addProperty("pinned_peak_bytes", line.pinnedPeakBytes());
        return j;
    }

    private static String text(WorkloadSweep.Line line) {
        var r = line.result();
        return String.format(Locale.ROOT, "%-10s tokens %6d%s: step %s ms, copy %s ms, compute %s ms, overlap %s, host %s us/group (%d groups),"
                        + " verified %s", line.variant(), line.tokens(), line.tokens() == line.balancedTokens() ? " (balanced)" : "",
                RunCommand.figure(r.stepMsMedian(), 2), RunCommand.figure(r.copyMsMedian(), 2), RunCommand.figure(r.computeMsMedian(), 2),
                RunCommand.figure(r.overlapEfficiency(), 3), RunCommand.figure(r.hostUsPerGroup(), 2), r.groups(), line.verified());
    }
}
