package dev.offload.workload;

import dev.offload.Component;
import dev.offload.OffloadConfig;
import dev.offload.Offloader;
import dev.offload.StepMetrics;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.graph.TensorRef;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * Runs a checkpoint through the reference workload for some steps under one configuration, and
 * optionally verifies every step's output bit for bit against the unoffloaded Java reference.
 * Medians leave out the first step (it includes the cold start) when there is more than one.
 */
public final class WorkloadRun {
    public record Result(String strategy, String backend, int steps, Boolean verified, long budgetBytes, long peakDeviceBytes,
                         long peakHostBytes, long modelBytes, long h2dBytes, double stepMsMedian, double copyMsMedian,
                         double computeMsMedian, double stallMsMedian, double h2dGbps, double overlapEfficiency, int groups,
                         int slots, int tokens, String plan, List<StepMetrics> perStep) {}

    /** Expected states after each step, shared by runs of the same model, tokens and hidden size. */
    public static final class Expected {
        final List<int[]> states = new ArrayList<>();
    }

    private WorkloadRun() {}

    public static Result run(Checkpoint checkpoint, OffloadConfig config, int steps, int tokens, int hidden, boolean verify,
                             Expected expected) {
        Expected cache = expected != null ? expected : new Expected();
        List<StepMetrics> metrics = new ArrayList<>();
        Boolean verified = verify ? Boolean.TRUE : null;
        try (Offloader off = Offloader.open(config);
             ReferenceWorkload workload = new ReferenceWorkload(off, tokens, hidden);
             Arena snapshots = Arena.ofConfined()) {
            Component component = off.register("model", checkpoint);
            List<TensorRef> order = component.graph().tensors();
            int[] initial = ReferenceWorkload.initialState(tokens, hidden, 7);
            workload.load(initial);
            // Each step's output is copied back without waiting; it is checked after the last step,
            // so verifying adds no host time between steps (which the step period would count).
            long stateBytes = 4L * tokens * hidden;
            MemorySegment outputs = snapshots.allocate(verify ? stateBytes * steps : 1, 64);
            for (int s = 0; s < steps; s++) {
                workload.step("model");
                if (verify) workload.snapshot(outputs.asSlice(s * stateBytes, stateBytes));
                if (s >= 1) metrics.add(component.metrics(s - 1, false));  // read when step s closed
            }
            metrics.add(component.metrics(steps - 1, true));
            workload.read();
            for (int s = 0; verify && s < steps; s++) {
                while (cache.states.size() <= s) {
                    int[] next = (cache.states.isEmpty() ? initial : cache.states.get(cache.states.size() - 1)).clone();
                    ReferenceWorkload.referenceStep(next, tokens, hidden, order);
                    cache.states.add(next);
                }
                int[] got = outputs.asSlice(s * stateBytes, stateBytes).toArray(ValueLayout.JAVA_INT);
                if (!Arrays.equals(got, cache.states.get(s))) verified = Boolean.FALSE;
            }
            var info = off.deviceInfo();
            List<StepMetrics> steady = metrics.size() > 1 ? metrics.subList(1, metrics.size()) : metrics;
            StepMetrics last = metrics.get(metrics.size() - 1);
            return new Result(config.strategy().name().toLowerCase(java.util.Locale.ROOT) + grouping(config), info.backend().id(),
                    steps, verified, info.budgetBytes(), info.peakBytes(), info.hostPeakBytes(), checkpoint.totalBytes(),
                    last.h2dBytes(), median(steady, StepMetrics::stepMs), median(steady, StepMetrics::copyMs),
                    median(steady, StepMetrics::computeMs), median(steady, StepMetrics::stallMs), median(steady, StepMetrics::h2dGbps),
                    median(steady, StepMetrics::overlapEfficiency),
                    component.groupCount(), component.plan().slots(), tokens, component.plan().describe(), List.copyOf(metrics));
        }
    }

    private static String grouping(OffloadConfig config) {
        return switch (config.strategy()) {
            case NO_OFFLOAD -> "";
            case LAYERWISE -> " (window " + config.window() + ")";
            case GROUP_OFFLOAD -> config.grouping() instanceof dev.offload.graph.Grouping.Blocks b
                    ? " (" + b.perGroup() + " block" + (b.perGroup() > 1 ? "s" : "") + "/group)" : " (leaf)";
        };
    }

    static double median(List<StepMetrics> steps, ToDoubleFunction<StepMetrics> f) {
        double[] v = steps.stream().mapToDouble(f).sorted().toArray();
        if (v.length == 0) return Double.NaN;
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
