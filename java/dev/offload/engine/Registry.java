package dev.offload.engine;

import dev.offload.HostSource;
import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.Strategy;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.Pipeline;
import dev.offload.graph.BlockGraph;
import dev.offload.plan.BudgetLedger;
import dev.offload.plan.ComponentPlan;
import dev.offload.plan.PinPolicy;
import dev.offload.plan.Plan;
import dev.offload.plan.Planner;
import dev.offload.plan.Resolver;
import dev.offload.plan.Setup;
import dev.offload.runtime.DeviceInfo;
import dev.offload.runtime.DeviceRuntime;
import dev.offload.runtime.Stream;
import dev.offload.runtime.StreamKind;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The machinery below the Offloader face: the registry of components and their reference counts,
 * admission of a component into its room (plan.BudgetLedger, plan.Planner, the resolver for AUTO),
 * the host source, AUTO's follow-ups, overrides, rebuilds, previews and the turns of turn-taking
 * components. The face validates what users pass, refuses calls from a host function's body, and
 * delegates here; nothing here refers to the face's types.
 *
 * <p>Lock order: this registry, then a component (ComponentCore), then a component's engine calls.
 * Nothing waits for the device while holding this lock except the one wait an eviction or a
 * re-plan makes (a swap closes an engine); a step waiting for its turn waits outside it (TurnQueue).
 *
 * <p>One compute stream serves every component; each component copies on a stream of its own (two
 * components stepped from two threads must not queue copies behind each other: ComponentCore's
 * note). Registering packs the component's weights into pinned host memory (after which its
 * checkpoint may be closed) and takes its device region from the budget at once.
 */
public final class Registry implements AutoCloseable {
    private final Settings config;  // the face's OffloadConfig, through the engine's view
    private final DeviceRuntime runtime;
    private final Stream compute;
    private final Map<String, ComponentCore> components = new LinkedHashMap<>();
    private final Map<String, Resolver.Choice> choices = new LinkedHashMap<>();
    private final Map<String, Arrangement> overrides = new LinkedHashMap<>();
    private final Map<String, AutoFollowUp> followUps = new java.util.concurrent.ConcurrentHashMap<>();
    private long tick;  // orders turn-taking components' steps (least recently used is evicted first)
    private final TurnQueue turns = new TurnQueue();  // steps waiting for their turn (MODEL_OFFLOAD)
    private volatile boolean closed;
    /** The timeline, when the config asks for a trace (components record into it). */
    private final dev.offload.metrics.Trace trace;

    private Registry(Settings config, DeviceRuntime runtime, Stream compute) {
        this.config = config;
        this.runtime = runtime;
        this.compute = compute;
        this.trace = config.trace() ? new dev.offload.metrics.Trace() : null;
    }

    public static Registry open(Settings config) {
        given(config, "the config");
        DeviceRuntime runtime = DeviceRuntime.open(config.device(), config.deviceBudget());
        Stream compute = null;
        try {
            compute = runtime.createStream(StreamKind.COMPUTE);
            return new Registry(config, runtime, compute);
        } catch (RuntimeException e) {
            if (compute != null) compute.close();
            runtime.close();
            throw e;
        }
    }

    public Settings settings() {
        return config;
    }

    /**
     * Discovers the checkpoint's block graph (BlockDiscovery's rules) and registers it. A checkpoint
     * with no tensors is refused, naming it. A name registered already from the same files (real
     * paths and FileStamps: device, inode, size, modification and change time) and layout is shared: the same component comes back with one
     * more reference ({@link #unregister}).
     */
    public ComponentCore register(String name, Checkpoint checkpoint) {
        synchronized (this) {
            ensureOpen();
            given(checkpoint, "the checkpoint of component '" + name + "'");
            if (checkpoint.tensors().isEmpty()) {
                throw OffloadException.invalid(checkpoint.name() + ": no tensors, nothing to stream (component '" + name + "')");
            }
            ComponentCore shared = shared(name, ComponentSource.of(checkpoint));
            if (shared != null) return shared;
            BlockGraph graph = BlockGraph.discover(checkpoint);
            return add(name, graph, resolveAuto(Map.of(name, graph)).get(name), ComponentSource.of(checkpoint));
        }
    }

