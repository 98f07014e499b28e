package dev.offload.engine;

import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.Strategy;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.Pipeline;
import dev.offload.graph.BlockGraph;
import dev.offload.plan.BudgetLedger;
import dev.offload.plan.Plan;
import dev.offload.plan.Planner;
import dev.offload.plan.Resolver;
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
 * components. The face validates what users pass (nulls are INVALID_ARGUMENT there), refuses calls
 * from a host function's body, and delegates here; nothing here refers to the face's types.
 *
 * <p>Lock order: this registry, then a component (ComponentCore), then a component's engine calls.
 * A call that closes engines (a turn's eviction, a registration's or an override's eviction of idle
 * turn-taking components, a re-plan, a rebuild) drains their streams outside this lock first
 * (Evictions); a step waiting for its turn waits outside it (TurnQueue).
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
    private final Turns turns = new Turns(this);              // MODEL_OFFLOAD components' turns
    private final Admission admission = new Admission(this);  // into the budget: AUTO, plans, fit, source
    private final Evictions evictions = new Evictions(this);  // device waits taken out of this lock
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

    /** Offloader.register: the checkpoint's graph (discovered, or its class's preset), shared where registered already from the same files. */
    public ComponentCore register(String name, Checkpoint checkpoint) {
        return evictions.drainThen(() -> evictions.registering(List.of(name)), () -> {
            ensureOpen();
            if (checkpoint.tensors().isEmpty()) {
                throw OffloadException.invalid(checkpoint.name() + ": no tensors, nothing to stream (component '" + name + "')");
            }
            ComponentCore shared = admission.shared(name, ComponentSource.of(checkpoint));
            if (shared != null) return shared;
            BlockGraph graph = BlockGraph.discover(checkpoint);
            return admission.add(name, graph, admission.resolveAuto(Map.of(name, graph)).get(name), ComponentSource.of(checkpoint));
        });
    }

    /** Offloader.registerAll: every component of a pipeline, AUTO's resolved together; shared ones get one more reference. */
    public Map<String, ComponentCore> registerAll(Pipeline pipeline) {
        return evictions.drainThen(() -> evictions.registering(pipeline.components().keySet()), () -> {
            ensureOpen();
            Map<String, BlockGraph> graphs = new LinkedHashMap<>();
            Map<String, ComponentSource> keys = new LinkedHashMap<>();
            pipeline.components().forEach((name, checkpoint) -> {
                if (checkpoint.tensors().isEmpty()) {
                    throw OffloadException.invalid(checkpoint.name() + ": no tensors, nothing to stream (component '" + name + "')");
                }
                ComponentSource key = ComponentSource.of(checkpoint);
                admission.checkShareable(name, key);
                keys.put(name, key);
                if (!components.containsKey(name)) graphs.put(name, BlockGraph.discover(checkpoint));
            });
            return admission.admitAll(graphs, keys);
        });
    }

    /** Offloader.registerGraphs: as registerAll; the same graph instance under its name is shared. */
    public Map<String, ComponentCore> registerGraphs(Map<String, BlockGraph> graphs) {
        return evictions.drainThen(() -> evictions.registering(graphs.keySet()), () -> {
            ensureOpen();
            Map<String, ComponentSource> keys = new LinkedHashMap<>();
            Map<String, BlockGraph> fresh = new LinkedHashMap<>();
            graphs.forEach((name, graph) -> {
                ComponentSource key = ComponentSource.of(graph);
                admission.checkShareable(name, key);
                keys.put(name, key);
                if (!components.containsKey(name)) fresh.put(name, graph);
            });
            return admission.admitAll(fresh, keys);
        });
    }

    /** Registers a graph; registering the same graph instance under its name again shares it. */
    public ComponentCore register(String name, BlockGraph graph) {
        return evictions.drainThen(() -> evictions.registering(List.of(name)), () -> {
            ensureOpen();
            ComponentCore shared = admission.shared(name, ComponentSource.of(graph));
            if (shared != null) return shared;
            return admission.add(name, graph, admission.resolveAuto(Map.of(name, graph)).get(name), ComponentSource.of(graph));
        });
    }

    /** Offloader.unregister: one reference less; the last closes the component. Not during its step. */
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

    /** Offloader.preview (PlanPreview): nothing packed or allocated. */
    public Plan preview(Map<String, BlockGraph> graphs, java.util.OptionalLong hostAvailable) {
        synchronized (this) {
            ensureOpen();
            return PlanPreview.of(this, graphs, hostAvailable);
        }
    }

    /** Offloader.facts: the room for a permanent component, host memory less the margin, the bandwidth. */
    public Resolver.Facts facts() {
        synchronized (this) {
            ensureOpen();
            return admission.facts();
        }
    }

    private final Map<String, dev.offload.memory.DiskCache.Outcome> diskCacheOutcomes = new java.util.concurrent.ConcurrentHashMap<>();
    void noteDiskCache(String component, dev.offload.memory.DiskCache.Outcome outcome) {
        diskCacheOutcomes.put(component, outcome);
    }

    /** What the DISK source's cache did for a component the last time its engine started (DIRECT: no cache file), or null. */
    public dev.offload.memory.DiskCache.Outcome diskCacheOutcome(String component) {
        return diskCacheOutcomes.get(component);
    }

    /** Runs a component under {@code strategy} and {@code grouping} (null: its own) until the returned scope closes ({@link Arrangement}). */
    public Arrangement override(String name, Strategy strategy, dev.offload.graph.Grouping grouping) {
        return evictions.drainThen(() -> evictions.replacing(name, strategy != Strategy.MODEL_OFFLOAD), () -> {
            ensureOpen();
            return Arrangement.open(this, component(name), strategy, grouping);
        });
    }

    /** Offloader.addTensors: the component rebuilt with them (ComponentRebuild). */
    public ComponentCore addTensors(String name, List<dev.offload.graph.TensorRef> tensors) {
        return evictions.drainThen(() -> evictions.replacing(name, config.strategyOf(name) != Strategy.MODEL_OFFLOAD), () -> {
            ensureOpen();
            return ComponentRebuild.addTensors(this, name, tensors);
        });
    }

    /** Offloader.removeTensors: the component rebuilt without the selected ones (ComponentRebuild). */
    public ComponentCore removeTensors(String name, java.util.function.Predicate<String> which) {
        return evictions.drainThen(() -> evictions.replacing(name, config.strategyOf(name) != Strategy.MODEL_OFFLOAD), () -> {
            ensureOpen();
            return ComponentRebuild.removeTensors(this, name, which);
        });
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

    /** Offloader.step: AUTO's follow-up first where pending; a turn-taking component is brought in (Turns). */
    public OpenStep step(String name) {
        ensureOpen(name);
        ComponentCore c = component(name);
        AutoFollowUp f = followUps.get(name);
        if (f != null) f.runAtStep(this, name, c);
        if (c.setup().strategy() != Strategy.MODEL_OFFLOAD) return c.openStep();
        return turns.step(name, c);
    }

    /** Offloader.plan (PlanReport): the finished steps' figures read first, outside this lock. */
    public Plan plan() {
        ensureOpen();
        for (ComponentCore c : components()) c.readFinishedSteps();  // outside this lock, as trace() reads its steps
        synchronized (this) {
            ensureOpen();
            return PlanReport.of(this);
        }
    }

    Turns turns() {
        return turns;
    }

    Admission admission() {
        return admission;
    }

    Evictions evictions() {
        return evictions;
    }

    /** The pending AUTO follow-up of a component, or null. */
    AutoFollowUp followUp(String name) {
        return followUps.get(name);
    }

    /** A component's AUTO follow-up (Admission, after registering it). */
    void follow(String name, AutoFollowUp f) {
        followUps.put(name, f);
    }

    /** Offloader.prefetch: a turn-taking component onto the device now if the budget holds it beside the others (Turns). */
    public boolean prefetch(String name) {
        return turns.prefetch(name);
    }

    /** A turn-taking step closed or a component went: wake the steps waiting for a turn. */
    void turnsChanged() {
        turns.changed();
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
        return new Forgotten(components.remove(name), choices.remove(name), followUps.remove(name));
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

    /** Offloader.trace: every closed step's figures read (waiting for the device where needed), then the timeline. */
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

    public void ensureOpen() {
        if (closed) throw new OffloadException(Status.CLOSED, "offloader is closed");
    }

    /** As {@link #ensureOpen()}, naming the component asked for (a step that lost a race with close says which). */
    void ensureOpen(String component) {
        if (closed) throw new OffloadException(Status.CLOSED, "offloader is closed (asked for component '" + component + "')");
    }

    /** Offloader.close: every component, then the streams and the device; idempotent; a step in flight fails CLOSED at its next call. */
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
