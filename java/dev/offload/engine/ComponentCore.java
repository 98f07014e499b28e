package dev.offload.engine;

import dev.offload.DiskStats;
import dev.offload.HostSource;
import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.StepMetrics;
import dev.offload.Strategy;

import dev.offload.graph.BlockGraph;
import dev.offload.memory.HostPacking;
import dev.offload.internal.NativeEngine;
import dev.offload.metrics.CumulativeMetrics;
import dev.offload.metrics.MetricsLedger;
import dev.offload.metrics.PlanEvent;
import dev.offload.plan.ComponentPlan;
import dev.offload.plan.Schedule;
import dev.offload.plan.Setup;

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
 * <p>Turns (MODEL_OFFLOAD): the engine, and with it the component's device region, exists only while
 * the component is active. the registry activates it for a step (evicting other turn-taking
 * components as room needs, under the offloader's lock; while their open steps hold the room, the
 * step waits for its turn in the offloader's TurnQueue, woken as those steps close) or early through
 * Offloader.prefetch; eviction closes the engine (one wait for the device, once per swap)
 * after keeping the figures of its closed steps, so {@link #metrics} still answers for them. Step
 * indices count across activations; each engine counts from 0 ({@code engineBase}).
 *
 * <p>Streams: every component has a copy stream of its own; the compute stream is the offloader's
 * (the one users launch on). A shared copy stream would let two components stepped from two
 * threads deadlock the device: component A's copy waits for A's release, which sits in the compute
 * stream behind B's wait for B's copy, which sits in the shared copy stream behind A's. With one
 * copy stream per component, a component's copies depend only on its own releases, and a wait in
 * the compute stream only on its own component's copies.
 *
 * <p>Closing while a step runs on another thread: the stepping thread's engine calls (acquire,
 * release) run under {@code engineCalls}; close marks the component closed, then takes that lock,
 * so it waits for a call in flight to return (at most the back-pressure wait) and the engine and the
 * host copy are freed only when no call can reach them. The step's next call sees the mark and fails
 * with CLOSED naming the component. close() is idempotent.
 */
public final class ComponentCore implements AutoCloseable, StepDriver {
    private final Registry owner;
    private final String name;
    private final BlockGraph graph;
    private volatile Schedule schedule;      // what its engine does (plan.Schedule); replaced only by a re-plan, between steps
    private ComponentSource sourceKey;   // what it was registered from (sharing)
    private int references = 1;              // registrations sharing it (Offloader.unregister)
    private final HostPacking host;
    private final dev.offload.runtime.Stream copy;  // this component's own copy stream (see the note above)
    private final EngineSlot slot;                 // its engine's life, its group places
    private long lastUsed;                         // offloader tick of its last step start (eviction order)
    private final StepFigures figures;  // its steps' figures, kept ones and the trace's
    private OpenStep open;
    private long stepsStarted;
    private volatile boolean closed;

    private ComponentCore(Registry owner, BlockGraph graph, Schedule schedule, HostPacking host, dev.offload.runtime.Stream copy) {
        this.copy = copy;
        this.owner = owner;
        this.name = schedule.component();
        this.graph = graph;
        this.schedule = schedule;
        this.host = host;
        ComponentPlan plan = schedule.plan();
        this.slot = new EngineSlot(this, owner, host, copy, plan);
        this.figures = new StepFigures(name, owner.timeline(),
                new MetricsLedger(name, plan.residentBytes(), plan.slotBytes() * plan.slots(), host.pinnedBytes()));
    }

    /**
     * Packs a scheduled component (EngineStart.pack) and starts its engine; a turn-taking component
     * is packed but not started: its engine comes with its first turn.
     */
    static ComponentCore create(Registry owner, BlockGraph graph, Schedule schedule, ComponentSource key) {
        HostPacking host = EngineStart.pack(owner, schedule, graph);
        dev.offload.runtime.Stream copy = null;
        try {
            copy = owner.runtime().createStream(dev.offload.runtime.StreamKind.COPY);
            ComponentCore component = new ComponentCore(owner, graph, schedule, host, copy);
            if (!schedule.takesTurns()) component.slot.start(schedule, 0, true);
            component.sourceKey = key;
            PlanEvent.emit(schedule.plan());
            return component;
        } catch (RuntimeException e) {
            if (copy != null) copy.close();
            host.close();
            throw e;
        }
    }

    /**
     * Replaces the arrangement between steps (AUTO's re-plan, a scoped override): the figures of the
     * closed steps are kept, the engine closes (one wait for the device) and a new one starts under
     * the new plan (a turn-taking one with its next turn), with the same host copy (the grouping
     * stays, so the packing stands). With
     * {@code profile} the new engine keeps per-group spans ({@link #groupComputeMs}).
     */
    synchronized void replace(Setup newSetup, ComponentPlan newPlan, boolean profile) {
        checkNotClosed();
        if (open != null) throw new IllegalStateException("component '" + name + "' has an open step");
        Schedule old = schedule;
        if (!newSetup.grouping().equals(old.setup().grouping())) {
            throw new IllegalStateException("a re-plan keeps the grouping: " + old.setup().grouping() + " -> " + newSetup.grouping());
        }
        Schedule next = old.replanned(newSetup, newPlan, profile);
        boolean wasActive = slot.running();
        evict();
        try {
            arrange(next, !next.takesTurns());
        } catch (RuntimeException e) {
            // the new engine did not start (device memory, a disk fault, a layout mismatch): the
            // old arrangement comes back as it was, so the component never stays without an engine
            try {
                arrange(old, wasActive || !old.takesTurns());
            } catch (RuntimeException again) {
                e.addSuppressed(again);
            }
            throw e;
        }
        PlanEvent.emit(newPlan);
    }

    /** Sets the schedule, and starts its engine when asked (permanent: at once; turn-taking: with its next turn). */
    private void arrange(Schedule next, boolean start) {
        schedule = next;
        ComponentPlan plan = next.plan();
        slot.replanned(plan);
        figures.ledger().regions(plan.residentBytes(), plan.slotBytes() * plan.slots());
        if (start) {
            slot.start(next, stepsStarted, false);
            figures.engineStarted();
        }
    }

    /**
     * Each group's compute time in a closed step of a profiling engine: from when its weights were
     * there and the group before it was done, to its release (waits for the device if needed).
     */
    synchronized double[] groupComputeMs(long step) {
        checkNotClosed();
        NativeEngine engine = slot.live();
        long engineBase = slot.base();
        if (!schedule.profiling() || engine == null || step < engineBase || step >= stepsStarted - (open != null ? 1 : 0)) {
            throw new IllegalStateException("component '" + name + "': no profiled figures for step " + step);
        }
        engine.stepMetrics(step - engineBase, true);
        NativeEngine.Span[] spans = engine.stepSpans(step - engineBase, plan().groups().size(), true);
        double[] out = new double[spans.length];
        for (NativeEngine.Span sp : spans) out[sp.group()] = Math.max(0, sp.computeEndMs() - sp.computeStartMs());
        return out;
    }

    synchronized boolean profiling() {
        return schedule.profiling();
    }

    /**
     * The staging reader's figures (DISK and LOWMEM sources) since the engine started (a turn-taking
     * component's since its current turn); zeros for a PINNED component or one between turns.
     */
    public DiskStats diskStats() {
        synchronized (this) {
            checkNotClosed();
            if (!slot.running()) return DiskStats.NONE;
            NativeEngine.DiskStats d = slot.live().diskStats();
            return new DiskStats(d.stagingSlots(), d.stagingBytes(), d.unitBytes(), d.bytesRead(), d.groupsRead(), d.readMs(), d.stallMs(),
                    d.io(), d.readerThreads(), d.probeBufferedGbps(), d.probeDirectGbps());
        }
    }

    /**
     * Where its streamed weights live on the host: the config's source, or, when the config gives
     * none, PINNED unless a pinned copy would not fit the available host memory, then DISK for a
     * checkpoint read from files (Offloader's choice).
     */
    public HostSource source() {
        return schedule.source();
    }

    /** What its engine does now. */
    public Schedule schedule() {
        return schedule;
    }

    /** Whether the component's groups are on the device now (always, but for a turn-taking one between turns). */
    public boolean isActive() {
        synchronized (this) {
            return slot.running();
        }
    }

    /** How many times the component was brought onto the device (1 for a permanent one). */
    public long activations() {
        synchronized (this) {
            return slot.activations();
        }
    }

    ComponentSource sourceKey() {
        return sourceKey;
    }

    /** Registrations sharing this component (pipelines that registered it; 0 once unregistered). */
    public int references() {
        synchronized (this) {
            return references;
        }
    }

    synchronized void retain() {
        checkNotClosed();
        references++;
    }

    synchronized int releaseReference() {
        return --references;
    }

    private Object face;  // the public face's handle, made once

    /** The face's handle of this component, made by {@code make} the first time (under the component's lock). */
    @SuppressWarnings("unchecked")
    public synchronized <T> T face(java.util.function.Function<ComponentCore, T> make) {
        if (face == null) face = make.apply(this);
        return (T) face;
    }

    /** Whether a step is open (the offloader never evicts such a component). */
    synchronized boolean hasOpenStep() {
        return open != null;
    }

    synchronized long lastUsed() {
        return lastUsed;
    }

    synchronized void touch(long tick) {
        lastUsed = tick;
    }

    /** Starts the engine of an inactive turn-taking component (the offloader has made room). */
    synchronized void activate() {
        checkNotClosed();
        if (slot.running()) return;
        slot.start(schedule, stepsStarted, true);
        figures.engineStarted();
    }

    /**
     * Gives the device region back: keeps the figures of the engine's closed steps (the device is
     * done with them once the engine closes), then closes it. Never with a step open: then it
     * returns false and keeps the engine.
     */
    synchronized boolean evict() {
        if (!slot.running() || closed) return true;
        if (open != null) return false;  // a step opened meanwhile: it keeps its engine
        long base = slot.base();
        slot.stop(e -> figures.keep(e, base, Math.max(base, stepsStarted - KEPT_STEPS), stepsStarted, schedule));
        return true;
    }


    /** How the component is arranged (strategy, grouping, window, pinning). */
    public Setup setup() {
        return schedule.setup();
    }

    public String name() {
        return name;
    }

    public BlockGraph graph() {
        return graph;
    }

    public ComponentPlan plan() {
        return schedule.plan();
    }

    public int groupCount() {
        return plan().groups().size();
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

    /** How many of the latest steps' figures {@link #metrics} can still read. */
    public static final int KEPT_STEPS = 64;

    /** Steps started so far; the next step's index. */
    public long stepsStarted() {
        synchronized (this) {
            return stepsStarted;
        }
    }

    /**
     * Figures of a closed step. Without {@code wait} this never blocks: it returns null while the
     * device is still running the step (step s is surely done once step s + 1 + stepsAhead has
     * started); with {@code wait} it waits for the step's compute. Only the last 64 steps are kept;
     * a step not closed yet is a NOT_READY error.
     */
    public StepMetrics metrics(long step, boolean wait) {
        StepMetrics m;
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
            m = figures.keptFigures(step);
            if (m == null) {
                if (!slot.running() || step < slot.base()) {
                    throw OffloadException.invalid("component '" + name + "': the figures of step " + step
                            + " are gone (only the last " + KEPT_STEPS + " steps are kept across its turns on the device)");
                }
                m = figures.read(slot.live(), slot.base(), step, wait, schedule);
                if (m == null) return null;
            }
        }
        figures.record(m);  // outside the component's lock: totals() never waits for an engine call
        return m;
    }

    /**
     * Figures summed over every step read so far (through {@link #metrics}, by anyone), and device
     * and host bytes by region. Safe from any thread at any time, during another thread's step and
     * after close: it reads a snapshot and never touches the engine.
     */
    public CumulativeMetrics totals() {
        return figures.totals();
    }

    synchronized OpenStep openStep() {
        if (closed) throw new OffloadException(Status.CLOSED, "component '" + name + "' is closed");
        owner.ensureOpen();
        if (open != null) {
            throw OffloadException.invalid("component '" + name + "' already has an open step; close it before starting another");
        }
        if (!slot.running()) {
            throw new OffloadException(Status.INVALID_ARGUMENT, "component '" + name + "' is not on the device (MODEL_OFFLOAD between turns): "
                    + "start its steps through Offloader.step, which brings it in");
        }
        open = new OpenStep(this, stepsStarted++);
        return open;
    }

    // Called by the open step, on its thread only (Step checks): EngineSlot's note.
    public GroupPlace acquire(int group) {
        return slot.acquire(group);
    }

    /** Releases {@code group} and acquires {@code group + 1} in one engine call (one downcall a group). */
    public GroupPlace advance(int group) {
        return slot.advance(group);
    }

    public void release(int group) {
        slot.release(group);
    }

    public void skip(int group) {
        slot.skip(group);
    }

    public dev.offload.runtime.Stream computeStream() {
        return owner.compute();  // no open check: a step's stream stays what it was (its calls fail CLOSED on their own)
    }

    /** Counts the engine's starts and stops and the plan's changes (EngineSlot): a resident place's validity. */
    long placement() {
        return slot.placement();
    }

    void checkNotClosed() {
        if (closed) throw new OffloadException(Status.CLOSED, "component '" + name + "' is closed");
    }

    public boolean isClosed() {
        return closed;
    }

    /** The name of the thread whose step is open, or "none". */
    synchronized String stepThreadName() {
        return open != null ? open.ownerName() : "none";
    }

    /** Whether the open step, if any, is the calling thread's. */
    synchronized boolean stepOwnedByCurrentThread() {
        return open != null && open.ownedByCurrentThread();
    }

    /** Waits until no step is open or the component is closed (steps on other threads end on their own). */
    synchronized void awaitNoOpenStep() {
        boolean interrupted = false;
        while (open != null && !closed) {
            try {
                wait();
            } catch (InterruptedException e) {
                interrupted = true;  // keep waiting: the caller's scope must restore; the flag is set again below
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    public synchronized void stepClosed(OpenStep step) {
        if (open == step) {
            open = null;
            notifyAll();  // awaitNoOpenStep
            if (setup().strategy() == Strategy.MODEL_OFFLOAD) owner.turnsChanged();  // a step waiting for its turn may go
        }
        figures.stepClosed(step, slot.base());
    }

    /** Reads the figures (and so the spans) of every closed step still kept that the trace lacks. */
    void flushTrace() {
        long closedSteps;
        synchronized (this) {
            if (closed || !owner.settings().trace()) return;
            closedSteps = open != null ? stepsStarted - 1 : stepsStarted;
        }
        for (long step = Math.max(0, closedSteps - KEPT_STEPS); step < closedSteps; step++) {
            synchronized (this) {
                if (figures.onTrace(step)) continue;
                if (!figures.kept(step) && (!slot.running() || step < slot.base())) continue;  // gone with an earlier turn
            }
            metrics(step, true);
        }
    }

    /**
     * Reads, without waiting, the figures of the closed steps still kept that no one has read, so
     * {@link #totals()} covers every step the device has finished (Offloader.plan's measured mean).
     * Stops at the first step still running on the device (later ones are not done either); reads
     * nothing while another thread runs a step of this component (the engine has one driver).
     */
    void readFinishedSteps() {
        long closedSteps;
        synchronized (this) {
            if (closed || (open != null && !open.ownedByCurrentThread())) return;
            closedSteps = open != null ? stepsStarted - 1 : stepsStarted;
        }
        for (long step = Math.max(0, closedSteps - KEPT_STEPS); step < closedSteps; step++) {
            if (figures.seen(step)) continue;
            synchronized (this) {
                if (closed || (open != null && !open.ownedByCurrentThread())) return;
                if (!figures.kept(step) && (!slot.running() || step < slot.base())) continue;  // gone with an earlier turn
            }
            try {
                if (metrics(step, false) == null) return;
            } catch (OffloadException e) {
                return;  // a step opened on another thread meanwhile, or the component closed: the next plan() reads it
            }
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
            notifyAll();  // awaitNoOpenStep
            try {  // waits for a step's engine call in flight on another thread; later calls see closed
                slot.shutdown(() -> {
                    copy.close();
                    host.close();
                });
            } finally {
                owner.turnsChanged();  // its room is free: a step waiting for its turn may go
            }
        }
    }
}
