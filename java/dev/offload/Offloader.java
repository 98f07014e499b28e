package dev.offload;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.Pipeline;
import dev.offload.graph.BlockGraph;
import dev.offload.plan.ComponentPlan;
import dev.offload.plan.PinPolicy;
import dev.offload.plan.Plan;
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
 * The public face: opens a device, registers components (checkpoints, block graphs, or a
 * {@link Pipeline}'s components with {@link #registerAll}), and runs
 * steps that stream each component's groups through the device.
 *
 * <pre>{@code
 * try (Offloader off = Offloader.open(OffloadConfig.builder().deviceBudget(Size.gib(12)).build())) {
 *     off.register("transformer", checkpoint);
 *     try (Step s = off.step("transformer")) {
 *         for (Group g : s) { launch(s.computeStream(), g.tensor("attn.to_q.weight").devicePointer()); }
 *     }
 * }
 * }</pre>
 *
 * <p>One compute stream serves every component; each component copies on a stream of its own (two
 * components stepped from two threads must not queue copies behind each other: Component's note). Registering packs the
 * component's weights into pinned host memory (after which its checkpoint may be closed) and takes
 * its device region from the budget at once.
 */
public final class Offloader implements AutoCloseable {
    private final OffloadConfig config;
    private final DeviceRuntime runtime;
    private final Stream compute;
    private final Map<String, Component> components = new LinkedHashMap<>();
    private final Map<String, Resolver.Choice> choices = new LinkedHashMap<>();
    private final Map<String, ArrangementScope> overrides = new LinkedHashMap<>();
    private long tick;  // orders turn-taking components' steps (least recently used is evicted first)
    private volatile boolean closed;
    /** The timeline, when the config asks for a trace (components record into it). */
    final dev.offload.metrics.Trace trace;

    private Offloader(OffloadConfig config, DeviceRuntime runtime, Stream compute) {
        this.config = config;
        this.runtime = runtime;
        this.compute = compute;
        this.trace = config.trace() ? new dev.offload.metrics.Trace() : null;
    }

    public static Offloader open(OffloadConfig config) {
        DeviceRuntime runtime = DeviceRuntime.open(config.device(), config.deviceBudget());
        Stream compute = null;
        try {
            compute = runtime.createStream(StreamKind.COMPUTE);
            return new Offloader(config, runtime, compute);
        } catch (RuntimeException e) {
            if (compute != null) compute.close();
            runtime.close();
            throw e;
        }
    }

    public OffloadConfig config() {
        return config;
    }

    /**
     * Discovers the checkpoint's block graph (BlockDiscovery's rules) and registers it. A checkpoint
     * with no tensors is refused, naming it. A name registered already from the same files (real
     * paths, sizes, modification times) and layout is shared: the same component comes back with one
     * more reference ({@link #unregister}).
     */
    public synchronized Component register(String name, Checkpoint checkpoint) {
        ensureOpen();
        if (checkpoint.tensors().isEmpty()) {
            throw OffloadException.invalid(checkpoint.name() + ": no tensors, nothing to stream (component '" + name + "')");
        }
        Component shared = shared(name, SourceKey.of(checkpoint));
        if (shared != null) return shared;
        BlockGraph graph = BlockGraph.discover(checkpoint);
        return add(name, graph, resolveAuto(Map.of(name, graph)).get(name), SourceKey.of(checkpoint));
    }

    /**
     * Registers each component of a pipeline under its own name ("transformer", "vae", a bundle's
     * "diffusion_model", ...), in the pipeline's order; returns them by name. Components left to AUTO
     * are resolved together (the size rules look at the whole pipeline). A component another
     * pipeline registered from the same files is shared (one more reference), so pipelines that
     * share a VAE or a text encoder hold one copy. Components registered before a failing one stay
     * registered.
     */
    public synchronized Map<String, Component> registerAll(Pipeline pipeline) {
        ensureOpen();
        Map<String, BlockGraph> graphs = new LinkedHashMap<>();
        Map<String, SourceKey> keys = new LinkedHashMap<>();
        pipeline.components().forEach((name, checkpoint) -> {
            if (checkpoint.tensors().isEmpty()) {
                throw OffloadException.invalid(checkpoint.name() + ": no tensors, nothing to stream (component '" + name + "')");
            }
            SourceKey key = SourceKey.of(checkpoint);
            checkShareable(name, key);
            keys.put(name, key);
            if (!components.containsKey(name)) graphs.put(name, BlockGraph.discover(checkpoint));
        });
        return registerKeyed(graphs, keys);
    }

    /**
     * Registers several components at once, as {@link #registerAll} does; a graph registered already
     * under its name (the same instance) is shared.
     */
    public synchronized Map<String, Component> registerGraphs(Map<String, BlockGraph> graphs) {
        ensureOpen();
        Map<String, SourceKey> keys = new LinkedHashMap<>();
        Map<String, BlockGraph> fresh = new LinkedHashMap<>();
        graphs.forEach((name, graph) -> {
            SourceKey key = SourceKey.of(graph);
            checkShareable(name, key);
            keys.put(name, key);
            if (!components.containsKey(name)) fresh.put(name, graph);
        });
        return registerKeyed(fresh, keys);
    }

    private Map<String, Component> registerKeyed(Map<String, BlockGraph> fresh, Map<String, SourceKey> keys) {
        Map<String, Resolver.Choice> auto = resolveAuto(fresh);
        Map<String, Component> out = new LinkedHashMap<>();
        keys.forEach((name, key) -> {
            Component shared = shared(name, key);
            out.put(name, shared != null ? shared : add(name, fresh.get(name), auto.get(name), key));
        });
        return java.util.Collections.unmodifiableMap(out);
    }

    /** Registers a graph; registering the same graph instance under its name again shares it. */
    public synchronized Component register(String name, BlockGraph graph) {
        ensureOpen();
        Component shared = shared(name, SourceKey.of(graph));
        if (shared != null) return shared;
        return add(name, graph, resolveAuto(Map.of(name, graph)).get(name), SourceKey.of(graph));
    }

    /** The registered component to share (with one more reference), or null when the name is free. */
    private Component shared(String name, SourceKey key) {
        checkShareable(name, key);
        Component c = components.get(name);
        if (c == null) return null;
        c.retain();
        return c;
    }

    private void checkShareable(String name, SourceKey key) {
        if (name == null || name.isBlank()) throw OffloadException.invalid("component name is empty");
        Component c = components.get(name);
        if (c != null && !c.sourceKey().equals(key)) {
            throw OffloadException.invalid("component '" + name + "' is registered already from " + c.sourceKey().describe()
                    + "; registering it again from " + key.describe() + " would give one name two arrangements: unregister it first,"
                    + " or register the new one under another name");
        }
    }

    /**
     * Drops one reference to a component; the last one closes it and gives back its device and host
     * memory (a pipeline unregistering never pulls a component out from under another pipeline that
     * shares it). Fails for a component with an open step.
     */
    public synchronized void unregister(String name) {
        ensureOpen();
        Component c = component(name);
        if (c.hasOpenStep()) throw OffloadException.invalid("component '" + name + "' is running a step; close it before unregistering");
        if (c.releaseReference() > 0) return;
        components.remove(name);
        choices.remove(name);
        followUps.remove(name);
        overrides.remove(name);
        c.close();
    }

    /** {@link #unregister} for each of a pipeline's components. */
    public synchronized void unregisterAll(Pipeline pipeline) {
        for (String name : pipeline.components().keySet()) unregister(name);
    }

    /**
     * What a component was registered from, for sharing: a checkpoint's files (real paths, sizes,
     * modification times) and tensor layout, or a graph instance.
     */
    record SourceKey(List<String> files, long tensors, long bytes, Object graph) {
        static SourceKey of(Checkpoint checkpoint) {
            List<String> files = new ArrayList<>();
            for (java.nio.file.Path p : checkpoint.files()) {
                try {
                    java.nio.file.Path real = p.toRealPath();
                    files.add(real + ":" + java.nio.file.Files.size(real) + ":" + java.nio.file.Files.getLastModifiedTime(real).toMillis());
                } catch (java.io.IOException e) {
                    files.add(p.toString());
                }
            }
            if (files.isEmpty()) return new SourceKey(List.of(), checkpoint.tensors().size(), checkpoint.totalBytes(), checkpoint);
            return new SourceKey(List.copyOf(files), checkpoint.tensors().size(), checkpoint.totalBytes(), null);
        }

        static SourceKey of(BlockGraph graph) {
            return new SourceKey(List.of(), graph.tensors().size(), graph.totalBytes(), graph);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof SourceKey k && files.equals(k.files) && tensors == k.tensors && bytes == k.bytes && graph == k.graph;
        }

        @Override
        public int hashCode() {
            return java.util.Objects.hash(files, tensors, bytes, System.identityHashCode(graph));
        }

        String describe() {
            return files.isEmpty() ? "a block graph of " + tensors + " tensors" : files.size() + " file(s) (" + files.get(0).split(":")[0]
                    + (files.size() > 1 ? ", ..." : "") + ")";
        }
    }

    /** The resolver's choices for the components left to AUTO (none: an empty map). */
    private Map<String, Resolver.Choice> resolveAuto(Map<String, BlockGraph> graphs) {
        return resolveAuto(graphs, -2);
    }

    /** As above; {@code hostAvailable} >= -1 replaces the measured host memory (-1: unknown). */
    private Map<String, Resolver.Choice> resolveAuto(Map<String, BlockGraph> graphs, long hostAvailable) {
        List<Resolver.Input> inputs = new ArrayList<>();
        graphs.forEach((name, graph) -> {
            if (config.strategyOf(name) == Strategy.AUTO) inputs.add(new Resolver.Input(name, graph, config.computeProfiles().get(name)));
        });
        if (inputs.isEmpty()) return Map.of();
        Resolver.Facts facts = facts();
        if (!config.sourceGiven() && hostAvailable < -1) hostAvailable = -1;  // no pinned copy needed where it would not fit: disk
        if (hostAvailable >= -1) {
            facts = new Resolver.Facts(facts.deviceBytes(), hostAvailable, facts.h2dGbps(), facts.copyLatencyMs(), facts.activationReserve());
        }
        Map<String, Resolver.Choice> out = new LinkedHashMap<>();
        for (Resolver.Choice c : Resolver.resolve(inputs, facts)) out.put(c.component(), c);
        return out;
    }

    /**
     * The plan these components would get if registered now, without registering them (nothing is
     * packed or allocated): {@code ./offload plan}. The budget is shared as registration shares it.
     * {@code hostAvailable} replaces the measured host memory when >= 0.
     */
    public synchronized Plan preview(Map<String, BlockGraph> graphs, long hostAvailable) {
        ensureOpen();
        for (String name : graphs.keySet()) {
            if (name == null || name.isBlank()) throw OffloadException.invalid("component name is empty");
            if (components.containsKey(name)) throw OffloadException.invalid("component '" + name + "' is registered already");
        }
        Map<String, Resolver.Choice> auto = resolveAuto(graphs, hostAvailable >= 0 ? hostAvailable : -2);
        DeviceInfo info = runtime.info();
        long region = 0, activeTurns = 0;
        for (Component c : components.values()) {
            if (c.setup().strategy() != Strategy.MODEL_OFFLOAD) continue;
            region = Math.max(region, c.plan().deviceBytes());
            if (c.isActive()) activeTurns += c.plan().deviceBytes();
        }
        long permanent = info.usedBytes() - activeTurns;
        long totalHost = 0;
        Bandwidth bw = bandwidth();
        Resolver.Facts predict = new Resolver.Facts(0, -1, bw.gbps(), bw.latencyMs(), 0);
        List<Plan.Entry> entries = new ArrayList<>();
        for (var e : graphs.entrySet()) {
            String name = e.getKey();
            Resolver.Choice choice = auto.get(name);
            Setup setup = choice != null ? choice.setup() : config.setup(name);
            boolean turns = setup.strategy() == Strategy.MODEL_OFFLOAD;
            long room = info.budgetBytes() - permanent - (turns ? 0 : region);
            ComponentPlan plan = choice != null ? choice.plan() : Component.plan(name, e.getValue(), setup, info.budgetBytes(), room);
            checkFits(name, plan, room);
            if (turns) region = Math.max(region, plan.deviceBytes());
            else permanent += plan.deviceBytes();
            long host = plan.groups().stream().mapToLong(g -> dev.offload.plan.PackedGroup.alignUp(g.bytes())).sum();
            java.util.OptionalLong hostLeft = hostAvailable >= 0 ? java.util.OptionalLong.of(Math.max(0, hostAvailable - totalHost))
                    : dev.offload.memory.HostMemory.available().isPresent()
                    ? java.util.OptionalLong.of(Math.max(0, dev.offload.memory.HostMemory.available().getAsLong() - totalHost))
                    : java.util.OptionalLong.empty();
            HostSource source = sourceFor(name, plan, hostLeft);
            String sourceWhy = null;
            if (source == HostSource.DISK) {
                long largest = plan.groups().stream().mapToLong(dev.offload.plan.PackedGroup::bytes).max().orElse(0);
                long staging = config.stagingBytes() > 0 ? config.stagingBytes() : 2 * largest;
                sourceWhy = "host: " + (config.sourceGiven() ? "DISK as configured" : "a pinned copy (" + Size.format(host)
                        + ") would not fit the available host memory") + ": streamed from its files through a staging ring of about "
                        + Size.format(staging);
                host = staging;
            } else if (source == HostSource.LOWMEM) {
                sourceWhy = "host: LOWMEM as configured: a pageable copy streamed through a pinned staging ring";
            }
            totalHost += host;
            double predicted;
            boolean profiled;
            List<String> why = new ArrayList<>();
            if (choice != null) {
                predicted = choice.predictedStepMs();
                profiled = choice.profiled();
                why.addAll(choice.reasons());
            } else {
                dev.offload.plan.ComputeProfile profile = config.computeProfiles().get(name);
                profiled = profile != null && profile.computeMs().length == plan.groups().size();
                predicted = Resolver.predict(plan, profiled ? profile.computeMs() : new double[plan.groups().size()], predict);
                why.add(setup.strategy().name().toLowerCase(java.util.Locale.ROOT) + " as configured");
            }
            if (sourceWhy != null) why.add(sourceWhy);
            entries.add(new Plan.Entry(name, setup, plan, predicted, profiled, host, Double.NaN, 0, why));
        }
        long hostLimit = hostAvailable >= 0 ? hostAvailable : dev.offload.memory.HostMemory.available().orElse(-1);
        if (hostLimit >= 0 && totalHost + dev.offload.memory.HostMemory.MARGIN_BYTES > hostLimit) {
            throw new OffloadException(Status.OUT_OF_HOST_MEMORY, "plan: the components' host memory needs " + totalHost + " bytes ("
                    + Size.format(totalHost) + ") plus a margin of " + Size.format(dev.offload.memory.HostMemory.MARGIN_BYTES) + " but "
                    + hostLimit + " (" + Size.format(hostLimit) + ") are available");
        }
        return new Plan(entries, info.budgetBytes(), bw.gbps(), bw.source());
    }

    /**
     * What the resolver sees now: the device bytes a new permanent component may use (the budget
     * less what permanent components and buffers hold, less the turn-taking components' region),
     * available host memory less {@code HostMemory}'s margin, and the bandwidth.
     */
    public synchronized Resolver.Facts facts() {
        ensureOpen();
        long host = dev.offload.memory.HostMemory.available().orElse(-1);
        if (host >= 0) host = Math.max(0, host - dev.offload.memory.HostMemory.MARGIN_BYTES);
        Bandwidth bw = bandwidth();
        return new Resolver.Facts(Math.max(0, permanentRoom(runtime.info())), host, bw.gbps(), bw.latencyMs(), config.activationReserve());
    }

    private long permanentRoom(DeviceInfo info) {
        long activeTurns = 0, region = 0;
        for (Component c : components.values()) {
            if (c.setup().strategy() != Strategy.MODEL_OFFLOAD) continue;
            region = Math.max(region, c.plan().deviceBytes());
            if (c.isActive()) activeTurns += c.plan().deviceBytes();
        }
        return info.budgetBytes() - (info.usedBytes() - activeTurns) - region;
    }

    private Component add(String name, BlockGraph graph, Resolver.Choice choice, SourceKey key) {
        Setup setup = choice != null ? choice.setup() : config.setup(name);
        ComponentPlan plan;
        if (setup.strategy() == Strategy.MODEL_OFFLOAD) {
            DeviceInfo info = runtime.info();
            long activeTurns = 0;
            for (Component c : components.values()) {
                if (c.setup().strategy() == Strategy.MODEL_OFFLOAD && c.isActive()) activeTurns += c.plan().deviceBytes();
            }
            long room = info.budgetBytes() - (info.usedBytes() - activeTurns);
            plan = choice != null ? choice.plan() : Component.plan(name, graph, setup, info.budgetBytes(), room);
            checkFits(name, plan, room);
        } else {
            evictIdleTurns();  // they come back with their next step; registration is rare
            DeviceInfo info = runtime.info();
            long room = permanentRoom(info);
            plan = choice != null ? choice.plan() : Component.plan(name, graph, setup, info.budgetBytes(), room);
            checkFits(name, plan, room);
        }
        // AUTO without a compute profile: the first steps run under the size rules and are profiled
        boolean profile = choice != null && !choice.profiled() && setup.strategy() != Strategy.MODEL_OFFLOAD
                && setup.strategy() != Strategy.NO_OFFLOAD;
        Component c = Component.create(this, name, graph, setup, plan, profile, key, sourceFor(name, plan));
        components.put(name, c);
        if (choice != null) choices.put(name, choice);
        if (choice != null && setup.strategy() != Strategy.MODEL_OFFLOAD && setup.strategy() != Strategy.NO_OFFLOAD) {
            followUps.put(name, profile ? new FollowUp(PROFILE_STEP, -1) : new FollowUp(-1, 1));
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

    private HostSource sourceFor(String name, ComponentPlan plan, java.util.OptionalLong available) {
        if (config.sourceGiven()) return config.source();
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

    private void checkFits(String name, ComponentPlan plan, long room) {
        if (plan.deviceBytes() + config.activationReserve() > room) {
            throw new OffloadException(Status.OUT_OF_DEVICE_MEMORY, "component '" + name + "': its plan needs " + plan.deviceBytes()
                    + " device bytes plus a reserve of " + config.activationReserve() + " but " + Math.max(0, room) + " are left in the budget");
        }
    }

    /**
     * A scoped arrangement (diffusers' "model-level offload for the VAE during decode"): the
     * component runs under another strategy until the scope closes, which restores the previous
     * arrangement, also when the block it guards throws (try-with-resources). The grouping stays
     * (the host copy is packed by it), so LAYERWISE needs a component grouped one block per group.
     * A second override of a component with one open fails, naming the first: one component, one
     * arrangement at a time. Neither opening nor closing may happen during the component's step.
     */
    public final class ArrangementScope implements AutoCloseable {
        private final String name;
        private final Setup previous;
        private final ComponentPlan previousPlan;
        private final FollowUp suspended;
        private final Strategy strategy;
        private boolean closed;

        private ArrangementScope(String name, Setup previous, ComponentPlan previousPlan, FollowUp suspended, Strategy strategy) {
            this.name = name;
            this.previous = previous;
            this.previousPlan = previousPlan;
            this.suspended = suspended;
            this.strategy = strategy;
        }

        public Strategy strategy() {
            return strategy;
        }

        @java.lang.Override
        public void close() {
            synchronized (Offloader.this) {
                if (closed) return;
                closed = true;
                if (overrides.get(name) == this) overrides.remove(name);
                Component c = components.get(name);
                if (c == null || Offloader.this.closed) return;  // unregistered or closed meanwhile: nothing to restore
                if (c.hasOpenStep()) throw OffloadException.invalid("component '" + name + "' is running a step: close it before the override");
                if (previous.strategy() != Strategy.MODEL_OFFLOAD) evictIdleTurns();
                c.replace(previous, previousPlan, false);
                if (suspended != null) followUps.put(name, suspended);
            }
        }

        @java.lang.Override
        public String toString() {
            return strategy.name().toLowerCase(java.util.Locale.ROOT) + " over " + previous.label();
        }
    }

    /** Runs a component under {@code strategy} until the returned scope closes ({@link ArrangementScope}). */
    public synchronized ArrangementScope override(String name, Strategy strategy) {
        ensureOpen();
        Component c = component(name);
        if (strategy == null || strategy == Strategy.AUTO) throw OffloadException.invalid("override of '" + name + "': give a concrete strategy");
        ArrangementScope open = overrides.get(name);
        if (open != null) {
            throw OffloadException.invalid("component '" + name + "' already has an arrangement override open (" + open
                    + "); close it before applying another");
        }
        if (c.hasOpenStep()) throw OffloadException.invalid("component '" + name + "' is running a step: override it between steps");
        Setup previous = c.setup();
        PinPolicy pin = strategy == Strategy.BLOCK_PIN ? PinPolicy.budget() : PinPolicy.none();
        Setup next = new Setup(strategy, previous.grouping(), config.window(),
                new ComponentPlan.Pinning(pin, null, config.activationReserve()));
        if (!next.grouping().equals(previous.grouping())) {
            throw OffloadException.invalid("override of '" + name + "': " + strategy + " needs one block per group but the component is grouped "
                    + previous.grouping() + " (an override keeps the grouping its host copy is packed by)");
        }
        ComponentPlan previousPlan = c.plan();
        ComponentPlan plan = planInPlace(c, next);
        FollowUp suspended = followUps.remove(name);
        if (strategy != Strategy.MODEL_OFFLOAD) evictIdleTurns();
        try {
            c.replace(next, plan, false);
        } catch (RuntimeException e) {
            if (suspended != null) followUps.put(name, suspended);
            throw e;
        }
        ArrangementScope scope = new ArrangementScope(name, previous, previousPlan, suspended, strategy);
        overrides.put(name, scope);
        return scope;
    }

    /** A plan for a registered component under another setup, in the room it would have in place of its own. */
    private ComponentPlan planInPlace(Component c, Setup setup) {
        DeviceInfo info = runtime.info();
        long own = c.isActive() ? c.plan().deviceBytes() : 0, otherTurns = 0, otherRegion = 0;
        for (Component o : components.values()) {
            if (o == c || o.setup().strategy() != Strategy.MODEL_OFFLOAD) continue;
            otherRegion = Math.max(otherRegion, o.plan().deviceBytes());
            if (o.isActive()) otherTurns += o.plan().deviceBytes();
        }
        long permanentOthers = info.usedBytes() - own - otherTurns;
        long room = info.budgetBytes() - permanentOthers - (setup.strategy() == Strategy.MODEL_OFFLOAD ? 0 : otherRegion);
        ComponentPlan plan = Component.plan(c.name(), c.graph(), setup, info.budgetBytes(), room);
        checkFits(c.name(), plan, room);
        return plan;
    }

    /**
     * Adds tensors to a registered component (LoRA adapters: {@code blocks.3.attn.to_q.lora_A.weight}
     * joins block 3 by BlockDiscovery's rules) and re-plans it, without reopening anything: the
     * component is rebuilt (host copy, plan, engine) under its name with the same references, and
     * the new one is returned (the old object is closed; its step counts start again). Host memory
     * holds the old copy until the new one is made only where the rebuild fails (then the old one is
     * made again); the old is freed first. Not during the component's step, nor under an override.
     */
    public synchronized Component addTensors(String name, List<dev.offload.graph.TensorRef> tensors) {
        ensureOpen();
        Component old = component(name);
        List<dev.offload.graph.TensorRef> all = new ArrayList<>(old.graph().tensors());
        all.addAll(tensors);
        return rebuild(old, BlockGraph.discover("component '" + name + "'", all));
    }

    /** Removes the tensors whose names {@code which} selects and re-plans ({@link #addTensors}'s rules); removing every tensor is refused (unregister it). */
    public synchronized Component removeTensors(String name, java.util.function.Predicate<String> which) {
        ensureOpen();
        Component old = component(name);
        List<dev.offload.graph.TensorRef> kept = old.graph().tensors().stream().filter(t -> !which.test(t.name())).toList();
        if (kept.size() == old.graph().tensors().size()) return old;
        if (kept.isEmpty()) throw OffloadException.invalid("component '" + name + "': removing every tensor leaves nothing to stream; unregister it instead");
        return rebuild(old, BlockGraph.discover("component '" + name + "'", kept));
    }

    private Component rebuild(Component old, BlockGraph graph) {
        String name = old.name();
        if (old.hasOpenStep()) throw OffloadException.invalid("component '" + name + "' is running a step; change its tensors between steps");
        if (overrides.containsKey(name)) throw OffloadException.invalid("component '" + name + "' has an arrangement override open; close it first");
        for (dev.offload.graph.TensorRef t : graph.tensors()) {
            if (!t.data().scope().isAlive()) {
                throw OffloadException.invalid("component '" + name + "': tensor '" + t.name() + "' is no longer readable (its checkpoint "
                        + "was closed); a component is packed again from its tensors when they change, so keep the checkpoint open");
            }
        }
        int references = old.references();
        Resolver.Choice oldChoice = choices.remove(name);
        FollowUp oldFollowUp = followUps.remove(name);
        components.remove(name);
        old.close();
        try {
            Component c = add(name, graph, resolveAuto(Map.of(name, graph)).get(name), SourceKey.of(graph));
            for (int i = 1; i < references; i++) c.retain();
            return c;
        } catch (RuntimeException e) {
            try {  // put the old arrangement back, so a failed change loses nothing
                components.remove(name);
                Component back = add(name, old.graph(), oldChoice, old.sourceKey());
                for (int i = 1; i < references; i++) back.retain();
                if (oldFollowUp == null) followUps.remove(name);
            } catch (RuntimeException again) {
                e.addSuppressed(again);
            }
            throw e;
        }
    }

    /** Evicts every active turn-taking component without an open step. */
    private void evictIdleTurns() {
        for (Component c : components.values()) {
            if (c.setup().strategy() == Strategy.MODEL_OFFLOAD && c.isActive() && !c.hasOpenStep()) c.evict();
        }
    }

    /**
     * Brings a turn-taking component onto the device now, if the budget holds it beside what is
     * there (nothing is evicted): called before the current component's last step, the swap's
     * copies run behind that step's work. Returns whether the component is active. Permanent
     * components are always active.
     */
    public synchronized boolean prefetch(String name) {
        Component c = component(name);
        if (c.isActive()) return true;
        if (free() < c.plan().deviceBytes()) return false;
        c.activate();
        return true;
    }

    private long free() {
        DeviceInfo info = runtime.info();
        return info.budgetBytes() - info.usedBytes();
    }

    /** Makes room for a turn-taking component (evicting the least recently used idle ones) and activates it. */
    private void bringIn(Component c) {
        if (c.isActive()) return;
        long need = c.plan().deviceBytes();
        while (free() < need) {
            Component victim = null;
            for (Component other : components.values()) {
                if (other == c || other.setup().strategy() != Strategy.MODEL_OFFLOAD || !other.isActive() || other.hasOpenStep()) continue;
                if (victim == null || other.lastUsed() < victim.lastUsed()) victim = other;
            }
            if (victim == null) {
                List<String> busy = new ArrayList<>();
                for (Component other : components.values()) {
                    if (other != c && other.setup().strategy() == Strategy.MODEL_OFFLOAD && other.isActive()) busy.add(other.name());
                }
                throw new OffloadException(Status.OUT_OF_DEVICE_MEMORY, "component '" + c.name() + "' needs " + need
                        + " device bytes for its turn but " + free() + " are free" + (busy.isEmpty() ? "" : "; " + busy
                        + " are running steps and cannot be evicted mid-step"));
            }
            victim.evict();
        }
        c.activate();
    }

    public synchronized Component component(String name) {
        ensureOpen();
        Component c = components.get(name);
        if (c == null) {
            throw OffloadException.invalid("no component named '" + name + "'; registered: " + new ArrayList<>(components.keySet()));
        }
        return c;
    }

    /**
     * Starts a step of a component: iterate it for its groups in execution order, then close it. A
     * turn-taking component not on the device is brought in first (others evicted as room needs).
     */
    public Step step(String name) {
        if (closed) throw new OffloadException(Status.CLOSED, "offloader is closed: no step of component '" + name + "'");
        Component c = component(name);
        FollowUp f = followUps.get(name);
        if (f != null) {
            synchronized (this) {
                ensureOpen();
                followUp(c, f);
            }
        }
        if (c.setup().strategy() != Strategy.MODEL_OFFLOAD) return c.step();
        synchronized (this) {  // lock order: the offloader, then a component
            ensureOpen();
            bringIn(c);
            c.touch(++tick);
            return c.step();
        }
    }

    /**
     * AUTO's follow-up of a streamed component (design note): without a compute profile, its
     * engine keeps per-group spans and step {@link #PROFILE_STEP} (the second: the first carries
     * the cold start and the resident load) is profiled; the component is then re-planned with the
     * measured compute (same grouping, so the host copy stands; Resolver.replan). With a profile,
     * given or measured, the second step under the plan is compared with the prediction; off by
     * more than {@link #REPLAN_MARGIN}, the next step is profiled and the component re-planned
     * again, at most {@link #MAX_REPLANS} times in all. Each happens at the start of the next step
     * (one wait for the device, once) and is written into the plan's reasons.
     */
    static final class FollowUp {
        long profileStep;  // -1: none pending
        long verifyStep;   // -1: none pending
        int replans;

        FollowUp(long profileStep, long verifyStep) {
            this.profileStep = profileStep;
            this.verifyStep = verifyStep;
        }
    }

    /** The step AUTO profiles when no compute profile was given. */
    public static final long PROFILE_STEP = 1;
    /** A measured step further than this from the prediction (relative) triggers a re-plan. */
    public static final double REPLAN_MARGIN = 0.25;
    public static final int MAX_REPLANS = 2;

    private final Map<String, FollowUp> followUps = new java.util.concurrent.ConcurrentHashMap<>();

    private void followUp(Component c, FollowUp f) {
        if (c.hasOpenStep() || c.isClosed()) return;  // the step call reports it
        String name = c.name();
        long started = c.stepsStarted();
        Resolver.Choice current = choices.get(name);
        if (f.profileStep >= 0 && started > f.profileStep) {
            double[] compute = c.groupComputeMs(f.profileStep);
            Bandwidth bw = bandwidth();
            Resolver.Facts facts = new Resolver.Facts(0, -1, bw.gbps(), bw.latencyMs(), config.activationReserve());
            long room = permanentRoom(runtime.info()) + c.plan().deviceBytes();
            Resolver.Choice next = Resolver.replan(new Resolver.Input(name, c.graph(), new dev.offload.plan.ComputeProfile(compute, bw.gbps())),
                    room, facts);
            List<String> why = new ArrayList<>(current.reasons());
            double sum = java.util.Arrays.stream(compute).sum();
            why.add(String.format(java.util.Locale.ROOT, "re-planned after step %d with its profiled compute (%.3f ms over %d groups): %s, %.3f ms predicted",
                    f.profileStep, sum, compute.length, next.setup().label(), next.predictedStepMs()));
            why.addAll(next.reasons().subList(1, next.reasons().size()));  // the candidates (the first line repeats the rule)
            c.replace(next.setup(), next.plan(), false);
            choices.put(name, new Resolver.Choice(name, next.setup(), next.plan(), next.predictedStepMs(), true, why));
            f.replans++;
            f.profileStep = -1;
            f.verifyStep = c.stepsStarted() + 1;  // the new engine's second step
        } else if (f.verifyStep >= 0 && started > f.verifyStep) {
            StepMetrics m = c.metrics(f.verifyStep, true);
            double predicted = current.predictedStepMs();
            List<String> why = new ArrayList<>(current.reasons());
            boolean off = Double.isFinite(m.stepMs()) && predicted > 0 && Math.abs(m.stepMs() - predicted) / predicted > REPLAN_MARGIN;
            if (off && f.replans < MAX_REPLANS) {
                why.add(String.format(java.util.Locale.ROOT, "step %d took %.3f ms against %.3f ms predicted (more than %.0f %% off): profiling step %d",
                        f.verifyStep, m.stepMs(), predicted, 100 * REPLAN_MARGIN, started + 1));
                c.replace(c.setup(), c.plan(), true);
                f.verifyStep = -1;
                f.profileStep = c.stepsStarted() + 1;
            } else {
                why.add(String.format(java.util.Locale.ROOT, "step %d took %.3f ms against %.3f ms predicted", f.verifyStep, m.stepMs(), predicted));
                followUps.remove(name);
            }
            choices.put(name, new Resolver.Choice(name, current.setup(), current.plan(), predicted, current.profiled(), why));
        }
    }

    /**
     * The plan: per component its strategy, pinned groups, slots, predicted step time, device and
     * host bytes and why, with the measured mean step time beside the prediction once steps have
     * been read. Predictions use the config's compute profiles (per group of a component's own
     * grouping; for AUTO, per group at one block per group) and the bandwidth (given, or measured
     * once per device and JVM).
     */
    public synchronized Plan plan() {
        ensureOpen();
        Bandwidth bw = bandwidth();
        Resolver.Facts facts = new Resolver.Facts(0, -1, bw.gbps(), bw.latencyMs(), 0);
        List<Plan.Entry> entries = new ArrayList<>();
        for (Component c : components.values()) {
            Resolver.Choice choice = choices.get(c.name());
            double predicted;
            boolean profiled;
            List<String> why = new ArrayList<>();
            if (choice != null) {
                predicted = choice.predictedStepMs();
                profiled = choice.profiled();
                why.addAll(choice.reasons());
            } else {
                dev.offload.plan.ComputeProfile profile = config.computeProfiles().get(c.name());
                profiled = profile != null && profile.computeMs().length == c.groupCount();
                double[] compute = profiled ? profile.computeMs() : new double[c.groupCount()];
                predicted = Resolver.predict(c.plan(), compute, facts);
                why.add(c.setup().strategy().name().toLowerCase(java.util.Locale.ROOT) + " as configured");
            }
            var totals = c.totals();
            double measured = totals.steps() > 0 ? totals.stepMs() / totals.steps() : Double.NaN;
            entries.add(new Plan.Entry(c.name(), c.setup(), c.plan(), predicted, profiled, c.hostBytes(), measured, totals.steps(), why));
        }
        return new Plan(entries, runtime.info().budgetBytes(), bw.gbps(), bw.source());
    }

    /** The bandwidth predictions use: the config's, or a probe's. */
    record Bandwidth(double gbps, double latencyMs, String source) {}

    private static final Map<String, Bandwidth> PROBED = new java.util.concurrent.ConcurrentHashMap<>();

    /** Fixed cost assumed per copy when the bandwidth is given rather than probed, milliseconds. */
    public static final double DEFAULT_COPY_LATENCY_MS = 0.01;

    private Bandwidth bandwidth() {
        if (config.h2dGbps() > 0) return new Bandwidth(config.h2dGbps(), DEFAULT_COPY_LATENCY_MS, "given");
        DeviceInfo info = runtime.info();
        String key = info.backend().id() + ":" + info.deviceIndex() + ":" + info.name();
        return PROBED.computeIfAbsent(key, k -> probe());
    }

    /**
     * The probe, on a runtime of its own (so the budget's room does not limit it): 64 MiB copies for
     * the bandwidth, 4 KiB ones for the fixed cost of a copy; medians of repeats.
     */
    private Bandwidth probe() {
        long big = 64L << 20;
        try (DeviceRuntime probe = DeviceRuntime.open(config.device(), big + (8L << 20));
             var buffer = probe.allocatePinned(big); var tiny = probe.allocatePinned(4096)) {
            double gbps = dev.offload.runtime.CopyBandwidth.hostToDevice(probe, buffer.segment(), 5).medianGbps();
            double tinyGbps = dev.offload.runtime.CopyBandwidth.hostToDevice(probe, tiny.segment(), 9).medianGbps();
            double small = 4096 / (tinyGbps * 1e6);
            return new Bandwidth(gbps, Math.max(0, small - 4096 / (gbps * 1e6)), "measured with " + Size.format(big) + " copies");
        } catch (OffloadException e) {
            throw new OffloadException(e.status(), "the bandwidth probe failed (" + e.getMessage() + "); give the bandwidth instead: "
                    + "OffloadConfig.builder().h2dGbps(...)", e);
        }
    }

    public List<Component> components() {
        synchronized (this) {
            return List.copyOf(components.values());
        }
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
        for (Component c : components()) c.flushTrace();
        return trace;
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

    void ensureOpen() {
        if (closed) throw new OffloadException(Status.CLOSED, "offloader is closed");
    }

    /**
     * Closes every component, then the streams and the device. Idempotent. A step in flight on
     * another thread is not interrupted mid-call: each component waits for its engine call in
     * flight to return, and the step's next call fails with CLOSED naming the component.
     */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        RuntimeException first = null;
        for (Component c : components.values()) {
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
