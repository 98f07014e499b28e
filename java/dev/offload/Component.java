package dev.offload;

import dev.offload.engine.ComponentCore;
import dev.offload.graph.BlockGraph;
import dev.offload.internal.HostFunctionThread;
import dev.offload.metrics.CumulativeMetrics;
import dev.offload.plan.ComponentPlan;
import dev.offload.plan.Schedule;
import dev.offload.plan.Setup;

/**
 * A registered component, as users hold it: its name, groups, plan and figures. A thin handle:
 * the machinery (host copy, native engine, turns, step protocol, figures and traces) is
 * engine.ComponentCore's; one handle per registered component (the same object for every
 * registration that shares it). Calls that lock or wait are refused from a host function's body
 * (internal.HostFunctionThread), as the Offloader's are.
 */
public final class Component implements AutoCloseable {
    /** How many of the latest steps' figures {@link #metrics} can still read. */
    public static final int KEPT_STEPS = ComponentCore.KEPT_STEPS;

    private final ComponentCore core;

    private Component(ComponentCore core) {
        this.core = core;
    }

    /** The handle of a registered component: made the first time, the same object afterwards. */
    static Component of(ComponentCore core) {
        return core.face(Component::new);
    }

    /** A handle per core, in the cores' order (registerAll, registerGraphs). */
    static java.util.Map<String, Component> handles(java.util.Map<String, ComponentCore> cores) {
        java.util.Map<String, Component> out = new java.util.LinkedHashMap<>();
        cores.forEach((name, core) -> out.put(name, of(core)));
        return java.util.Collections.unmodifiableMap(out);
    }

    ComponentCore core() {
        return core;
    }

    public String name() {
        return core.name();
    }

    public BlockGraph graph() {
        return core.graph();
    }

    /** How the component is arranged (strategy, grouping, window, pinning). */
    public Setup setup() {
        return core.setup();
    }

    /** Where its groups live: its schedule's plan. */
    public ComponentPlan plan() {
        return core.plan();
    }

    /** What its engine does now (plan.Schedule: setup, plan, host source, streaming): what figures and reports read. */
    public Schedule schedule() {
        return core.schedule();
    }

    public int groupCount() {
        return core.groupCount();
    }

    /** Host bytes holding this component's weights (pinned, plus any {@link #hostBytesPageable()}). */
    public long hostBytes() {
        return core.hostBytes();
    }

    /**
     * Host bytes of this component's copy in ordinary memory because pinning them failed (host
     * backend only; on cuda that failure is an error). 0 normally.
     */
    public long hostBytesPageable() {
        return core.host().pageableBytes();
    }

    /**
     * How its copy came to be in the config's shared host region ({@link OffloadConfig#sharedHost()}):
     * {@code "created: ..."}, {@code "mapped: ..."} (packed by another process, or an earlier one) or
     * {@code "rebuilt: ..."} (one was there, stale or foreign), each with the reason; null for a
     * private copy (no region named, or a source other than PINNED).
     */
    public String sharedHost() {
        return core.host().sharedHost();
    }

    /**
     * Where its streamed weights live on the host: the config's source, or, when the config leaves it
     * to AUTO, PINNED unless a pinned copy would not fit the available host memory, then DISK for a
     * checkpoint read from files. Never AUTO.
     */
    public HostSource source() {
        return core.source();
    }

    /** Steps started so far; the next step's index. */
    public long stepsStarted() {
        HostFunctionThread.refuse("Component.stepsStarted() of", core.name());
        return core.stepsStarted();
    }

    /**
     * Figures of a closed step. Without {@code wait} this never blocks: it returns null while the
     * device is still running the step (step s is surely done once step s + 1 + stepsAhead has
     * started); with {@code wait} it waits for the step's compute. Only the last {@link #KEPT_STEPS}
     * steps are kept; a step not closed yet is a NOT_READY error.
     */
    public StepMetrics metrics(long step, boolean wait) {
        HostFunctionThread.refuse("Component.metrics() of", core.name());  // takes the lock close and eviction wait under
        return core.metrics(step, wait);
    }

    /**
     * Figures summed over every step read so far (through {@link #metrics}, by anyone), and device
     * and host bytes by region. Safe from any thread at any time, during another thread's step and
     * after close: it reads a snapshot and never touches the engine.
     */
    public CumulativeMetrics totals() {
        return core.totals();
    }

    /**
     * The staging reader's figures (DISK and LOWMEM sources) since the engine started (a turn-taking
     * component's since its current turn); zeros for a PINNED component or one between turns.
     */
    public DiskStats diskStats() {
        HostFunctionThread.refuse("Component.diskStats() of", core.name());
        return core.diskStats();
    }

    /** Whether the component's groups are on the device now (always, but for a turn-taking one between turns). */
    public boolean isActive() {
        HostFunctionThread.refuse("Component.isActive() of", core.name());
        return core.isActive();
    }

    /** How many times the component was brought onto the device (1 for a permanent one). */
    public long activations() {
        HostFunctionThread.refuse("Component.activations() of", core.name());
        return core.activations();
    }

    /** Registrations sharing this component (pipelines that registered it; 0 once unregistered). */
    public int references() {
        HostFunctionThread.refuse("Component.references() of", core.name());
        return core.references();
    }

    /** Closes the component's engine and frees its device and host memory (Offloader.unregister does it with the last reference). */
    @Override
    public void close() {
        HostFunctionThread.refuse("Component.close() of", core.name());
        core.close();
    }

    boolean isClosed() {
        return core.isClosed();
    }

    @Override
    public String toString() {
        return "component '" + core.name() + "'";
    }
}
