package dev.offload.workload;

import dev.offload.Component;
import dev.offload.Group;
import dev.offload.OffloadConfig;
import dev.offload.Offloader;
import dev.offload.Step;
import dev.offload.StepMetrics;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.graph.TensorRef;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * Runs a checkpoint through a {@link Workload} for some steps under one configuration, and
 * optionally verifies every step's output against the unoffloaded reference. The loop is the one a
 * user writes: open a step, launch each group's compute, close it; it never waits for the device
 * (verification snapshots are queued copies into pinned memory, checked after the last step), so
 * the host runs up to {@code stepsAhead} steps ahead. Figures of step s are read once step
 * s + 1 + stepsAhead has started (they are ready then, and reading them there keeps their cost out
 * of the steps' host time), the rest after the last step. Medians leave out the first step (it
 * includes the cold start) when there is more than one. {@code wallMsPerStep} is the wall clock
 * from the device being idle after step 0 to the device finishing the last step, over the steps
 * after the first: what a user waits, pipelining included, comparable with a loop that
 * synchronizes after each step. {@code firstStepMs} is the wall clock from registering the component
 * (packing or mapping its copy) to the device finishing its first step: the time to first step.
 */
public final class WorkloadRun {
    public record Result(String strategy, String workload, String backend, int steps, Boolean verified, String verifyNote,
                         long budgetBytes, long peakDeviceBytes, long peakHostBytes, long modelBytes, long h2dBytes,
                         double stepMsMedian, double copyMsMedian, double computeMsMedian, double computeIdleMsMedian,
                         double copyBusyMsMedian, double hostBlockedMsMedian, double hostWaitsPerStep, double hostUsPerGroup,
                         double wallMsPerStep,
                         double h2dGbps, double overlapEfficiency, int groups, int slots, int tokens, int stepsAhead, String plan,
                         List<StepMetrics> perStep, String source, long stagingBytes, double diskReadMs, double diskGbps,
                         dev.offload.DiskStats disk, String sharedHost, double firstStepMs) {
        /** The runtime's pageable copies as of the last step (StepMetrics.pageableCopies): 0 when nothing ever waited. */
        public long pageableCopies() {
            return perStep.isEmpty() ? 0 : perStep.get(perStep.size() - 1).pageableCopies();
        }
    }

    /** Reference states shared by runs of the same model (see {@link Workload.Expected}). */
    public static final class Expected {
        final Workload.Expected states = new Workload.Expected();
    }

    private WorkloadRun() {}

    public static Result run(Checkpoint checkpoint, OffloadConfig config, int steps, int tokens, int hidden, boolean verify,
                             Expected expected) {
        return run(checkpoint, config, "mix", steps, tokens, hidden, verify, expected);
    }

    public static Result run(Checkpoint checkpoint, OffloadConfig config, String workloadKind, int steps, int tokens, int hidden,
                             boolean verify, Expected expected) {
        return run(checkpoint, config, workloadKind, steps, tokens, hidden, verify, expected, null, null);
    }

    /**
     * As above; with {@code trace} (and a config with {@code trace(true)}) the run's timeline is
     * handed there before the offloader closes; {@code onStep} hears each step's index as it is
     * queued (progress). Either may be null.
     */
    public static Result run(Checkpoint checkpoint, OffloadConfig config, String workloadKind, int steps, int tokens, int hidden,
                             boolean verify, Expected expected, java.util.function.Consumer<dev.offload.metrics.Trace> trace,
                             java.util.function.IntConsumer onStep) {
        Expected cache = expected != null ? expected : new Expected();
        try (Offloader off = Offloader.open(config);
             Workload workload = Workload.create(workloadKind, off, checkpoint, tokens, hidden, steps, verify)) {
            long registering = System.nanoTime();
            Component component = withinBudget(() -> off.register("model", checkpoint));
            Result r = drive(off, component, workload, checkpoint.totalBytes(), steps, tokens, verify, cache, onStep, null, registering);
            if (trace != null) trace.accept(off.trace());
            return r;
        }
    }

    /**
     * A pipeline run: every component of the pipeline registered in one offloader (AUTO resolves
     * them together), each with its own workload, then each component's {@code steps} steps in the
     * pipeline's order (text encoders, transformer, VAE), as an inference loop takes them. Before a
     * component's last step the next one is prefetched ({@link Offloader#prefetch}: a turn-taking
     * component comes in behind that step's work where the budget holds both). The per-component
     * results, and the device peak over the whole run.
     */
    public record PipelineResult(List<Result> components, long budgetBytes, long peakDeviceBytes, long peakHostBytes, long modelBytes,
                                 String plan, Boolean verified, java.util.Map<String, Long> activations) {}

