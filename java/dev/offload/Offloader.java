package dev.offload;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.Pipeline;
import dev.offload.engine.ComponentCore;
import dev.offload.engine.OpenStep;
import dev.offload.engine.DeviceSet;
import dev.offload.graph.BlockGraph;
import dev.offload.graph.TensorRef;
import dev.offload.internal.HostFunctionThread;
import dev.offload.memory.DiskCache;
import dev.offload.metrics.Trace;
import dev.offload.plan.Plan;
import dev.offload.plan.Resolver;
import dev.offload.runtime.DeviceInfo;
import dev.offload.runtime.DeviceRuntime;
import dev.offload.runtime.Stream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.Predicate;

/**
 * The public face: opens a device, registers components (checkpoints, block graphs, or a
 * {@link Pipeline}'s components with {@link #registerAll}), and runs
 * steps that stream each component's groups through the device.
 *
 * <pre>{@code
 * try (Offloader off = Offloader.open(OffloadConfig.builder().deviceBudget(Size.gib(12)).build())) {
 *     off.register("transformer", checkpoint);
 *     try (Step s = off.step("transformer")) {
 *         for (Group g : s) {
 *             for (DeviceTensor t : g.tensors()) launch(s.computeStream(), t.devicePointer());
 *         }
 *     }
 * }
 * }</pre>
 *
 * <p>{@link Group#tensor(String)} finds one of the group's tensors by its full name, as in the
 * checkpoint: {@code g.tensor("transformer_blocks.0.attn.to_q.weight")} in the group holding block 0,
 * never a name relative to the block ({@code "attn.to_q.weight"}).
 *
 * <p>Design: this class validates, refuses and delegates. The machinery (the registry and its
 * reference counts, admission into the budget, AUTO, turns, overrides, rebuilds, previews) is
 * engine.Registry's, which also holds the lock (its note gives the lock order); components come
 * back as {@link Component} handles, one per registered component. With several devices
 * ({@code OffloadConfig.devices}) there is a Registry per device (engine.DeviceSet): a component
 * goes where plan.Placement puts it; device-less calls (runtime, facts) answer for the first device.
 *
 * <p>From a host function's body every method that takes the offloader's lock or can wait for the
 * device is refused naming CUDA's rule (internal.HostFunctionThread): a thread-local read per step.
 */
public final class Offloader implements AutoCloseable {
    private final OffloadConfig config;
    private final DeviceSet registry;  // one Registry per device (engine.DeviceSet); with one device, that one

    private Offloader(OffloadConfig config, DeviceSet registry) {
        this.config = config;
        this.registry = registry;
    }

    public static Offloader open(OffloadConfig config) {
        given(config, "the config");
        return new Offloader(config, DeviceSet.open(config));
    }

    public OffloadConfig config() { return config; }

    /**
     * Discovers the checkpoint's block graph (BlockDiscovery's rules) and registers it. A checkpoint
     * with no tensors is refused, naming it. A name registered already from the same files (real
     * paths and FileStamps: device, inode, size, modification and change time) and layout is shared:
     * the same component comes back with one more reference ({@link #unregister}).
     */
    public Component register(String name, Checkpoint checkpoint) {
        HostFunctionThread.refuse("Offloader.register('" + name + "')");
        open(checkpoint, "the checkpoint of component '" + name + "'");
        return Component.of(registry.register(name, checkpoint));
    }

    /** Registers a graph; registering the same graph instance under its name again shares it. */
    public Component register(String name, BlockGraph graph) {
        HostFunctionThread.refuse("Offloader.register('" + name + "')");
        open(graph, "the graph of component '" + name + "'");
        return Component.of(registry.register(name, graph));
    }

