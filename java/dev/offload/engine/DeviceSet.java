package dev.offload.engine;

import dev.offload.OffloadException;
import dev.offload.Strategy;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.Pipeline;
import dev.offload.graph.BlockGraph;
import dev.offload.plan.Placement;
import dev.offload.plan.Plan;
import dev.offload.runtime.DeviceInfo;
import dev.offload.runtime.DeviceRuntime;
import dev.offload.runtime.Stream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The devices of one offloader (issue 20): one Registry per device, each with its own runtime
 * (arena and budget: the config's budget is per device), compute stream, copy streams, ledger and
 * MODEL_OFFLOAD turns, and one table of host copies they share (HostCopies), so a component
 * replicated on several devices is packed once. With one device (no {@code devices(...)} in the
 * config) every call goes to its registry, as before.
 *
 * <p>Placement: a component's devices come from plan.Placement (by hand, replicated, or largest
 * first by room) when it is first registered, and stay its devices until its last reference goes.
 * {@link Placements}' lock guards the placement only (deciding it, recording it, forgetting it);
 * the registry calls that follow, which may wait for a device (a registration's evictions drain
 * streams), are made outside it, so an unrelated call never waits for a device here; this class
 * takes no lock of its own, and with one device no call takes Placements'. A step takes neither this lock nor another device's: it reads the
 * placement (a concurrent map) and goes to its device's registry, so steps on different devices
 * from different threads never wait for each other here.
 */
public final class DeviceSet implements AutoCloseable {
    private final Settings config;
    private final List<String> names;
    private final List<Registry> registries;
    private final Map<String, Placement.Decision> placed = new ConcurrentHashMap<>();
    private final Placements placements;
    private final HostCopies copies;

    private DeviceSet(Settings config, List<String> names, List<Registry> registries, HostCopies copies) {
        this.config = config;
        this.names = List.copyOf(names);
        this.registries = List.copyOf(registries);
        this.copies = copies;
        this.placements = new Placements(config, this.names, this.registries, placed);
    }

    public static DeviceSet open(Settings config) {
        Placement.Request request = config.placement();
        if (!request.several()) return new DeviceSet(config, List.of(config.device()), List.of(Registry.open(config)), null);
        HostCopies copies = new HostCopies();
        List<Registry> opened = new ArrayList<>();
        try {
            for (String device : request.devices()) opened.add(Registry.open(new DeviceSettings(config, device, copies)));
        } catch (RuntimeException e) {
            for (int i = opened.size() - 1; i >= 0; i--) opened.get(i).close();
            throw e;
        }
        return new DeviceSet(config, request.devices(), opened, copies);
    }

    private boolean several() {
        return copies != null;
    }

    /** The first device's registry: the one device, or what device-less calls (facts, runtime) answer for. */
    public Registry primary() {
        return registries.get(0);
    }

    /** The device names, in the config's order. */
    public List<String> devices() {
        return names;
    }

    /** A named device's registry; an unknown name is INVALID_ARGUMENT listing the devices. */
    public Registry device(String device) {
        int i = names.indexOf(device);
        if (i < 0) throw OffloadException.invalid("no device named '" + device + "'; this offloader's devices: " + names);
        return registries.get(i);
    }

    /** Where a component is placed, and why; null for one device or a component not registered. */
    public Placement.Decision placement(String component) {
        return placed.get(component);
    }

    /** How many host copies the devices made (a replicated component counts once). */
    int hostCopies() {
        return copies == null ? 0 : copies.size();
    }

    private Registry registryOf(String component) {
        if (!several()) return primary();
        Placement.Decision d = placed.get(component);
        if (d == null) throw OffloadException.invalid("no component named '" + component + "'; registered: " + placed.keySet());
        return device(d.device());
    }

    public ComponentCore register(String name, Checkpoint checkpoint) {
        if (!several()) return primary().register(name, checkpoint);
        Map<String, Placement.Decision> where = placements.reserve(Map.of(name, checkpoint.totalBytes()));
        try {
            return onEach(name, where.get(name), r -> r.register(name, checkpoint));
        } finally {
            placements.settle(where.keySet());
        }
    }

    public ComponentCore register(String name, BlockGraph graph) {
        if (!several()) return primary().register(name, graph);
        Map<String, Placement.Decision> where = placements.reserve(Map.of(name, graph.totalBytes()));
        try {
            return onEach(name, where.get(name), r -> r.register(name, graph));
        } finally {
            placements.settle(where.keySet());
        }
    }

