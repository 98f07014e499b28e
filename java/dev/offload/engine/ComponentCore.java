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
 * One registered component below the face: its schedule, its host copy, its engine's life
 * (EngineSlot: the engine, the step's calls, the group places) and its steps' figures
 * (StepFigures), its references and its open step. At most one step is open at a time; the face's
 * Step drives it through StepDriver. Accessors the face shows are documented on its Component.
 *
 * <p>Turns (MODEL_OFFLOAD): the engine, and with it the component's device region, exists only while
 * the component is active. The registry activates it for a step (Turns: evicting other turn-taking
 * components as room needs; while their open steps hold the room, the step waits for its turn) or
 * early through Offloader.prefetch; eviction retires the engine without waiting for the device (the
 * next one's copies queue behind its last step) and keeps its closed steps' figures when first
 * asked for, so {@link #metrics} still answers for them.
 * Step indices count across activations; each engine counts from 0 (EngineSlot's base).
 *
 * <p>Streams: every component has a copy stream of its own; the compute stream is the registry's
 * (the one users launch on). A shared copy stream would let two components stepped from two
 * threads deadlock the device: component A's copy waits for A's release, which sits in the compute
 * stream behind B's wait for B's copy, which sits in the shared copy stream behind A's. With one
 * copy stream per component, a component's copies depend only on its own releases.
 *
 * <p>Closing while a step runs on another thread: close marks the component closed, then waits for
 * the step's engine call in flight (EngineSlot's note); the step's next call fails with CLOSED
 * naming the component. close() is idempotent.
 */
public final class ComponentCore implements AutoCloseable, StepDriver {
    private final Registry owner;
    private final String name;
    private final BlockGraph graph;
    private volatile Schedule schedule;      // what its engine does (plan.Schedule); replaced only by a re-plan, between steps
    private final ComponentSource sourceKey;  // what it was registered from (sharing)
    private int references = 1;              // registrations sharing it (Offloader.unregister)
    private final HostPacking host;
    private final dev.offload.runtime.Stream copy;  // this component's own copy stream (see the note above)
    private final EngineSlot slot;                 // its engine's life, its group places
    private final StepFigures figures;  // its steps' figures, kept ones and the trace's
    private OpenStep open;
    private long stepsStarted;
    private volatile boolean closed;

    ComponentCore(Registry owner, BlockGraph graph, Schedule schedule, HostPacking host, dev.offload.runtime.Stream copy, ComponentSource key) {
        this.copy = copy;
        this.owner = owner;
        this.name = schedule.component();
        this.graph = graph;
        this.schedule = schedule;
        this.host = host;
        ComponentPlan plan = schedule.plan();
        this.slot = new EngineSlot(this, owner, host, copy, plan);
        this.sourceKey = key;
        this.figures = new StepFigures(name, owner.timeline(), MetricsLedger.of(schedule, host.pinnedBytes()));
    }

    /**
     * Replaces the arrangement between steps (AUTO's re-plan, an override): the closed steps' figures
     * are kept, the engine closes and one starts under the next schedule (a turn-taking one with its
     * next turn), on the same host copy (another grouping only where the copy serves it: HostPacking.groupsFor);
     * a failure restores the old one.
     */
    synchronized void replace(Setup newSetup, ComponentPlan newPlan, boolean profile) {
        checkNotClosed();
        if (open != null) throw new IllegalStateException("component '" + name + "' has an open step");
        Schedule old = schedule;
        String unserved = newSetup.grouping().equals(old.setup().grouping()) ? null : host.cannotServe(newPlan.groups());
        if (unserved != null) throw new IllegalStateException("the host copy cannot serve " + newSetup.grouping() + ": " + unserved);
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
        PlanEvent.emit(schedule);
    }

    /** Sets the schedule, and starts its engine when asked (permanent: at once; turn-taking: with its next turn). */
    private void arrange(Schedule next, boolean start) {
        schedule = next;
        ComponentPlan plan = next.plan();
        slot.replanned(plan);
        figures.ledger().regions(next);
        if (start) {
            figures.engineStarting();
            slot.start(next, stepsStarted, false);
        }
    }

    /** Each group's compute time in a closed step of a profiling engine (StepFigures.groupComputeMs). */
    synchronized double[] groupComputeMs(long step) {
        checkNotClosed();
        return figures.groupComputeMs(slot.live(), slot.base(), step, open != null ? stepsStarted - 1 : stepsStarted, schedule);
    }

    /** Component.diskStats: the staging reader's figures since the engine started; zeros without one. */
    public synchronized DiskStats diskStats() {
        checkNotClosed();
        if (!slot.running()) return DiskStats.NONE;
        NativeEngine.DiskStats d = slot.live().diskStats();
        return new DiskStats(d.stagingSlots(), d.stagingBytes(), d.unitBytes(), d.bytesRead(), d.groupsRead(), d.readMs(), d.stallMs(),
                d.io(), d.readerThreads(), d.probeBufferedGbps(), d.probeDirectGbps());
    }

    /** Where its streamed weights live on the host (never AUTO). */
    public HostSource source() {
        return schedule.source();
    }

    /** What its engine does now. */
    public Schedule schedule() { return schedule; }

    public synchronized boolean isActive() {
        return slot.running();
    }

    public synchronized long activations() {
        return slot.activations();
    }

    ComponentSource sourceKey() { return sourceKey; }

    public synchronized int references() {
        return references;
    }

    synchronized void retain() {
        checkNotClosed();
        references++;
    }

    synchronized int releaseReference() {
        return --references;
    }

    private volatile Object face;  // the public face's handle, made by make the first time (under the component's lock)

    @SuppressWarnings("unchecked")
    public <T> T face(java.util.function.Function<ComponentCore, T> make) {
        Object f = face;  // every step asks: no lock once made
        if (f == null) {
            synchronized (this) {
                if (face == null) face = make.apply(this);
                f = face;
            }
        }
        return (T) f;
    }

    /** Whether a step is open (the offloader never evicts such a component). */
    synchronized boolean hasOpenStep() {
        return open != null;
    }

    /** Starts the engine of a permanent component at registration, of a turn-taking one at its turn (the registry has made room). */
    synchronized void start() {
        checkNotClosed();
        if (slot.running()) return;
        figures.engineStarting();
        slot.start(schedule, stepsStarted, true);
    }

    /** Waits, outside the registry's lock, for the component's copies and the compute stream's work queued so far. */
    void drain() {
        copy.synchronize();
        owner.compute().synchronize();
    }

    /** Gives the device region back without waiting (EngineSlot.stop), its figures taken later; never with a step open (then false). */
    synchronized boolean evict() {
        if (!slot.running() || closed) return true;
        if (open != null) return false;  // a step opened meanwhile: it keeps its engine
        long base = slot.base(), to = stepsStarted;
        Schedule was = schedule;
        long from = Math.max(base, to - KEPT_STEPS);
        slot.stop(e -> figures.keep(e, base, from, to, was), from, to);
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

    public long hostBytes() {
        return host.pinnedBytes() + host.pageableBytes();
    }

    /** Its host copy (Component.hostBytesPageable and Component.sharedHost read it). */
    public HostPacking host() {
        return host;
    }

    /** How many of the latest steps' figures {@link #metrics} can still read. */
    public static final int KEPT_STEPS = 64;

    /** Steps started so far; the next step's index. */
    public synchronized long stepsStarted() {
        return stepsStarted;
    }

    /** Component.metrics: a closed step's figures; without {@code wait}, null while the device runs it. */
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
            if (!slot.settleRetired(wait)) return null;  // an evicted engine's last step still runs
            m = figures.of(step, slot.live(), slot.base(), wait, schedule);
            if (m == null) return null;
        }
        figures.record(m);  // outside the component's lock: totals() never waits for an engine call
        return m;
    }

    /** Component.totals: safe from any thread at any time (a snapshot; never the engine). */
    public CumulativeMetrics totals() {
        return figures.totals();
    }

    synchronized OpenStep openStep() {
        if (closed) throw new OffloadException(Status.CLOSED, "component '" + name + "' is closed");
        owner.ensureOpen(name);  // a step that lost the race with close names the component
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

    public dev.offload.runtime.Stream checkedComputeStream() {  // a Group's: CLOSED once the offloader is
        return owner.computeStream();
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

    /** Closed steps so far; -1 once closed, or (with {@code othersBar}) while another thread runs a step (the engine has one driver). */
    synchronized long closedSteps(boolean othersBar) {
        if (closed || othersBar && open != null && !open.ownedByCurrentThread()) return -1;
        return open != null ? stepsStarted - 1 : stepsStarted;
    }

    /** Whether a closed step's figures can still be read: kept, or its engine still running. */
    synchronized boolean readable(long step) {
        return figures.kept(step) || slot.retiredHolds(step) || slot.running() && step >= slot.base();
    }

    synchronized boolean onTrace(long step) {
        return figures.onTrace(step);
    }

    boolean figuresSeen(long step) {
        return figures.seen(step);
    }

    /** Reads the figures (and so the spans) of every closed step still kept that the trace lacks (ClosedSteps). */
    void flushTrace() {
        if (owner.settings().trace()) ClosedSteps.flushTrace(this);
    }

    /** Reads, without waiting, the finished steps' figures no one has read (ClosedSteps). */
    void readFinishedSteps() {
        ClosedSteps.readFinished(this);
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