    /**
     * Registers each component of a pipeline under its own name ("transformer", "vae", a bundle's
     * "diffusion_model", ...), in the pipeline's order; returns them by name. Components left to AUTO
     * are resolved together (the size rules look at the whole pipeline). A component another
     * pipeline registered from the same files is shared (one more reference), so pipelines that
     * share a VAE or a text encoder hold one copy. Components registered before a failing one stay
     * registered.
     */
    public Map<String, Component> registerAll(Pipeline pipeline) {
        HostFunctionThread.refuse("Offloader.registerAll()");
        open(pipeline, "the pipeline");
        return Component.handles(registry.registerAll(pipeline));
    }

    /** Registers several components at once, as {@link #registerAll}; the same graph instance under its name is shared. */
    public Map<String, Component> registerGraphs(Map<String, BlockGraph> graphs) {
        HostFunctionThread.refuse("Offloader.registerGraphs()");
        graphs(graphs);
        return Component.handles(registry.registerGraphs(graphs));
    }

    /**
     * Drops one reference to a component; the last one closes it and gives back its device and host
     * memory (a pipeline unregistering never pulls a component out from under another pipeline that
     * shares it). Fails for a component with an open step.
     */
    public void unregister(String name) {
        HostFunctionThread.refuse("Offloader.unregister('" + name + "')");
        registry.unregister(name);
    }

    /** {@link #unregister} for each of a pipeline's components. */
    public void unregisterAll(Pipeline pipeline) {
        HostFunctionThread.refuse("Offloader.unregisterAll()");
        registry.unregisterAll(pipeline);
    }

    /**
     * The plan these components would get if registered now, without registering them (nothing is
     * packed or allocated): {@code ./offload plan}. The budget is shared as registration shares it.
     * {@code hostAvailable} replaces the measured host memory when present.
     */
    public Plan preview(Map<String, BlockGraph> graphs, OptionalLong hostAvailable) {
        HostFunctionThread.refuse("Offloader.preview()");
        graphs(graphs);
        return registry.preview(graphs, hostAvailable);
    }

    /** What the resolver sees now: the room for a new permanent component, available host memory less HostMemory's margin, the bandwidth. */
    public Resolver.Facts facts() {
        HostFunctionThread.refuse("Offloader.facts()");
        return registry.facts();
    }

    /** What the DISK source's cache did for a component the last time its engine started (DIRECT: no cache file), or null. */
    public DiskCache.Outcome diskCacheOutcome(String component) {
        return registry.diskCacheOutcome(component);
    }

    /** Runs a component under {@code strategy} until the returned scope closes ({@link ArrangementScope}). */
    public ArrangementScope override(String name, Strategy strategy) { return override(name, strategy, null); }

    /** As above, grouped by {@code grouping} (null: its own) where its host copy serves that without packing again (else INVALID_ARGUMENT, why). */
    public ArrangementScope override(String name, Strategy strategy, dev.offload.graph.Grouping grouping) {
        HostFunctionThread.refuse("Offloader.override('" + name + "')");
        return new ArrangementScope(registry.override(name, strategy, grouping));
    }

    /**
     * Adds tensors to a registered component (LoRA adapters: {@code blocks.3.attn.to_q.lora_A.weight}
     * joins block 3 by BlockDiscovery's rules) and re-plans it, without reopening anything: the
     * component is rebuilt (host copy, plan, engine) under its name with the same references, and
     * the new one is returned (the old object is closed; its step counts start again). Host memory
     * holds the old copy until the new one is made only where the rebuild fails (then the old one is
     * made again); the old is freed first. Not during the component's step, nor under an override.
     */
    public Component addTensors(String name, List<TensorRef> tensors) {
        HostFunctionThread.refuse("Offloader.addTensors('" + name + "')");
        return Component.of(registry.addTensors(name, tensors));
    }

    /** Removes the tensors whose names {@code which} selects and re-plans ({@link #addTensors}'s rules); removing every tensor is refused (unregister it). */
    public Component removeTensors(String name, Predicate<String> which) {
        HostFunctionThread.refuse("Offloader.removeTensors('" + name + "')");
        return Component.of(registry.removeTensors(name, which));
    }

