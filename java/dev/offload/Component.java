package dev.offload;

import dev.offload.graph.BlockGraph;
import dev.offload.graph.GroupSpec;
import dev.offload.graph.Grouping;
import dev.offload.memory.HostPacking;
import dev.offload.internal.NativeEngine;
import dev.offload.metrics.CumulativeMetrics;
import dev.offload.metrics.MetricsLedger;
import dev.offload.metrics.PlanEvent;
import dev.offload.plan.ComponentPlan;
import dev.offload.plan.PackedGroup;
import java.util.ArrayList;
import java.util.List;

/**
 * A registered component: its groups in execution order, their pinned host copy, its plan, and the
 * native engine that streams them. At most one step is open at a time.
 *
 * <p>Group views: a group lands in one of a few device places (its resident region, or one of the
 * ring's slots). The view of (group, place), with its device tensors, is made the first time the
 * group lands there and reused afterwards, so after the first pass over the ring nothing is
 * allocated per group.
 *
 * <p>Metrics: every step's figures obtained through {@link #metrics} go to a {@link MetricsLedger}
 * (once per step), which keeps the running {@link #totals} and commits the JFR step events; the plan's
 * JFR event is committed at registration.
 *
 * <p>Closing while a step runs on another thread: the stepping thread's engine calls (acquire,
 * release) run under {@code engineCalls}; close marks the component closed, then takes that lock,
 * so it waits for a call in flight to return (at most the back-pressure wait) and the engine and the
 * host copy are freed only when no call can reach them. The step's next call sees the mark and fails
 * with CLOSED naming the component. close() is idempotent.
 */
public final class Component implements AutoCloseable {
    private final Offloader owner;
    private final String name;
    private final BlockGraph graph;
    private final ComponentPlan plan;
    private final HostPacking host;
    private final NativeEngine engine;
    private final Group[][] views;
    private final MetricsLedger ledger;
    private Step open;
    private final java.util.BitSet traced = new java.util.BitSet();  // steps whose spans are in the trace
    private double deviceOriginUs = Double.NaN;                      // trace time of step 0's begin
    private long stepsStarted;
    private volatile boolean closed;
    private final java.util.concurrent.locks.ReentrantLock engineCalls = new java.util.concurrent.locks.ReentrantLock();

    private Component(Offloader owner, String name, BlockGraph graph, ComponentPlan plan, HostPacking host, NativeEngine engine) {
        this.owner = owner;
        this.name = name;
        this.graph = graph;
        this.plan = plan;
        this.host = host;
        this.engine = engine;
        this.views = new Group[plan.groups().size()][];
        for (int g = 0; g < views.length; g++) views[g] = new Group[plan.resident()[g] ? 1 : Math.max(1, plan.slots())];
        this.ledger = new MetricsLedger(name, plan.residentBytes(), plan.slotBytes() * plan.slots(), host.pinnedBytes());
    }

    /**
     * Plans, packs and starts a component. The plan gets what the budget leaves beside the device
     * memory in use ({@code usedDeviceBytes}: other components, workload buffers). A budget too small
     * for the component on its own is a configuration error (INVALID_ARGUMENT); one that would do but
     * for the memory in use is OUT_OF_DEVICE_MEMORY, with the numbers.
     */
    static Component create(Offloader owner, String name, BlockGraph graph, long budgetBytes, long usedDeviceBytes) {
        OffloadConfig config = owner.config();
        Grouping grouping = config.strategy() == Strategy.LAYERWISE ? Grouping.blocks(1) : config.grouping();
        List<PackedGroup> packed = new ArrayList<>();
        for (GroupSpec spec : graph.groups(grouping)) packed.add(PackedGroup.of(spec));
        long left = Math.max(0, budgetBytes - usedDeviceBytes);
        ComponentPlan plan;
        try {
            plan = ComponentPlan.make(name, config.strategy(), packed, grouping instanceof Grouping.Leaf, config.window(),
                    config.pinning(name), left);
        } catch (OffloadException e) {
            if (e.status() != Status.INVALID_ARGUMENT || usedDeviceBytes == 0) throw e;
            try {
                ComponentPlan.make(name, config.strategy(), packed, grouping instanceof Grouping.Leaf, config.window(),
                        config.pinning(name), budgetBytes);
            } catch (OffloadException alone) {
                throw e;  // too small even alone: the configuration's fault
            }
            throw new OffloadException(Status.OUT_OF_DEVICE_MEMORY, "component '" + name + "': out of device memory: the budget of "
                    + budgetBytes + " bytes has " + usedDeviceBytes + " in use (other components and buffers), leaving " + left
                    + " bytes, too few for this component (" + e.getMessage() + ")", e);
        }
        if (config.source() == HostSource.DISK) return createFromDisk(owner, name, graph, plan, packed);
        boolean lowmem = config.source() == HostSource.LOWMEM;
        HostPacking host = lowmem ? HostPacking.packPageable(owner.runtime(), name, packed, config.slabBytes())
                : HostPacking.pack(owner.runtime(), name, packed, config.slabBytes());
        try {
            NativeEngine.GroupSource[] sources = new NativeEngine.GroupSource[packed.size()];
            for (int g = 0; g < sources.length; g++) sources[g] = new NativeEngine.GroupSource(host.group(g), plan.resident()[g]);
            NativeEngine engine = lowmem ? NativeEngine.createStaged(owner.runtime().handle(), sources, config.stagingBytes(), plan.slots(),
                    plan.prefetchDepth(), config.timing().code(), config.stepsAhead(), config.trace(), owner.computeStream().handle(),
                    owner.copyStream().handle(), "component '" + name + "'") : NativeEngine.create(owner.runtime().handle(), sources, plan.slots(), plan.prefetchDepth(),
                    config.timing().code(), config.stepsAhead(), config.trace(), owner.computeStream().handle(),
                    owner.copyStream().handle(), "component '" + name + "'");
            Component component = new Component(owner, name, graph, plan, host, engine);
            PlanEvent.emit(plan);
            return component;
        } catch (RuntimeException e) {
            host.close();
            throw e;
        }
    }