    /** With several devices each component is registered on its devices one by one (AUTO resolves it per device). */
    public Map<String, ComponentCore> registerAll(Pipeline pipeline) {
        if (!several()) return primary().registerAll(pipeline);
        Map<String, Long> bytes = new LinkedHashMap<>();
        pipeline.components().forEach((name, checkpoint) -> bytes.put(name, checkpoint.totalBytes()));
        Map<String, Placement.Decision> where = placements.reserve(bytes);
        try {
            Map<String, ComponentCore> out = new LinkedHashMap<>();
            pipeline.components().forEach((name, checkpoint) -> out.put(name, onEach(name, where.get(name), r -> r.register(name, checkpoint))));
            return out;
        } finally {
            placements.settle(where.keySet());
        }
    }

    /** Each device registers its share of the graphs together (AUTO resolves them together there). */
    public Map<String, ComponentCore> registerGraphs(Map<String, BlockGraph> graphs) {
        if (!several()) return primary().registerGraphs(graphs);
        Map<String, Long> bytes = new LinkedHashMap<>();
        graphs.forEach((name, graph) -> bytes.put(name, graph.totalBytes()));
        Map<String, Placement.Decision> where = placements.reserve(bytes);
        try {
            Map<String, ComponentCore> out = new LinkedHashMap<>();
            for (String name : graphs.keySet()) out.put(name, onEach(name, where.get(name), r -> r.register(name, graphs.get(name))));
            return out;
        } finally {
            placements.settle(where.keySet());
        }
    }

