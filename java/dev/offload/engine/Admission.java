package dev.offload.engine;

import dev.offload.HostSource;
import dev.offload.OffloadException;
import dev.offload.Strategy;
import dev.offload.graph.BlockGraph;
import dev.offload.plan.BudgetLedger;
import dev.offload.plan.ComponentPlan;
import dev.offload.plan.Planner;
import dev.offload.plan.Resolver;
import dev.offload.plan.Schedule;
import dev.offload.plan.Setup;
import dev.offload.runtime.DeviceInfo;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Admission of components into the budget: AUTO's resolution, the budget ledger as it stands, the
 * plan a fixed setup gets in its room (plan.Planner), the fit check, the host source, and the
 * component's making. Called under the registry's lock; the registry keeps the tables.
 */
final class Admission {
    private static final System.Logger LOG = System.getLogger("dev.offload");
    private final Registry registry;

    Admission(Registry registry) {
        this.registry = registry;
    }

    /** The resolver's choices for the components left to AUTO (none: an empty map), against the host memory {@link #facts} measures. */
    Map<String, Resolver.Choice> resolveAuto(Map<String, BlockGraph> graphs) {
        return resolveAuto(graphs, false, java.util.OptionalLong.empty());
    }

    /** As above, against {@code hostAvailable} (bytes for host copies, as given: {@code ./offload plan --host-memory}). */
    Map<String, Resolver.Choice> resolveAuto(Map<String, BlockGraph> graphs, long hostAvailable) {
        return resolveAuto(graphs, true, java.util.OptionalLong.of(hostAvailable));
    }

    private Map<String, Resolver.Choice> resolveAuto(Map<String, BlockGraph> graphs, boolean given, java.util.OptionalLong hostAvailable) {
        List<Resolver.Input> inputs = new ArrayList<>();
        graphs.forEach((name, graph) -> {
            if (registry.settings().strategyOf(name) == Strategy.AUTO) inputs.add(new Resolver.Input(name, graph, registry.settings().computeProfiles().get(name)));
        });
        if (inputs.isEmpty()) return Map.of();
        Resolver.Facts facts = registry.facts();
        // Host memory limits AUTO only where the source holds the weights in host memory (PINNED or
        // LOWMEM named). DISK holds a staging ring; with no source named, a component whose pinned
        // copy would not fit streams from disk (sourceFor), so the plan does not depend on it.
        boolean holdsCopy = registry.settings().source() == HostSource.PINNED || registry.settings().source() == HostSource.LOWMEM;
        java.util.OptionalLong host = !holdsCopy ? java.util.OptionalLong.empty() : given ? hostAvailable : facts.hostAvailable();
        facts = new Resolver.Facts(facts.deviceBytes(), host, facts.h2dGbps(), facts.copyLatencyMs(), facts.activationReserve());
        Map<String, Resolver.Choice> out = new LinkedHashMap<>();
        for (Resolver.Choice c : Resolver.resolve(inputs, facts)) out.put(c.component(), c);
        return out;
    }

    /** What the resolver sees now (Offloader.facts). */
    Resolver.Facts facts() {
        java.util.OptionalLong available = dev.offload.memory.HostMemory.available();
        java.util.OptionalLong host = available.isPresent()
                ? java.util.OptionalLong.of(Math.max(0, available.getAsLong() - dev.offload.memory.HostMemory.MARGIN_BYTES))
                : java.util.OptionalLong.empty();
        BandwidthProbe.Bandwidth bw = registry.bandwidth();
        return new Resolver.Facts(Math.max(0, ledger(null).forPermanent()), host, bw.gbps(), bw.latencyMs(),
                registry.settings().activationReserve());
    }

    /**
     * The budget ledger now (plan.BudgetLedger: the one place its arithmetic lives). {@code inPlace}
     * (null for none) is planned again in place of its own arrangement, so it is left out.
     */
    BudgetLedger ledger(ComponentCore inPlace) {
        DeviceInfo info = registry.runtime().info();
        List<BudgetLedger.Holding> holdings = new ArrayList<>();
        for (ComponentCore c : registry.registered().values()) {
            holdings.add(new BudgetLedger.Holding(c.setup().strategy() == Strategy.MODEL_OFFLOAD, c.isActive(), c.plan().deviceBytes(),
                    c == inPlace));
        }
        return BudgetLedger.of(info.budgetBytes(), info.usedBytes(), registry.settings().activationReserve(), holdings);
    }

    /** Device bytes set aside for the fixed components registered after {@code name} (Planner.setAsideForLater). */
    long setAsideForLater(String name, Map<String, BlockGraph> fresh) {
        return Planner.setAsideForLater(name, fresh, registry.settings()::setup, registry.runtime().info().budgetBytes());
    }

    ComponentCore add(String name, BlockGraph graph, Resolver.Choice choice, ComponentSource key) {
        return add(name, graph, choice, key, 0);
    }