    public static PipelineResult runPipeline(dev.offload.checkpoint.Pipeline pipeline, OffloadConfig config, String workloadKind, int steps,
                                             int tokens, int hidden, boolean verify, java.util.function.Consumer<dev.offload.metrics.Trace> trace,
                                             java.util.function.IntConsumer onStep) {
        List<String> names = List.copyOf(pipeline.components().keySet());
        List<Workload> workloads = new ArrayList<>();
        try (Offloader off = Offloader.open(config)) {
            try {
                for (String name : names) {
                    workloads.add(Workload.create(workloadKind, off, pipeline.component(name), tokens, hidden, steps, verify));
                }
                long registering = System.nanoTime();
                java.util.Map<String, Component> registered = withinBudget(() -> off.registerAll(pipeline));
                List<Result> results = new ArrayList<>();
                int done = 0;
                for (int i = 0; i < names.size(); i++) {
                    String next = i + 1 < names.size() ? names.get(i + 1) : null;
                    int offset = done;
                    Runnable beforeLast = next == null ? null : () -> off.prefetch(next);
                    results.add(drive(off, registered.get(names.get(i)), workloads.get(i), pipeline.component(names.get(i)).totalBytes(), steps,
                            tokens, verify, new Expected(), onStep == null ? null : s -> onStep.accept(offset + s), beforeLast, registering));
                    done += steps;
                }
                if (trace != null) trace.accept(off.trace());
                var info = off.deviceInfo();
                Boolean verified = null;
                for (Result r : results) {
                    if (r.verified() != null) verified = (verified == null || verified) && r.verified();
                }
                java.util.Map<String, Long> activations = new java.util.LinkedHashMap<>();
                registered.forEach((name, c) -> activations.put(name, c.activations()));
                return new PipelineResult(List.copyOf(results), info.budgetBytes(), info.peakBytes(), info.hostPeakBytes(),
                        pipeline.totalBytes(), explain(off, null), verified, activations);
            } finally {
                for (Workload w : workloads) w.close();
            }
        }
    }

    /**
     * A registration beside the run's own workload buffers and components. Everything in the budget
     * is this run's, sized from its arguments, and the budget was checked against the device's free
     * memory when the offloader opened: OUT_OF_DEVICE_MEMORY here is the budget's arithmetic, a
     * budget too small for what the run sets up. It is thrown as {@link BudgetTooSmall} (status and
     * message unchanged) so that a caller can tell it from a fault at run time; what that means to a
     * user is the caller's decision (the CLI: a usage error, exit 2, issue 16). {@code ./offload plan}
     * previews through it too.
     */
    public static <T> T withinBudget(java.util.function.Supplier<T> register) {
        try {
            return register.get();
        } catch (dev.offload.OffloadException e) {
            if (e.status() != dev.offload.Status.OUT_OF_DEVICE_MEMORY || e instanceof BudgetTooSmall) throw e;
            throw new BudgetTooSmall(e);
        }
    }

    /** OUT_OF_DEVICE_MEMORY from registering (or previewing) beside the run's own buffers: the budget given is too small for the run. */
    public static final class BudgetTooSmall extends dev.offload.OffloadException {
        BudgetTooSmall(dev.offload.OffloadException cause) {
            super(cause.status(), cause.getMessage(), cause);
        }
    }