    /**
     * Registers each component of a pipeline under its own name ("transformer", "vae", a bundle's
     * "diffusion_model", ...), in the pipeline's order; returns them by name. Components left to AUTO
     * are resolved together (the size rules look at the whole pipeline). A component another
     * pipeline registered from the same files is shared (one more reference), so pipelines that
     * share a VAE or a text encoder hold one copy. Components registered before a failing one stay
     * registered.
     */
    public Map<String, ComponentCore> registerAll(Pipeline pipeline) {
        synchronized (this) {
            ensureOpen();
            given(pipeline, "the pipeline");
            Map<String, BlockGraph> graphs = new LinkedHashMap<>();
            Map<String, ComponentSource> keys = new LinkedHashMap<>();
            pipeline.components().forEach((name, checkpoint) -> {
                if (checkpoint.tensors().isEmpty()) {
                    throw OffloadException.invalid(checkpoint.name() + ": no tensors, nothing to stream (component '" + name + "')");
                }
                ComponentSource key = ComponentSource.of(checkpoint);
                checkShareable(name, key);
                keys.put(name, key);
                if (!components.containsKey(name)) graphs.put(name, BlockGraph.discover(checkpoint));
            });
            return registerKeyed(graphs, keys);
        }
    }

    /**
     * Registers several components at once, as {@link #registerAll} does; a graph registered already
     * under its name (the same instance) is shared.
     */
    public Map<String, ComponentCore> registerGraphs(Map<String, BlockGraph> graphs) {
        synchronized (this) {
            ensureOpen();
            given(graphs, "the graphs");
            graphs.forEach((name, graph) -> given(graph, "the graph of component '" + name + "'"));
            Map<String, ComponentSource> keys = new LinkedHashMap<>();
            Map<String, BlockGraph> fresh = new LinkedHashMap<>();
            graphs.forEach((name, graph) -> {
                ComponentSource key = ComponentSource.of(graph);
                checkShareable(name, key);
                keys.put(name, key);
                if (!components.containsKey(name)) fresh.put(name, graph);
            });
            return registerKeyed(fresh, keys);
        }
    }

    private Map<String, ComponentCore> registerKeyed(Map<String, BlockGraph> fresh, Map<String, ComponentSource> keys) {
        Map<String, Resolver.Choice> auto = resolveAuto(fresh);
        Map<String, ComponentCore> out = new LinkedHashMap<>();
        keys.forEach((name, key) -> {
            ComponentCore shared = shared(name, key);
            out.put(name, shared != null ? shared : add(name, fresh.get(name), auto.get(name), key, setAsideForLater(name, fresh)));
        });
        return java.util.Collections.unmodifiableMap(out);
    }

    /** Registers a graph; registering the same graph instance under its name again shares it. */
    public ComponentCore register(String name, BlockGraph graph) {
        synchronized (this) {
            ensureOpen();
            given(graph, "the graph of component '" + name + "'");
            ComponentCore shared = shared(name, ComponentSource.of(graph));
            if (shared != null) return shared;
            return add(name, graph, resolveAuto(Map.of(name, graph)).get(name), ComponentSource.of(graph));
        }
    }

    /** The registered component to share (with one more reference), or null when the name is free. */
    private ComponentCore shared(String name, ComponentSource key) {
        checkShareable(name, key);
        ComponentCore c = components.get(name);
        if (c == null) return null;
        c.retain();
        return c;
    }