    /** Registers on each of the decision's devices; a failure unregisters what this call registered, then throws. */
    private ComponentCore onEach(String name, Placement.Decision decision, java.util.function.Function<Registry, ComponentCore> register) {
        List<Registry> done = new ArrayList<>();
        ComponentCore first = null;
        try {
            for (String device : decision.devices()) {
                Registry r = device(device);
                ComponentCore c = register.apply(r);
                done.add(r);
                if (first == null) first = c;
            }
        } catch (RuntimeException e) {
            for (Registry r : done) {
                try {
                    r.unregister(name);
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
        return first;
    }

    /** One reference less on each of its devices (outside this lock); the placement is forgotten with the last. */
    public void unregister(String name) {
        if (!several()) {
            primary().unregister(name);
            return;
        }
        for (String device : placedOn(name)) device(device).unregister(name);
        placements.forgetIfGone(name);
    }

    public void unregisterAll(Pipeline pipeline) {
        if (!several()) {
            primary().unregisterAll(pipeline);
            return;
        }
        for (String name : pipeline.components().keySet()) unregister(name);
    }

    /** {@code plan --devices}: each device previews its share; the plan says where each component goes and why. */
    public Plan preview(Map<String, BlockGraph> graphs, java.util.OptionalLong hostAvailable) {
        if (!several()) return primary().preview(graphs, hostAvailable);
        Map<String, Long> bytes = new LinkedHashMap<>();
        graphs.forEach((name, graph) -> bytes.put(name, graph.totalBytes()));
        Map<String, Placement.Decision> where = placements.decide(bytes);  // under Placements' lock; each device's preview outside it
        Map<String, Plan> plans = new LinkedHashMap<>();
        for (String device : names) {
            Map<String, BlockGraph> share = new LinkedHashMap<>();
            graphs.forEach((name, graph) -> {
                if (where.get(name).device().equals(device)) share.put(name, graph);
            });
            if (!share.isEmpty()) plans.put(device, device(device).preview(share, hostAvailable));
        }
        return merged(plans, where, graphs.keySet());
    }

    /** The plan: every device's, each component once (its primary device's entry) with its placement. */
    public Plan plan() {
        if (!several()) return primary().plan();
        Map<String, Plan> plans = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) plans.put(names.get(i), registries.get(i).plan());
        Map<String, Placement.Decision> where = new LinkedHashMap<>();
        for (ComponentCore c : components()) if (placed.containsKey(c.name())) where.put(c.name(), placed.get(c.name()));
        return merged(plans, where, where.keySet());
    }

    /** Each component's entry from its first device's plan, in {@code order}, with the placements. */
    private static Plan merged(Map<String, Plan> byDevice, Map<String, Placement.Decision> where, java.util.Collection<String> order) {
        List<Plan.Entry> list = new ArrayList<>();
        for (String name : order) {
            Placement.Decision d = where.get(name);
            Plan p = d == null ? null : byDevice.get(d.device());
            if (p != null) p.components().stream().filter(e -> e.component().equals(name)).findFirst().ifPresent(list::add);
        }
        Plan first = byDevice.values().stream().findFirst().orElse(null);
        long budget = first == null ? 0 : first.budgetBytes();
        return new Plan(list, budget, first == null ? 0 : first.h2dGbps(), first == null ? "none" : first.bandwidthSource(), where);
    }

    public dev.offload.plan.Resolver.Facts facts() {
        return primary().facts();
    }

    public dev.offload.memory.DiskCache.Outcome diskCacheOutcome(String component) {
        return registryOf(component).diskCacheOutcome(component);
    }

    public Arrangement override(String name, Strategy strategy, dev.offload.graph.Grouping grouping) {
        return single(name, "an override").override(name, strategy, grouping);
    }

    public ComponentCore addTensors(String name, List<dev.offload.graph.TensorRef> tensors) {
        return single(name, "adding tensors").addTensors(name, tensors);
    }

    public ComponentCore removeTensors(String name, java.util.function.Predicate<String> which) {
        return single(name, "removing tensors").removeTensors(name, which);
    }

    /** A component's one device; a replicated one is refused for what would change one replica only. */
    private Registry single(String name, String what) {
        Placement.Decision d = placed.get(name);
        if (d != null && d.devices().size() > 1) {
            throw OffloadException.invalid(what + " of component '" + name + "' is refused: it is replicated on " + d.devices()
                    + " (one host copy), and would change one replica only; unregister it and register it again");
        }
        return registryOf(name);
    }

    /** Offloader.prefetch: on each of the component's devices; whether it is active on all. */
    public boolean prefetch(String name) {
        if (!several()) return primary().prefetch(name);
        boolean all = true;
        for (String device : placedOn(name)) all &= device(device).prefetch(name);
        return all;
    }

    private List<String> placedOn(String name) {
        Placement.Decision d = placed.get(name);
        if (d == null) throw OffloadException.invalid("no component named '" + name + "'; registered: " + placed.keySet());
        return d.devices();
    }

    public ComponentCore component(String name) {
        return registryOf(name).component(name);
    }

    /** Every component once (a replicated one: its first device's). */
    public List<ComponentCore> components() {
        if (!several()) return primary().components();
        List<ComponentCore> out = new ArrayList<>();
        for (ComponentCore c : primary().components()) if (placed.containsKey(c.name())) out.add(c);
        for (int i = 1; i < registries.size(); i++) {
            for (ComponentCore c : registries.get(i).components()) {
                Placement.Decision d = placed.get(c.name());
                if (d != null && d.device().equals(names.get(i))) out.add(c);
            }
        }
        return List.copyOf(out);
    }

    /** A step on the component's device; a replicated component's step must name its device. No lock of this set is taken. */
    public OpenStep step(String name) {
        if (!several()) return primary().step(name);
        List<String> on = placedOn(name);
        if (on.size() > 1) {
            throw OffloadException.invalid("component '" + name + "' is replicated on " + on + ": name the device its step runs on"
                    + " (Offloader.step(name, device))");
        }
        return device(on.get(0)).step(name);
    }

    public OpenStep step(String name, String device) {
        if (several() && !placedOn(name).contains(device)) {
            throw OffloadException.invalid("component '" + name + "' is not on device '" + device + "'; it is on " + placedOn(name));
        }
        if (!several() && !names.get(0).equals(device)) device(device);  // an unknown device: INVALID naming the one there is
        return device(device).step(name);
    }

    /**
     * The timeline: the one device's; with several, every device's merged into one snapshot
     * (metrics.Trace.merged: a process per device in the Chrome JSON, one clock).
     */
    public dev.offload.metrics.Trace trace() {
        if (!several()) return primary().trace();
        Map<String, dev.offload.metrics.Trace> byDevice = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) byDevice.put(names.get(i), registries.get(i).trace());
        return dev.offload.metrics.Trace.merged(byDevice);
    }

    public Stream computeStream() {
        return primary().computeStream();
    }

    public DeviceRuntime runtime() {
        return primary().runtime();
    }

    public DeviceInfo deviceInfo() {
        return primary().deviceInfo();
    }

    public void ensureOpen() {
        primary().ensureOpen();
    }

    public boolean isClosed() {
        return primary().isClosed();
    }

    /** Closes every device's registry, the last named first (a host copy is freed with its last holder). */
    @Override
    public void close() {
        RuntimeException first = null;
        for (int i = registries.size() - 1; i >= 0; i--) {
            try {
                registries.get(i).close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }
}