    /** Workload buffers held for a plan; closing frees them. */
    public interface Buffers extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * The device buffers {@code run} makes for {@code workloadKind} beside each of the pipeline's
     * components (one workload per component, as {@link #runPipeline} and {@link #run} make them),
     * allocated in {@code off}'s budget: {@code ./offload plan} counts them as run will. Close to free.
     */
    public static Buffers workloadBuffers(Offloader off, dev.offload.checkpoint.Pipeline pipeline, String workloadKind, int tokens,
                                                int hidden) {
        List<Workload> made = new ArrayList<>();
        Buffers all = () -> {
            for (Workload w : made) w.close();
        };
        try {
            for (Checkpoint c : pipeline.components().values()) made.add(Workload.create(workloadKind, off, c, tokens, hidden, 1, false));
        } catch (RuntimeException e) {
            for (Workload w : made) w.close();
            throw e;
        }
        return all;
    }

    /** One component's steps through its workload, figures read as {@link WorkloadRun} describes. */
    static Result drive(Offloader off, Component component, Workload workload, long modelBytes, int steps, int tokens,
                                boolean verify, Expected cache, java.util.function.IntConsumer onStep, Runnable beforeLastStep,
                                long registering) {
        OffloadConfig config = off.config();
        String name = component.name();
        long first = component.stepsStarted();
        StepMetrics[] metrics = new StepMetrics[steps];
        double[] hostUs = new double[steps];
        List<TensorRef> order = component.graph().tensors();
        workload.start(order);
        int lag = 1 + config.stepsAhead();
        int unread = 1;  // the first step whose figures are not read yet (step 0's: when step 1 begins)
        long wallStart = 0;
        for (int s = 0; s < steps; s++) {
            if (s == 1) {  // the wall-clock figure starts with the device idle, after the cold step
                metrics[0] = component.metrics(first, true);
                wallStart = System.nanoTime();  // also the end of the first step: time to first step from registering
            }
            if (s == steps - 1 && beforeLastStep != null) beforeLastStep.run();
            Step step = off.step(name);
            try {
                for (Group group : step) workload.group(group);
            } finally {
                step.close();
            }
            hostUs[s] = step.hostNanos() / 1e3;
            if (onStep != null) onStep.accept(s);
            if (verify) workload.snapshot(s);
            // Figures are read in order without waiting: step s - lag is done once step s has begun
            // (the engine's back-pressure). One still unread half the engine's history later is waited for.
            while (unread <= s - lag) {
                StepMetrics m = component.metrics(first + unread, s - unread >= Component.KEPT_STEPS / 2);
                if (m == null) break;
                metrics[unread++] = m;
            }
        }
        metrics[steps - 1] = component.metrics(first + steps - 1, true);  // waits for the device: the end of the wall clock
        double firstStepMs = ((steps > 1 ? wallStart : System.nanoTime()) - registering) / 1e6;
        double wallMsPerStep = steps > 1 ? (System.nanoTime() - wallStart) / 1e6 / (steps - 1) : Double.NaN;
        for (int s = 0; s < steps; s++) if (metrics[s] == null) metrics[s] = component.metrics(first + s, true);
        String note = verify ? workload.verify(steps, order, cache.states) : null;
        // A workload that computes nothing has nothing to verify: null, not true.
        Boolean verified = verify && !(workload instanceof Workload.NoWorkload) ? note == null : null;
        var info = off.deviceInfo();
        dev.offload.DiskStats disk = component.diskStats();  // the staging reader's, since the component's current turn
        List<StepMetrics> all = Arrays.asList(metrics);
        List<StepMetrics> steady = steps > 1 ? all.subList(1, steps) : all;
        StepMetrics last = metrics[steps - 1];
        int groups = component.groupCount();
        double[] perGroupUs = new double[steps];
        for (int s = 0; s < steps; s++) perGroupUs[s] = (hostUs[s] - metrics[s].hostBlockedMs() * 1e3) / groups;
        double[] steadyUs = steps > 1 ? Arrays.copyOfRange(perGroupUs, 1, steps) : perGroupUs;
        String plan = config.strategyOf(name) == dev.offload.Strategy.AUTO ? explain(off, component) : component.plan().describe();
        return new Result(label(config, component), workload.name(),
                info.backend().id(), steps, verified, note, info.budgetBytes(), last.peakDeviceBytes(), last.peakHostBytes(),
                modelBytes, last.h2dBytes(), median(steady, StepMetrics::stepMs), median(steady, StepMetrics::copyMs),
                median(steady, StepMetrics::computeMs), median(steady, StepMetrics::computeIdleMs),
                median(steady, StepMetrics::copyBusyMs), median(steady, StepMetrics::hostBlockedMs),
                steady.stream().mapToLong(StepMetrics::hostWaits).sum() / (double) steady.size(), median(steadyUs), wallMsPerStep,
                median(steady, StepMetrics::h2dGbps), median(steady, StepMetrics::overlapEfficiency), groups,
                component.schedule().slots(), tokens, config.stepsAhead(), plan, List.copyOf(all),
                component.source().name().toLowerCase(java.util.Locale.ROOT), disk.stagingBytes(), disk.readMs(), disk.readGbps(),
                disk, component.sharedHost(), firstStepMs);
    }

    /** "group_offload (2 blocks/group)"; AUTO's as "auto: " and what it chose. */
    static String label(OffloadConfig config, Component component) {
        String chosen = component.setup().label();
        return config.strategyOf(component.name()) == dev.offload.Strategy.AUTO ? "auto: " + chosen : chosen;
    }

    /**
     * The offloader's plan in words, after the steps. {@code Offloader.plan()} may probe the bandwidth
     * (a device allocation) when nothing gave it: where that fails (a device or process nearly out of
     * memory) the run's figures still stand, and the components' own plans are described instead.
     */
    private static String explain(Offloader off, Component only) {
        try {
            return off.plan().explain();
        } catch (dev.offload.OffloadException e) {
            StringBuilder sb = new StringBuilder("plan (the full explanation needs a bandwidth probe, which failed: " + e.getMessage() + ")\n");
            for (Component c : only != null ? List.of(only) : off.components()) sb.append(c.plan().describe());
            return sb.toString();
        }
    }

    static double median(List<StepMetrics> steps, ToDoubleFunction<StepMetrics> f) {
        return median(steps.stream().mapToDouble(f).toArray());
    }

    /** The median of values (NaN for none); the array is left as it is. */
    public static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        if (v.length == 0) return Double.NaN;
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