    /**
     * Brings a turn-taking component onto the device now, if the budget holds it beside what is
     * there (nothing is evicted): called before the current component's last step, the swap's
     * copies run behind that step's work. Returns whether the component is active. Permanent
     * components are always active.
     */
    public boolean prefetch(String name) {
        HostFunctionThread.refuse("Offloader.prefetch('" + name + "')");
        return registry.prefetch(name);
    }

    public Component component(String name) {
        HostFunctionThread.refuse("Offloader.component() for", name);
        return Component.of(registry.component(name));
    }

    public List<Component> components() {
        HostFunctionThread.refuse("Offloader.components()");
        List<Component> out = new ArrayList<>();
        for (ComponentCore core : registry.components()) out.add(Component.of(core));
        return List.copyOf(out);
    }

    /**
     * Starts a step of a component: iterate it for its groups in execution order, then close it. A
     * turn-taking component not on the device is brought in first (others evicted as room needs; a
     * step whose room other threads' open steps hold waits for its turn, OffloadConfig.turnTimeout).
     */
    public Step step(String name) {
        HostFunctionThread.refuse("Offloader.step() of component", name);  // once a step: a thread-local read
        return step(registry.step(name));
    }

    /** A step of a component on one of its devices (a replicated one's steps must name it); no other device's lock is taken. */
    public Step step(String name, String device) {
        HostFunctionThread.refuse("Offloader.step() of component", name);
        return step(registry.step(name, device));
    }

    private static Step step(OpenStep open) {
        return new Step(Component.of(open.component()), open.component(), open);
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
        HostFunctionThread.refuse("Offloader.plan()");
        return registry.plan();
    }

    /**
     * The timeline of every component's steps (config {@code trace(true)}): host steps, copies and
     * compute per group, back-pressure marks. Reads the figures of closed steps not yet read
     * (waiting for the device where needed), so it is complete up to the last closed step. Several
     * devices: all of theirs, a process each ({@link Trace#merged}); {@link Trace#writeChromeJson}.
     */
    public Trace trace() {
        HostFunctionThread.refuse("Offloader.trace()");  // reads figures, waiting for the device
        return registry.trace();
    }

    /** The (first) device's compute stream; the same for every step and component there (a step's own: Step.computeStream). */
    public Stream computeStream() {
        return registry.computeStream();
    }

    /** The (first) device's runtime, for a workload's own buffers (they count against the same budget). */
    public DeviceRuntime runtime() {
        return registry.runtime();
    }

    /** A named device's runtime (several devices: its activations' buffers, a runtime.PeerCopy's ends). */
    public DeviceRuntime runtime(String device) {
        return registry.device(device).runtime();
    }

    /** A named device's compute stream (the one its steps' Step.computeStream gives). */
    public Stream computeStream(String device) {
        return registry.device(device).computeStream();
    }

    public DeviceInfo deviceInfo() {
        HostFunctionThread.refuse("Offloader.deviceInfo()");
        return registry.deviceInfo();
    }

    boolean isClosed() { return registry.isClosed(); }

    /** An argument that must be given: null is INVALID_ARGUMENT naming it, not a NullPointerException. */
    private static void given(Object value, String what) { if (value == null) throw OffloadException.invalid(what + " is null"); }

    /** As {@link #given}, after checking the offloader is open: a null argument to a closed one is CLOSED. */
    private void open(Object value, String what) { registry.ensureOpen(); given(value, what); }

    private void graphs(Map<String, BlockGraph> graphs) {
        open(graphs, "the graphs");
        graphs.forEach((name, graph) -> given(graph, "the graph of component '" + name + "'"));
    }

    /**
     * Closes every component, then the streams and the device. Idempotent. A step in flight on
     * another thread is not interrupted mid-call: each component waits for its engine call in
     * flight to return, and the step's next call fails with CLOSED naming the component.
     */
    @Override
    public void close() {
        HostFunctionThread.refuse("Offloader.close()");
        registry.close();
    }
}
