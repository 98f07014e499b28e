package dev.offload;

import dev.offload.graph.BlockGraph;
import dev.offload.graph.GroupSpec;
import dev.offload.graph.Grouping;
import dev.offload.internal.HostPacking;
import dev.offload.internal.NativeEngine;
import dev.offload.plan.ComponentPlan;
import dev.offload.plan.PackedGroup;
import java.util.ArrayList;
import java.util.List;

/**
 * A registered component: its groups in execution order, their pinned host copy, its plan, and the
 * native engine that streams them. At most one step is open at a time.
 */
public final class Component implements AutoCloseable {
    private final Offloader owner;
    private final String name;
    private final BlockGraph graph;
    private final ComponentPlan plan;
    private final HostPacking host;
    private final NativeEngine engine;
    private Step open;
    private long stepsStarted;
    private boolean closed;

    private Component(Offloader owner, String name, BlockGraph graph, ComponentPlan plan, HostPacking host, NativeEngine engine) {
        this.owner = owner;
        this.name = name;
        this.graph = graph;
        this.plan = plan;
        this.host = host;
        this.engine = engine;
    }

    static Component create(Offloader owner, String name, BlockGraph graph, long availableDeviceBytes) {
        OffloadConfig config = owner.config();
        Grouping grouping = config.strategy() == Strategy.LAYERWISE ? Grouping.blocks(1) : config.grouping();
        List<PackedGroup> packed = new ArrayList<>();
        for (GroupSpec spec : graph.groups(grouping)) packed.add(PackedGroup.of(spec));
        ComponentPlan plan = ComponentPlan.make(name, config.strategy(), packed, grouping instanceof Grouping.Leaf,
                config.window(), availableDeviceBytes);
        HostPacking host = HostPacking.pack(owner.runtime(), packed, config.slabBytes());
        try {
            NativeEngine.GroupSource[] sources = new NativeEngine.GroupSource[packed.size()];
            for (int g = 0; g < sources.length; g++) sources[g] = new NativeEngine.GroupSource(host.group(g), plan.resident()[g]);
            NativeEngine engine = NativeEngine.create(owner.runtime(), sources, plan.slots(), plan.prefetchDepth(), config.timing(),
                    owner.computeStream(), owner.copyStream(), "component '" + name + "'");
            return new Component(owner, name, graph, plan, host, engine);
        } catch (RuntimeException e) {
            host.close();
            throw e;
        }
    }

    public String name() {
        return name;
    }

    public BlockGraph graph() {
        return graph;
    }

    public ComponentPlan plan() {
        return plan;
    }

    public int groupCount() {
        return plan.groups().size();
    }

    /** Pinned host bytes holding this component's weights. */
    public long hostBytes() {
        return host.pinnedBytes();
    }

    /** Steps started so far; the next step's index. */
    public synchronized long stepsStarted() {
        return stepsStarted;
    }

    /**
     * Figures of a closed step. Step s is read without waiting when step s + 1 closes; asking for it
     * sooner returns null unless {@code wait}, which waits for that step's compute to finish. Only
     * the last 16 steps are kept; a step not closed yet is a NOT_READY error.
     */
    public StepMetrics metrics(long step, boolean wait) {
        NativeEngine.Step s;
        synchronized (this) {
            if (closed) throw new OffloadException(Status.CLOSED, "component '" + name + "' is closed");
            // The engine is driven by one thread: during a step only that thread may read it.
            if (open != null && !open.ownedByCurrentThread()) {
                throw OffloadException.invalid("component '" + name + "' is running a step on another thread; read its metrics "
                        + "from that thread or between steps");
            }
            s = engine.stepMetrics(step, wait);
        }
        return s == null ? null : metricsOf(s);
    }

    synchronized Step step() {
        if (closed) throw new OffloadException(Status.CLOSED, "component '" + name + "' is closed");
        owner.ensureOpen();
        if (open != null) {
            throw OffloadException.invalid("component '" + name + "' already has an open step; close it before starting another");
        }
        open = new Step(this, owner.computeStream(), stepsStarted++);
        return open;
    }

    // Called by the open step, on its thread only (Step checks), so no lock is held around the
    // engine's device calls.
    long acquire(int group) {
        return engine.acquire(group);
    }

    void release(int group) {
        engine.release(group);
    }

    synchronized void stepClosed(Step step) {
        if (open == step) open = null;
    }

    StepMetrics metricsOf(NativeEngine.Step s) {
        var info = owner.runtime().info();
        double nan = Double.NaN;
        return new StepMetrics(s.step(), s.h2dBytes(), s.timed() ? s.copyMs() : nan, s.timed() ? s.computeMs() : nan,
                s.hostBlockedMs(), s.timed() ? s.stepMs() : nan, info.peakBytes(), info.hostPeakBytes());
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            engine.close();
        } finally {
            host.close();
        }
    }
}