    private void checkShareable(String name, ComponentSource key) {
        if (name == null || name.isBlank()) throw OffloadException.invalid("component name is empty");
        ComponentCore c = components.get(name);
        if (c != null && !c.sourceKey().equals(key)) {
            String changed = c.sourceKey().differenceFrom(key);
            throw OffloadException.invalid("component '" + name + "' is registered already from " + c.sourceKey().describe()
                    + "; registering it again from " + (changed != null ? changed : key.describe()) + " would give one name two"
                    + " arrangements: unregister it first, or register the new one under another name");
        }
    }

    /**
     * Drops one reference to a component; the last one closes it and gives back its device and host
     * memory (a pipeline unregistering never pulls a component out from under another pipeline that
     * shares it). Fails for a component with an open step.
     */
    public void unregister(String name) {
        synchronized (this) {
            ensureOpen();
            ComponentCore c = component(name);
            if (c.hasOpenStep()) throw OffloadException.invalid("component '" + name + "' is running a step; close it before unregistering");
            if (c.releaseReference() > 0) return;
            components.remove(name);
            choices.remove(name);
            followUps.remove(name);
            overrides.remove(name);
            c.close();
        }
    }

    /** {@link #unregister} for each of a pipeline's components. */
    public void unregisterAll(Pipeline pipeline) {
        synchronized (this) {
            for (String name : pipeline.components().keySet()) unregister(name);
        }
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
            if (config.strategyOf(name) == Strategy.AUTO) inputs.add(new Resolver.Input(name, graph, config.computeProfiles().get(name)));
        });
        if (inputs.isEmpty()) return Map.of();
        Resolver.Facts facts = facts();
        // Host memory limits AUTO only where the source holds the weights in host memory (PINNED or
        // LOWMEM named). DISK holds a staging ring; with no source named, a component whose pinned
        // copy would not fit streams from disk (sourceFor), so the plan does not depend on it.
        boolean holdsCopy = config.source() == HostSource.PINNED || config.source() == HostSource.LOWMEM;
        java.util.OptionalLong host = !holdsCopy ? java.util.OptionalLong.empty() : given ? hostAvailable : facts.hostAvailable();
        facts = new Resolver.Facts(facts.deviceBytes(), host, facts.h2dGbps(), facts.copyLatencyMs(), facts.activationReserve());
        Map<String, Resolver.Choice> out = new LinkedHashMap<>();
        for (Resolver.Choice c : Resolver.resolve(inputs, facts)) out.put(c.component(), c);
        return out;
    }

    /**
     * The plan these components would get if registered now, without registering them (nothing is
     * packed or allocated): {@code ./offload plan}. The budget is shared as registration shares it.
     * {@code hostAvailable} replaces the measured host memory when present.
     */
    public Plan preview(Map<String, BlockGraph> graphs, java.util.OptionalLong hostAvailable) {
        synchronized (this) {
            ensureOpen();
            given(graphs, "the graphs");
            graphs.forEach((name, graph) -> given(graph, "the graph of component '" + name + "'"));
            return PlanPreview.of(this, graphs, hostAvailable);
        }
    }

    /**
     * What the resolver sees now: the device bytes a new permanent component may use (the budget
     * less what permanent components and buffers hold, less the turn-taking components' region),
     * available host memory less {@code HostMemory}'s margin, and the bandwidth.
     */
    public Resolver.Facts facts() {
        synchronized (this) {
            ensureOpen();
            java.util.OptionalLong available = dev.offload.memory.HostMemory.available();
            java.util.OptionalLong host = available.isPresent()
                    ? java.util.OptionalLong.of(Math.max(0, available.getAsLong() - dev.offload.memory.HostMemory.MARGIN_BYTES))
                    : java.util.OptionalLong.empty();
            BandwidthProbe.Bandwidth bw = bandwidth();
            return new Resolver.Facts(Math.max(0, ledger(null).forPermanent()), host, bw.gbps(), bw.latencyMs(), config.activationReserve());
        }
    }

    /**
     * The budget ledger now (plan.BudgetLedger: the one place its arithmetic lives). {@code inPlace}
     * (null for none) is planned again in place of its own arrangement, so it is left out.
     */
    BudgetLedger ledger(ComponentCore inPlace) {
        DeviceInfo info = runtime.info();
        List<BudgetLedger.Holding> holdings = new ArrayList<>();
        for (ComponentCore c : components.values()) {
            holdings.add(new BudgetLedger.Holding(c.setup().strategy() == Strategy.MODEL_OFFLOAD, c.isActive(), c.plan().deviceBytes(),
                    c == inPlace));
        }
        return BudgetLedger.of(info.budgetBytes(), info.usedBytes(), config.activationReserve(), holdings);
    }

    /** Device bytes set aside for the fixed components registered after {@code name} (Planner.setAsideForLater). */
    long setAsideForLater(String name, Map<String, BlockGraph> fresh) {
        return Planner.setAsideForLater(name, fresh, config::setup, runtime.info().budgetBytes());
    }

    ComponentCore add(String name, BlockGraph graph, Resolver.Choice choice, ComponentSource key) {
        return add(name, graph, choice, key, 0);
    }

    ComponentCore add(String name, BlockGraph graph, Resolver.Choice choice, ComponentSource key, long setAside) {
        Setup setup = choice != null ? choice.setup() : config.setup(name);
        boolean turns = setup.strategy() == Strategy.MODEL_OFFLOAD;
        if (!turns) evictIdleTurns();  // they come back with their next step; registration is rare
        BudgetLedger ledger = ledger(null);
        ComponentPlan plan = choice != null ? choice.plan()
                : Planner.planBesideLater(name, graph, setup, ledger.budget(), ledger.room(setup.strategy()), turns ? 0 : setAside);
        ledger.checkFits(name, setup.strategy(), plan);
        // AUTO without a compute profile: the first steps run under the size rules and are profiled
        boolean profile = choice != null && !choice.profiled() && setup.strategy() != Strategy.MODEL_OFFLOAD
                && setup.strategy() != Strategy.NO_OFFLOAD;
        ComponentCore c = ComponentCore.create(this, name, graph, setup, plan, profile, key, sourceFor(name, plan));
        components.put(name, c);
        if (choice != null) choices.put(name, choice);
        if (choice != null && setup.strategy() != Strategy.MODEL_OFFLOAD && setup.strategy() != Strategy.NO_OFFLOAD) {
            followUps.put(name, profile ? new AutoFollowUp(AutoFollowUp.PROFILE_STEP, -1) : new AutoFollowUp(-1, 1));
        }
        return c;
    }

    private static final System.Logger LOG = System.getLogger("dev.offload");
    private final Map<String, dev.offload.memory.DiskCache.Outcome> diskCacheOutcomes = new java.util.concurrent.ConcurrentHashMap<>();

    void noteDiskCache(String component, dev.offload.memory.DiskCache.Outcome outcome) {
        diskCacheOutcomes.put(component, outcome);
    }

    /** What the DISK source's cache did for a component the last time its engine started (DIRECT: no cache file), or null. */
    public dev.offload.memory.DiskCache.Outcome diskCacheOutcome(String component) {
        return diskCacheOutcomes.get(component);
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
        if (config.source() != HostSource.AUTO) return config.source();
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


    /** Runs a component under {@code strategy} until the returned scope closes ({@link Arrangement}). */
    public Arrangement override(String name, Strategy strategy) {
        synchronized (this) {
            ensureOpen();
            return Arrangement.open(this, component(name), strategy);
        }
    }

    /**
     * Adds tensors to a registered component (LoRA adapters: {@code blocks.3.attn.to_q.lora_A.weight}
     * joins block 3 by BlockDiscovery's rules) and re-plans it, without reopening anything: the
     * component is rebuilt (host copy, plan, engine) under its name with the same references, and
     * the new one is returned (the old object is closed; its step counts start again). Host memory
     * holds the old copy until the new one is made only where the rebuild fails (then the old one is
     * made again); the old is freed first. Not during the component's step, nor under an override.
     */
    public ComponentCore addTensors(String name, List<dev.offload.graph.TensorRef> tensors) {
        synchronized (this) {
            ensureOpen();
            given(tensors, "the tensors to add to component '" + name + "'");
            for (var t : tensors) given(t, "a tensor to add to component '" + name + "'");
            ComponentCore old = component(name);
            List<dev.offload.graph.TensorRef> all = new ArrayList<>(old.graph().tensors());
            all.addAll(tensors);
            return ComponentRebuild.rebuild(this, old, BlockGraph.discover("component '" + name + "'", all));
        }
    }

    /** Removes the tensors whose names {@code which} selects and re-plans ({@link #addTensors}'s rules); removing every tensor is refused (unregister it). */
    public ComponentCore removeTensors(String name, java.util.function.Predicate<String> which) {
        synchronized (this) {
            ensureOpen();
            given(which, "the selection of tensors to remove from component '" + name + "'");
            ComponentCore old = component(name);
            List<dev.offload.graph.TensorRef> kept;
            try {
                kept = old.graph().tensors().stream().filter(t -> !which.test(t.name())).toList();
            } catch (RuntimeException e) {
                throw OffloadException.invalid("component '" + name + "': the selection of tensors to remove threw " + e);
            }
            if (kept.size() == old.graph().tensors().size()) return old;
            if (kept.isEmpty()) throw OffloadException.invalid("component '" + name + "': removing every tensor leaves nothing to stream; unregister it instead");
            return ComponentRebuild.rebuild(this, old, BlockGraph.discover("component '" + name + "'", kept));
        }
    }

    /** Evicts every active turn-taking component without an open step. */
    void evictIdleTurns() {
        for (ComponentCore c : components.values()) {
            if (c.setup().strategy() == Strategy.MODEL_OFFLOAD && c.isActive() && !c.hasOpenStep()) c.evict();
        }
    }

    /**
     * Brings a turn-taking component onto the device now, if the budget holds it beside what is
     * there (nothing is evicted): called before the current component's last step, the swap's
     * copies run behind that step's work. Returns whether the component is active. Permanent
     * components are always active.
     */
    public boolean prefetch(String name) {
        synchronized (this) {
            ComponentCore c = component(name);
            if (c.isActive()) return true;
            if (free() < c.plan().deviceBytes()) return false;
            c.activate();
            return true;
        }
    }

    private long free() {
        DeviceInfo info = runtime.info();
        return info.budgetBytes() - info.usedBytes();
    }

    /**
     * Makes room for a turn-taking component (evicting the least recently used idle ones) and
     * activates it: returns null. Where the room is held by other turn-taking components' open
     * steps, returns those (the step waits for its turn); where nothing evictable is left at all,
     * OUT_OF_DEVICE_MEMORY with the numbers.
     */
    private List<ComponentCore> bringIn(ComponentCore c) {
        if (c.isActive()) return null;
        long need = c.plan().deviceBytes();
        while (free() < need) {
            ComponentCore victim = null;
            List<ComponentCore> busy = new ArrayList<>();  // seen with an open step in this same scan (a step may close meanwhile)
            for (ComponentCore other : components.values()) {
                if (other == c || other.setup().strategy() != Strategy.MODEL_OFFLOAD || !other.isActive()) continue;
                if (other.hasOpenStep()) {
                    busy.add(other);
                    continue;
                }
                if (victim == null || other.lastUsed() < victim.lastUsed()) victim = other;
            }
            if (victim == null) {
                if (!busy.isEmpty()) return busy;  // wait for them: a step that closed since wakes the waiter (TurnQueue's epoch)
                throw new OffloadException(Status.OUT_OF_DEVICE_MEMORY, "component '" + c.name() + "' needs " + need
                        + " device bytes for its turn but " + free() + " are free, with no other turn-taking component left to evict");
            }
            if (!victim.evict()) return List.of(victim);  // a step opened meanwhile: wait for it
        }
        c.activate();
        return null;
    }

    public ComponentCore component(String name) {
        synchronized (this) {
            ensureOpen(name);
            ComponentCore c = components.get(name);
            if (c == null) {
                throw OffloadException.invalid("no component named '" + name + "'; registered: " + new ArrayList<>(components.keySet()));
            }
            return c;
        }
    }

    /**
     * Starts a step of a component: iterate it for its groups in execution order, then close it. A
     * turn-taking component not on the device is brought in first (others evicted as room needs).
     */
    public OpenStep step(String name) {
        ensureOpen(name);
        ComponentCore c = component(name);
        AutoFollowUp f = followUps.get(name);
        if (f != null) {
            synchronized (this) {
                ensureOpen(name);
                try {
                    f.run(this, c);
                } catch (RuntimeException e) {  // a failed re-plan ends AUTO's follow-up; it never blocks the steps
                    followUps.remove(name);
                    LOG.log(System.Logger.Level.WARNING, "component ''{0}'': AUTO''s re-plan failed, keeping the current plan: {1}", name,
                            e.getMessage());
                }
            }
        }
        if (c.setup().strategy() != Strategy.MODEL_OFFLOAD) return c.openStep();
        return stepInTurn(name, c);
    }

    /**
     * A turn-taking component's step: brought onto the device (idle turn-taking components evicted,
     * least recently used first) when the thread may take a turn (TurnQueue: first in line, or none
     * waiting); otherwise, or while other threads' open steps hold the room, it waits in line
     * outside the offloader's lock, for at most the config's turn timeout. A thread holding an open
     * step of another turn-taking component never waits (it would wait for itself, or for a thread
     * waiting for it): its step starts at once or is refused at once.
     */
    private OpenStep stepInTurn(String name, ComponentCore c) {
        Thread me = Thread.currentThread();
        java.time.Duration timeout = config.turnTimeout();
        long started = System.nanoTime();
        long deadline = timeout == null ? 0 : Math.max(1, started + timeout.toNanos());
        boolean queued = false;
        try {
            while (true) {
                long seen = turns.epoch();
                List<ComponentCore> holders;
                synchronized (this) {  // lock order: the offloader, then a component
                    ensureOpen(name);
                    ComponentCore mine = turnStepHeldByThisThread(c);
                    holders = mine != null || turns.mayGo(me) ? bringIn(c) : turnHolders(c);
                    if (holders == null) {
                        c.touch(++tick);
                        return c.openStep();
                    }
                    if (mine != null) {
                        throw OffloadException.invalid("component '" + name + "': thread '" + me.getName() + "' holds an open step of"
                                + " component '" + mine.name() + "' and the device has no room for '" + name + "' beside "
                                + names(holders) + "; waiting for the turn would wait for that step, which only this thread can close:"
                                + " close it before stepping '" + name + "'");
                    }
                    holders = List.copyOf(holders);
                }
                if (!queued) {
                    turns.enqueue(me);
                    queued = true;
                }
                if (!turns.await(seen, deadline)) {
                    throw new OffloadException(Status.NOT_READY, "component '" + name + "' waited " + timeout.toMillis() + " ms for its"
                            + " turn on the device (MODEL_OFFLOAD) and gave up (Settings.turnTimeout): " + describe(holders)
                            + (turns.ahead(me) > 0 ? "; " + turns.ahead(me) + " other step(s) were in line before it" : ""));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OffloadException(Status.NOT_READY, "component '" + name + "': interrupted while waiting for its turn on the device", e);
        } finally {
            if (queued) turns.leave(me);
        }
    }

    /** The other turn-taking component whose open step the calling thread holds, or null. */
    private ComponentCore turnStepHeldByThisThread(ComponentCore c) {
        for (ComponentCore other : components.values()) {
            if (other != c && other.setup().strategy() == Strategy.MODEL_OFFLOAD && other.stepOwnedByCurrentThread()) return other;
        }
        return null;
    }

    /** The active turn-taking components other than {@code c} with an open step (what a waiting turn waits for). */
    private List<ComponentCore> turnHolders(ComponentCore c) {
        List<ComponentCore> busy = new ArrayList<>();
        for (ComponentCore other : components.values()) {
            if (other != c && other.setup().strategy() == Strategy.MODEL_OFFLOAD && other.isActive() && other.hasOpenStep()) busy.add(other);
        }
        return busy;
    }

    private static String names(List<ComponentCore> components) {
        List<String> names = new ArrayList<>();
        for (ComponentCore c : components) names.add("'" + c.name() + "'");
        return String.join(", ", names);
    }

    private static String describe(List<ComponentCore> holders) {
        if (holders.isEmpty()) return "the steps before it in line held the device";
        List<String> held = new ArrayList<>();
        for (ComponentCore h : holders) held.add("'" + h.name() + "' holds the device with an open step on thread '" + h.stepThreadName() + "'");
        return String.join(", ", held);
    }

    /** A turn-taking step may start now, or the room it needs was freed: wake the steps waiting for a turn. */
    void turnsChanged() {
        turns.changed();
    }

    /**
     * The plan: per component its strategy, pinned groups, slots, predicted step time, device and
     * host bytes and why, with the measured mean step time beside the prediction once steps have
     * been read. Predictions use the config's compute profiles (per group of a component's own
     * grouping; for AUTO, per group at one block per group) and the bandwidth (given, or measured
     * once per device and JVM). The measured mean covers every step the device has finished:
     * their figures are read here (without waiting for a step still running) if the program has not
     * read them, except while another thread runs a step of that component.
     */
    public Plan plan() {
        ensureOpen();
        for (ComponentCore c : components()) c.readFinishedSteps();  // outside this lock, as trace() reads its steps
        return currentPlan();
    }

    private synchronized Plan currentPlan() {
        ensureOpen();
        BandwidthProbe.Bandwidth bw = bandwidth();
        Resolver.Facts facts = new Resolver.Facts(0, java.util.OptionalLong.empty(), bw.gbps(), bw.latencyMs(), 0);
        List<Plan.Entry> entries = new ArrayList<>();
        for (ComponentCore c : components.values()) {
            Prediction p = prediction(c.name(), c.setup(), c.plan(), choices.get(c.name()), facts);
            var totals = c.totals();
            double measured = totals.steps() > 0 ? totals.stepMs() / totals.steps() : Double.NaN;
            entries.add(new Plan.Entry(c.name(), c.setup(), c.plan(), p.stepMs(), p.profiled(), c.hostBytes(), measured, totals.steps(),
                    p.reasons()));
        }
        return new Plan(entries, runtime.info().budgetBytes(), bw.gbps(), bw.source());
    }

    /** A plan entry's prediction and reasons. */
    record Prediction(double stepMs, boolean profiled, List<String> reasons) {}

    /**
     * The resolver's choice as it stands (re-plans included), or a configured plan predicted from
     * the config's compute profile for it (copies only without one).
     */
    Prediction prediction(String name, Setup setup, ComponentPlan plan, Resolver.Choice choice, Resolver.Facts facts) {
        if (choice != null) return new Prediction(choice.predictedStepMs(), choice.profiled(), new ArrayList<>(choice.reasons()));
        dev.offload.plan.ComputeProfile profile = config.computeProfiles().get(name);
        int groups = plan.groups().size();
        boolean profiled = profile != null && profile.computeMs().length == groups;
        double predicted = Resolver.predict(plan, profiled ? profile.computeMs() : new double[groups], facts);
        List<String> why = new ArrayList<>();
        why.add(setup.strategy().name().toLowerCase(java.util.Locale.ROOT) + " as configured");
        return new Prediction(predicted, profiled, why);
    }

    /** The registered components by name (PlanPreview reads them under the offloader's lock). */
    Map<String, ComponentCore> registered() {
        return components;
    }

    Resolver.Choice choice(String name) {
        return choices.get(name);
    }

    void choose(String name, Resolver.Choice choice) {
        choices.put(name, choice);
    }

    void followUpDone(String name) {
        followUps.remove(name);
    }

    /** Takes a component out of every table (its object is then the caller's to close): ComponentRebuild. */
    Forgotten forget(String name) {
        Forgotten f = new Forgotten(components.remove(name), choices.remove(name), followUps.remove(name));
        return f;
    }

    record Forgotten(ComponentCore component, Resolver.Choice choice, AutoFollowUp followUp) {}

    boolean hasOverride(String name) {
        return overrides.containsKey(name);
    }

    /** The override open on a component, or null; Arrangement keeps this table through these. */
    Arrangement override(String name) {
        return overrides.get(name);
    }

    void overrideOpened(String name, Arrangement scope) {
        overrides.put(name, scope);
    }

    void overrideClosed(String name, Arrangement scope) {
        overrides.remove(name, scope);
    }

    AutoFollowUp suspendFollowUp(String name) {
        return followUps.remove(name);
    }

    void resumeFollowUp(String name, AutoFollowUp f) {
        if (f != null) followUps.put(name, f);
    }

    public boolean isClosed() {
        return closed;
    }

    /** The bandwidth predictions use (BandwidthProbe). */
    BandwidthProbe.Bandwidth bandwidth() {
        return BandwidthProbe.of(config, runtime);
    }

    public List<ComponentCore> components() {
        synchronized (this) {
            return List.copyOf(components.values());
        }
    }

    /** The timeline components record into, or null without a trace. */
    dev.offload.metrics.Trace timeline() {
        return trace;
    }

    /**
     * The timeline of every component's steps (config {@code trace(true)}): host steps, copies and
     * compute per group, back-pressure marks. Reads the figures of closed steps not yet read
     * (waiting for the device where needed), so it is complete up to the last closed step.
     * {@link dev.offload.metrics.Trace#writeChromeJson} writes it for Perfetto.
     */
    public dev.offload.metrics.Trace trace() {
        ensureOpen();
        if (trace == null) throw OffloadException.invalid("this offloader was opened without a trace: OffloadConfig.builder().trace(true)");
        for (ComponentCore c : components()) c.flushTrace();
        return trace;
    }

    /** The compute stream, unchecked (engines and steps made while open keep using it). */
    Stream compute() {
        return compute;
    }

    /** The stream to launch compute on; the same for every step and component. */
    public Stream computeStream() {
        ensureOpen();
        return compute;
    }


    /** The runtime, for a workload's own buffers (they count against the same budget). */
    public DeviceRuntime runtime() {
        ensureOpen();
        return runtime;
    }

    public DeviceInfo deviceInfo() {
        ensureOpen();
        return runtime.info();
    }

    /** An argument that must be given: null is INVALID_ARGUMENT naming it, not a NullPointerException. */
    private static <T> T given(T value, String what) {
        if (value == null) throw OffloadException.invalid(what + " is null");
        return value;
    }

    void ensureOpen() {
        if (closed) throw new OffloadException(Status.CLOSED, "offloader is closed");
    }

    /** As {@link #ensureOpen()}, naming the component asked for (a step that lost a race with close says which). */
    private void ensureOpen(String component) {
        if (closed) throw new OffloadException(Status.CLOSED, "offloader is closed (asked for component '" + component + "')");
    }

    /**
     * Closes every component, then the streams and the device. Idempotent. A step in flight on
     * another thread is not interrupted mid-call: each component waits for its engine call in
     * flight to return, and the step's next call fails with CLOSED naming the component.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
            turns.changed();  // steps waiting for a turn wake and fail with CLOSED
            RuntimeException first = null;
            for (ComponentCore c : components.values()) {
                try {
                    c.close();
                } catch (RuntimeException e) {
                    if (first == null) first = e;
                }
            }
            compute.close();
            runtime.close();
            if (first != null) throw first;
        }
    }
}
