package dev.offload.engine;

import dev.offload.plan.ComputeProfile;
import dev.offload.plan.Plan;
import dev.offload.plan.Resolver;
import dev.offload.plan.Schedule;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * Offloader.plan: per component its strategy, pinned groups, slots, predicted step time, device
 * and host bytes and why, with the measured mean step time beside the prediction once steps have
 * been read. Predictions use the config's compute profiles (per group of a component's own
 * grouping; for AUTO, per group at one block per group) and the bandwidth (given, or measured once
 * per device and JVM). Called under the registry's lock.
 */
final class PlanReport {
    private PlanReport() {}

    /** A plan entry's prediction and reasons. */
    record Prediction(double stepMs, boolean profiled, List<String> reasons) {}

    static Plan of(Registry r) {
        BandwidthProbe.Bandwidth bw = r.bandwidth();
        Resolver.Facts facts = new Resolver.Facts(0, OptionalLong.empty(), bw.gbps(), bw.latencyMs(), 0);
        List<Plan.Entry> entries = new ArrayList<>();
        for (ComponentCore c : r.registered().values()) {
            Prediction p = prediction(r, c.schedule(), r.choice(c.name()), facts);
            var totals = c.totals();
            double measured = totals.steps() > 0 ? totals.stepMs() / totals.steps() : Double.NaN;
            entries.add(new Plan.Entry(c.schedule(), p.stepMs(), p.profiled(), c.hostBytes(), measured, totals.steps(), p.reasons()));
        }
        return new Plan(entries, r.runtime().info().budgetBytes(), bw.gbps(), bw.source());
    }

    /**
     * The resolver's choice as it stands (re-plans included), or a configured plan predicted from
     * the config's compute profile for it (copies only without one).
     */
    static Prediction prediction(Registry r, Schedule s, Resolver.Choice choice, Resolver.Facts facts) {
        if (choice != null) return new Prediction(choice.predictedStepMs(), choice.profiled(), new ArrayList<>(choice.reasons()));
        ComputeProfile profile = r.settings().computeProfiles().get(s.component());
        int groups = s.groups().size();
        boolean profiled = profile != null && profile.computeMs().length == groups;
        double predicted = Resolver.predict(s.plan(), profiled ? profile.computeMs() : new double[groups], facts);
        List<String> why = new ArrayList<>();
        why.add(s.strategy().name().toLowerCase(java.util.Locale.ROOT) + " as configured");
        return new Prediction(predicted, profiled, why);
    }
}
