package dev.offload.engine;

import dev.offload.HostSource;
import dev.offload.OffloadException;
import dev.offload.Size;
import dev.offload.Status;
import dev.offload.Strategy;

import dev.offload.graph.BlockGraph;
import dev.offload.memory.HostMemory;
import dev.offload.plan.BudgetLedger;
import dev.offload.plan.ComponentPlan;
import dev.offload.plan.PackedGroup;
import dev.offload.plan.Plan;
import dev.offload.plan.Planner;
import dev.offload.plan.Resolver;
import dev.offload.plan.Schedule;
import dev.offload.plan.Setup;
import dev.offload.runtime.DeviceInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * {@link Registry#preview}: the plan components would get if registered now, without registering
 * them (nothing packed or allocated; {@code ./offload plan}). The budget is shared as registration
 * shares it (permanent components first, turn-taking ones in the largest of them's region); the
 * host source is chosen as registration would choose it, against {@code hostAvailable} when given.
 */
final class PlanPreview {
    private PlanPreview() {}

    static Plan of(Registry off, Map<String, BlockGraph> graphs, OptionalLong hostAvailable) {
        Settings config = off.settings();
        for (String name : graphs.keySet()) {
            if (name == null || name.isBlank()) throw OffloadException.invalid("component name is empty");
            if (off.registered().containsKey(name)) throw OffloadException.invalid("component '" + name + "' is registered already");
        }
        Map<String, Resolver.Choice> auto = hostAvailable.isPresent() ? off.admission().resolveAuto(graphs, hostAvailable.getAsLong()) : off.admission().resolveAuto(graphs);
        DeviceInfo info = off.runtime().info();
        BudgetLedger ledger = off.admission().ledger(null);
        OptionalLong hostLimit = hostAvailable.isPresent() ? hostAvailable : HostMemory.available();
        long totalHost = 0;
        BandwidthProbe.Bandwidth bw = off.bandwidth();
        Resolver.Facts predict = new Resolver.Facts(0, OptionalLong.empty(), bw.gbps(), bw.latencyMs(), 0);
        List<Plan.Entry> entries = new ArrayList<>();
        for (var e : graphs.entrySet()) {
            String name = e.getKey();
            Resolver.Choice choice = auto.get(name);
            Setup setup = choice != null ? choice.setup() : config.setup(name);
            boolean turns = setup.strategy() == Strategy.MODEL_OFFLOAD;
            ComponentPlan plan = choice != null ? choice.plan() : Planner.planBesideLater(name, e.getValue(), setup, ledger.budget(),
                    ledger.room(setup.strategy()), turns ? 0 : off.admission().setAsideForLater(name, graphs));
            ledger.checkFits(name, setup.strategy(), plan);
            ledger.admit(setup.strategy(), plan);
            long host = plan.groups().stream().mapToLong(g -> PackedGroup.alignUp(g.bytes())).sum();
            OptionalLong hostLeft = hostLimit.isPresent() ? OptionalLong.of(Math.max(0, hostLimit.getAsLong() - totalHost)) : OptionalLong.empty();
            HostSource source = off.admission().sourceFor(name, plan, hostLeft);
            String sourceWhy = null;
            if (source == HostSource.DISK) {
                long streamed = 0, largest = 0;
                boolean streams = false;
                for (int g = 0; g < plan.groups().size(); g++) {
                    long pages = (plan.groups().get(g).bytes() + 4095) / 4096 * 4096;
                    largest = Math.max(largest, pages);
                    if (!plan.resident()[g]) {
                        streamed += pages;
                        streams = true;
                    }
                }
                long staging = HostSource.stagingBytes(info.backend(), config.stagingBytes(), streams ? streamed : largest);
                sourceWhy = "host: " + (config.source() == HostSource.DISK ? "DISK as configured" : "a pinned copy (" + Size.format(host)
                        + ") would not fit the available host memory") + ": streamed from its files through a staging ring of about "
                        + Size.format(staging);
                host = staging;
            } else if (source == HostSource.LOWMEM) {
                sourceWhy = "host: LOWMEM as configured: a pageable copy streamed through a pinned staging ring";
            }
            totalHost += host;
            Schedule schedule = off.admission().schedule(name, setup, plan, source, Admission.profiles(choice, setup));
            PlanReport.Prediction p = PlanReport.prediction(off, schedule, choice, predict);
            List<String> why = p.reasons();
            if (sourceWhy != null) why.add(sourceWhy);
            entries.add(new Plan.Entry(schedule, p.stepMs(), p.profiled(), host, Double.NaN, 0, why));
        }
        if (hostLimit.isPresent() && totalHost + HostMemory.MARGIN_BYTES > hostLimit.getAsLong()) {
            throw new OffloadException(Status.OUT_OF_HOST_MEMORY, "plan: the components' host memory needs " + totalHost + " bytes ("
                    + Size.format(totalHost) + ") plus a margin of " + Size.format(HostMemory.MARGIN_BYTES) + " but "
                    + hostLimit.getAsLong() + " (" + Size.format(hostLimit.getAsLong()) + ") are available");
        }
        return new Plan(entries, info.budgetBytes(), bw.gbps(), bw.source());
    }
}
