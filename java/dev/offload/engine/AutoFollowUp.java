package dev.offload.engine;

import dev.offload.StepMetrics;
import dev.offload.Strategy;

import dev.offload.plan.ComputeProfile;
import dev.offload.plan.Resolver;
import java.util.ArrayList;
import java.util.List;

/**
 * AUTO's follow-up of a streamed component (design note). Without a compute profile, its engine
 * keeps per-group spans and step {@link #PROFILE_STEP} (the second: the first carries the cold
 * start and the resident load) is profiled; the component is then re-planned with the measured
 * compute (same grouping, so the host copy stands; Resolver.replan). With a profile, given or
 * measured, the second step under the plan is compared with the prediction; off by more than
 * {@link #REPLAN_MARGIN}, the next step is profiled and the component re-planned again, at most
 * {@link #MAX_REPLANS} times in all. Each happens at the start of the next step and is written
 * into the plan's reasons. An override suspends it.
 *
 * <p>Waiting: the measured step's figures and the streams a re-plan's engine close (and its
 * eviction of idle turn-taking components) would wait for are waited for first, outside the
 * registry's lock (the figures under the component's own lock, the drain under none, Evictions: a
 * stream closed meanwhile is a CLOSED error, the native handle registry refuses a stale handle, and
 * it is ignored there), so other components' steps and the registry's other callers go on meanwhile. The decision and the re-plan then run under the registry's lock,
 * if this follow-up is still the component's (an override or an unregistration in between ends
 * it); they wait for the device only for work queued on the shared compute stream in the moment
 * between.
 */
final class AutoFollowUp {
    private static final System.Logger LOG = System.getLogger("dev.offload");
    /** The step AUTO profiles when no compute profile was given. */
    static final long PROFILE_STEP = 1;
    /** A measured step further than this from the prediction (relative) triggers a re-plan. */
    static final double REPLAN_MARGIN = 0.25;
    static final int MAX_REPLANS = 2;

    private volatile long profileStep;  // -1: none pending
    private volatile long verifyStep;   // -1: none pending
    private int replans;

    AutoFollowUp(long profileStep, long verifyStep) {
        this.profileStep = profileStep;
        this.verifyStep = verifyStep;
    }

    /**
     * After an override: what was pending moves to the restored engine's steps (its second step,
     * {@code started} being its first); returns whether that engine must profile.
     */
    boolean rebase(long started) {
        if (profileStep >= 0) profileStep = started + 1;
        if (verifyStep >= 0) verifyStep = started + 1;
        return profileStep >= 0;
    }

    /**
     * At the start of a step of the component, under the registry's lock: runs the follow-up; a
     * failed re-plan ends it with a warning and keeps the current plan (it never blocks the steps).
     */
    void runAtStep(Registry owner, String name, ComponentCore c) {
        long due = due(c.stepsStarted());
        if (due >= 0) {
            try {
                c.metrics(due, true);  // the device finishes the measured step: the reads below do not wait
            } catch (RuntimeException e) {
                // closed, gone or a step open on another thread: run() below decides and reports as before
            }
        }
        // what a re-plan's engine close and its eviction of idle turn-taking components would wait for, drained outside the lock
        Evictions marks = owner.evictions();
        marks.drainThen(() -> due < 0 || owner.followUp(name) != this || owner.registered().get(name) != c ? List.of()
                : marks.replacing(name, true), () -> {
            owner.ensureOpen(name);
            if (owner.followUp(name) != this || owner.registered().get(name) != c) return null;  // suspended, ended or replaced while waiting
            try {
                run(owner, c);
            } catch (RuntimeException e) {
                owner.followUpDone(name);
                LOG.log(System.Logger.Level.WARNING, "component ''{0}'': AUTO''s re-plan failed, keeping the current plan: {1}", name,
                        e.getMessage());
            }
            return null;
        });
    }

    /** The step whose figures the follow-up reads at a step starting now ({@code started} closed before it), or -1. */
    private long due(long started) {
        long p = profileStep, v = verifyStep;
        if (p >= 0 && started > p) return p;
        if (v >= 0 && started > v) return v;
        return -1;
    }

    /** Called under the offloader's lock at the start of the component's steps, while a follow-up is pending. */
    void run(Registry owner, ComponentCore c) {
        if (c.hasOpenStep() || c.isClosed()) return;  // the step call reports it
        String name = c.name();
        long started = c.stepsStarted();
        Resolver.Choice current = owner.choice(name);
        if (profileStep >= 0 && started > profileStep) {
            if (!(c.setup().grouping() instanceof dev.offload.graph.Grouping.Blocks b && b.perGroup() == 1)) {
                owner.followUpDone(name);  // measured times are per group of this grouping; a re-plan keeps it, so nothing to choose
                return;
            }
            double[] compute = c.groupComputeMs(profileStep);
            BandwidthProbe.Bandwidth bw = owner.bandwidth();
            Resolver.Facts facts = new Resolver.Facts(0, java.util.OptionalLong.empty(), bw.gbps(), bw.latencyMs(), owner.settings().activationReserve());
            // the room it has in place of its own plan, less the activation reserve the first plan also kept free
            long room = owner.admission().ledger(c).usable(c.setup().strategy());
            Resolver.Choice next = Resolver.replan(new Resolver.Input(name, c.graph(), new ComputeProfile(compute, bw.gbps())),
                    room, facts);
            List<String> why = new ArrayList<>(current.reasons());
            double sum = java.util.Arrays.stream(compute).sum();
            why.add(String.format(java.util.Locale.ROOT, "re-planned after step %d with its profiled compute (%.3f ms over %d groups): %s, %.3f ms predicted",
                    profileStep, sum, compute.length, next.setup().label(), next.predictedStepMs()));
            why.addAll(next.reasons().subList(1, next.reasons().size()));  // the candidates (the first line repeats the rule)
            if (next.setup().strategy() != Strategy.MODEL_OFFLOAD) owner.turns().evictIdle();
            c.replace(next.setup(), next.plan(), false);
            owner.choose(name, new Resolver.Choice(name, next.setup(), next.plan(), next.predictedStepMs(), true, why));
            replans++;
            profileStep = -1;
            verifyStep = c.stepsStarted() + 1;  // the new engine's second step
        } else if (verifyStep >= 0 && started > verifyStep) {
            StepMetrics m = c.metrics(verifyStep, true);
            double predicted = current.predictedStepMs();
            List<String> why = new ArrayList<>(current.reasons());
            boolean off = Double.isFinite(m.stepMs()) && predicted > 0 && Math.abs(m.stepMs() - predicted) / predicted > REPLAN_MARGIN;
            boolean unitGroups = c.setup().grouping() instanceof dev.offload.graph.Grouping.Blocks b && b.perGroup() == 1;
            if (off && replans < MAX_REPLANS && unitGroups) {
                why.add(String.format(java.util.Locale.ROOT, "step %d took %.3f ms against %.3f ms predicted (more than %.0f %% off): profiling step %d",
                        verifyStep, m.stepMs(), predicted, 100 * REPLAN_MARGIN, started + 1));
                c.replace(c.setup(), c.plan(), true);
                verifyStep = -1;
                profileStep = c.stepsStarted() + 1;
            } else {
                why.add(String.format(java.util.Locale.ROOT, "step %d took %.3f ms against %.3f ms predicted", verifyStep, m.stepMs(), predicted));
                owner.followUpDone(name);
            }
            owner.choose(name, new Resolver.Choice(name, current.setup(), current.plan(), predicted, current.profiled(), why));
        }
    }
}