    ComponentCore add(String name, BlockGraph graph, Resolver.Choice choice, ComponentSource key, long setAside) {
        Setup setup = choice != null ? choice.setup() : registry.settings().setup(name);
        boolean turns = setup.strategy() == Strategy.MODEL_OFFLOAD;
        if (!turns) registry.turns().evictIdle();  // they come back with their next step; registration is rare
        BudgetLedger ledger = ledger(null);
        ComponentPlan plan = choice != null ? choice.plan()
                : Planner.planBesideLater(name, graph, setup, ledger.budget(), ledger.room(setup.strategy()), turns ? 0 : setAside);
        ledger.checkFits(name, setup.strategy(), plan);
        boolean profile = profiles(choice, setup);
        ComponentCore c = EngineStart.component(registry, graph, schedule(name, setup, plan, sourceFor(name, plan), profile), key);
        registry.registered().put(name, c);
        if (choice != null) registry.choose(name, choice);
        if (choice != null && setup.strategy() != Strategy.MODEL_OFFLOAD && setup.strategy() != Strategy.NO_OFFLOAD) {
            registry.follow(name, profile ? new AutoFollowUp(AutoFollowUp.PROFILE_STEP, -1) : new AutoFollowUp(-1, 1));
        }
        return c;
    }

    /** AUTO without a compute profile, streamed: the first steps run under the size rules and are profiled. */
    static boolean profiles(Resolver.Choice choice, Setup setup) {
        return choice != null && !choice.profiled() && setup.strategy() != Strategy.MODEL_OFFLOAD && setup.strategy() != Strategy.NO_OFFLOAD;
    }

    /** A component's schedule: its setup and plan, its host source and the config's streaming settings. */
    Schedule schedule(String name, Setup setup, ComponentPlan plan, HostSource source, boolean profile) {
        Settings c = registry.settings();
        Schedule.Streaming streaming = new Schedule.Streaming(c.stagingBytes(), c.diskIo(), c.readerThreads(), c.stepsAhead(), c.timing(), c.trace());
        return new Schedule(name, setup, plan, source, streaming, profile);
    }

    /**
     * The host source of a component: the config's when given; otherwise PINNED, unless its pinned
     * copy plus HostMemory's margin would not fit the available host memory and its tensors come
     * from files: then DISK (host memory is the staging ring), said in a log line. A graph with no
     * files stays PINNED, and packing then refuses it with the numbers.
     */
    HostSource sourceFor(String name, ComponentPlan plan) {
        return sourceFor(name, plan, dev.offload.memory.HostMemory.available());
    }

    HostSource sourceFor(String name, ComponentPlan plan, java.util.OptionalLong available) {
        if (registry.settings().source() != HostSource.AUTO) return registry.settings().source();
        long need = 0;
        for (dev.offload.plan.PackedGroup g : plan.groups()) need += dev.offload.plan.PackedGroup.alignUp(g.bytes());
        if (available.isEmpty() || need + dev.offload.memory.HostMemory.MARGIN_BYTES <= available.getAsLong()) return HostSource.PINNED;
        try {
            dev.offload.memory.DiskSource.of(name, plan.groups());
        } catch (OffloadException notFiles) {
            return HostSource.PINNED;
        }
        LOG.log(System.Logger.Level.INFO, "component ''{0}'': a pinned copy needs {1} bytes, {2} are available (less a margin of {3}):"
                + " streaming it from disk", name, need, available.getAsLong(), dev.offload.memory.HostMemory.MARGIN_BYTES);
        return HostSource.DISK;
    }

    Map<String, ComponentCore> admitAll(Map<String, BlockGraph> fresh, Map<String, ComponentSource> keys) {
        Map<String, Resolver.Choice> auto = resolveAuto(fresh);
        Map<String, ComponentCore> out = new LinkedHashMap<>();
        keys.forEach((name, key) -> {
            ComponentCore shared = shared(name, key);
            out.put(name, shared != null ? shared : add(name, fresh.get(name), auto.get(name), key, setAsideForLater(name, fresh)));
        });
        return java.util.Collections.unmodifiableMap(out);
    }

    /** The registered component to share (with one more reference), or null when the name is free. */
    ComponentCore shared(String name, ComponentSource key) {
        checkShareable(name, key);
        ComponentCore c = registry.registered().get(name);
        if (c == null) return null;
        c.retain();
        return c;
    }

    void checkShareable(String name, ComponentSource key) {
        if (name == null || name.isBlank()) throw OffloadException.invalid("component name is empty");
        ComponentCore c = registry.registered().get(name);
        if (c != null && !c.sourceKey().equals(key)) {
            String changed = c.sourceKey().differenceFrom(key);
            throw OffloadException.invalid("component '" + name + "' is registered already from " + c.sourceKey().describe()
                    + "; registering it again from " + (changed != null ? changed : key.describe()) + " would give one name two"
                    + " arrangements: unregister it first, or register the new one under another name");
        }
    }
}