    /** DISK source: no host copy; the engine reads the groups from their files (memory/DiskSource). */
    private static Component createFromDisk(Offloader owner, String name, BlockGraph graph, ComponentPlan plan, List<PackedGroup> packed) {
        OffloadConfig config = owner.config();
        dev.offload.memory.DiskSource source = dev.offload.memory.DiskSource.of(name, packed);
        long[] bytes = new long[packed.size()];
        for (int g = 0; g < bytes.length; g++) bytes[g] = packed.get(g).bytes();
        NativeEngine engine = NativeEngine.createFromDisk(owner.runtime().handle(), bytes, plan.resident(), source.files(), source.extents(),
                config.stagingBytes(), plan.slots(), plan.prefetchDepth(), config.timing().code(), config.stepsAhead(), config.trace(),
                owner.computeStream().handle(), owner.copyStream().handle(), "component '" + name + "'");
        Component component = new Component(owner, name, graph, plan, HostPacking.none(), engine);
        PlanEvent.emit(plan);
        return component;
    }

    /** The staging reader's figures (DISK and LOWMEM sources); zeros for a PINNED component. */
    public synchronized DiskStats diskStats() {
        checkNotClosed();
        NativeEngine.DiskStats d = engine.diskStats();
        return new DiskStats(d.stagingSlots(), d.stagingBytes(), d.bytesRead(), d.groupsRead(), d.readMs(), d.stallMs());
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

    /** Host bytes holding this component's weights (pinned, plus any {@link #hostBytesPageable()}). */
    public long hostBytes() {
        return host.pinnedBytes() + host.pageableBytes();
    }

    /**
     * Host bytes of this component's copy in ordinary memory because pinning them failed (host
     * backend only; on cuda that failure is an error). 0 normally.
     */
    public long hostBytesPageable() {
        return host.pageableBytes();
    }

    /** Steps started so far; the next step's index. */
    public synchronized long stepsStarted() {
        return stepsStarted;
    }

    /**
     * Figures of a closed step. Without {@code wait} this never blocks: it returns null while the
     * device is still running the step (step s is surely done once step s + 1 + stepsAhead has
     * started); with {@code wait} it waits for the step's compute. Only the last 64 steps are kept;
     * a step not closed yet is a NOT_READY error.
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
            long closedSteps = open != null ? stepsStarted - 1 : stepsStarted;
            if (step < 0 || step >= closedSteps) {
                throw new OffloadException(Status.NOT_READY, "component '" + name + "': step " + step + " has not closed ("
                        + closedSteps + " closed so far)");
            }
            s = engine.stepMetrics(step, wait);
            if (s != null && owner.config().trace() && !traced.get(Math.toIntExact(step))) {
                traced.set(Math.toIntExact(step));
                traceStep(s, engine.stepSpans(step, plan.groups().size(), true));  // read with its figures: never waits
            }
        }
        if (s == null) return null;
        StepMetrics m = metricsOf(s);
        ledger.record(m);  // outside the component's lock: totals() never waits for an engine call
        return m;
    }

    /**
     * Figures summed over every step read so far (through {@link #metrics}, by anyone), and device
     * and host bytes by region. Safe from any thread at any time, during another thread's step and
     * after close: it reads a snapshot and never touches the engine.
     */
    public CumulativeMetrics totals() {
        return ledger.totals();
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
    Group acquire(int group) {
        long base;
        engineCalls.lock();
        try {
            checkNotClosed();
            base = engine.acquire(group);
        } finally {
            engineCalls.unlock();
        }
        return view(group, base);
    }

    /** Releases {@code group} and acquires {@code group + 1} in one engine call (one downcall a group). */
    Group advance(int group) {
        long base;
        engineCalls.lock();
        try {
            checkNotClosed();
            base = engine.advance(group);
        } finally {
            engineCalls.unlock();
        }
        return view(group + 1, base);
    }

    private Group view(int group, long base) {
        Group[] places = views[group];
        for (Group v : places) {
            if (v == null) break;
            if (v.base() == base) return v;
        }
        for (int i = 0; i < places.length; i++) {
            if (places[i] == null) return places[i] = new Group(group, plan.groups().get(group), base, this);
        }
        // More places than the plan said: keep the newest (never expected; correctness over reuse).
        return places[places.length - 1] = new Group(group, plan.groups().get(group), base, this);
    }

    dev.offload.runtime.Stream computeStream() {
        return owner.computeStream();
    }

    void checkHeld(Group group) {
        Step s = open;
        if (closed || s == null || !s.holds(group)) {
            throw new OffloadException(Status.CLOSED, "group '" + group.name() + "' of component '" + name
                    + "' is no longer held by its step");
        }
    }

    void release(int group) {
        engineCalls.lock();
        try {
            checkNotClosed();
            engine.release(group);
        } finally {
            engineCalls.unlock();
        }
    }

    private void checkNotClosed() {
        if (closed) throw new OffloadException(Status.CLOSED, "component '" + name + "' is closed");
    }

    boolean isClosed() {
        return closed;
    }

    synchronized void stepClosed(Step step) {
        if (open == step) open = null;
        dev.offload.metrics.Trace trace = owner.trace;
        if (trace != null) {
            if (step.index() == 0) deviceOriginUs = trace.hostUs(step.openedNanos());
            trace.span("host: " + name, "step " + step.index(), trace.hostUs(step.openedNanos()),
                    (step.closedNanos() - step.openedNanos()) / 1e3, java.util.Map.of("step", step.index(), "host_us",
                            step.hostNanos() / 1e3));
        }
    }

    /**
     * Puts a step's device spans on the trace: the component's copy and compute tracks, times from
     * the engine's events (device clock), placed so that step 0's begin sits where its host step
     * opened (the two clocks are aligned once, there; the device may in truth start a little
     * later). The back-pressure wait is a mark on the host track at the step's start.
     */
    private void traceStep(NativeEngine.Step s, NativeEngine.Span[] spans) {
        dev.offload.metrics.Trace trace = owner.trace;
        if (trace == null || Double.isNaN(s.beginMs())) return;
        double origin = Double.isNaN(deviceOriginUs) ? 0 : deviceOriginUs;
        double begin = origin + s.beginMs() * 1e3;
        for (NativeEngine.Span g : spans) {
            PackedGroup packed = plan.groups().get(g.group());
            java.util.Map<String, Object> args = java.util.Map.of("step", s.step(), "group", g.group(), "bytes", packed.bytes());
            String group = packed.spec().name();
            trace.span("compute: " + name, group, begin + g.computeStartMs() * 1e3, (g.computeEndMs() - g.computeStartMs()) * 1e3, args);
            if (g.streamed()) {
                trace.span("copy: " + name, group, begin + g.copyStartMs() * 1e3, (g.copyEndMs() - g.copyStartMs()) * 1e3, args);
                double reached = g.group() == 0 ? 0 : spans[g.group() - 1].computeEndMs();  // where compute began to wait
                dev.offload.metrics.GroupCopyEvent.emit(name, s.step(), group, packed.bytes(), g.copyEndMs() - g.copyStartMs(),
                        Math.max(0, g.copyEndMs() - reached));
            }
        }
        if (s.hostWaits() > 0) {
            trace.mark("host: " + name, "back-pressure wait", begin, java.util.Map.of("step", s.step(), "blocked_ms", s.hostBlockedMs()));
        }
    }

    /** Reads the figures (and so the spans) of every closed step still kept that the trace lacks. */
    void flushTrace() {
        long closedSteps;
        synchronized (this) {
            if (closed || !owner.config().trace()) return;
            closedSteps = open != null ? stepsStarted - 1 : stepsStarted;
        }
        for (long step = Math.max(0, closedSteps - 64); step < closedSteps; step++) {
            synchronized (this) {
                if (traced.get(Math.toIntExact(step))) continue;
            }
            metrics(step, true);
        }
    }

    static StepMetrics metricsOf(NativeEngine.Step s) {
        return new StepMetrics(s.step(), s.h2dBytes(), s.hostWaits(), s.hostBlockedMs(), s.stepMs(), s.computeMs(), s.computeIdleMs(),
                s.copyMs(), s.copyBusyMs(), s.peakDeviceBytes(), s.peakHostBytes(), s.beginMs());
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        engineCalls.lock();  // waits for a step's engine call in flight on another thread; later calls see closed
        try {
            engine.close();
        } finally {
            try {
                host.close();
            } finally {
                engineCalls.unlock();
            }
        }
    }
}
