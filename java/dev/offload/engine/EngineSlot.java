package dev.offload.engine;

import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.internal.NativeEngine;
import dev.offload.memory.HostPacking;
import dev.offload.plan.ComponentPlan;
import dev.offload.plan.Schedule;
import dev.offload.runtime.Stream;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The life of one component's native engine: started from its schedule (EngineStart), driven by
 * the open step's thread (acquire, advance, release, skip), stopped by an eviction, a re-plan or
 * close; and the component's group places, made once per (group, device place).
 *
 * <p>Locks: starting and stopping happen under the component's lock. The step's calls take only
 * {@code calls}, never the component's lock, so no lock is held around the device by anyone else;
 * stopping takes {@code calls} too, so it waits for a call in flight to return, and the engine is
 * freed only when no call can reach it. A call after the component closed fails CLOSED naming it.
 *
 * <p>Stopping never waits for the device: the engine is retired (its region goes back fenced by its
 * last use, offload.h: ofl_engine_retire) and kept, closed for stepping, until its figures are
 * taken (settleRetired: when the component's figures are asked for, at its next start, at close),
 * so a model-level turn creates the next component's engine while this one's last step still runs.
 *
 * <p>Placement counts the engine's starts and stops and the plan's changes: a resident group's place
 * is valid while it is what it was when the place was handed out (GroupPlace's note).
 */
final class EngineSlot {
    private final ComponentCore component;
    private final Registry owner;
    private final HostPacking host;
    private final Stream copy;
    private final ReentrantLock calls = new ReentrantLock();
    private NativeEngine engine;        // null while a turn-taking component is not on the device
    private NativeEngine retired;       // stopped, its figures not yet taken (at most one)
    private Consumer<NativeEngine> takeFigures;  // what stop was given for it
    private long retiredFrom, retiredTo, retiredBase;  // the component's steps whose figures it holds: [from, to); its step 0
    private long base;                  // the component step the engine counts as its step 0
    private long activations;
    private volatile long placement;
    private GroupPlace[][] places;

    EngineSlot(ComponentCore component, Registry owner, HostPacking host, Stream copy, ComponentPlan plan) {
        this.component = component;
        this.owner = owner;
        this.host = host;
        this.copy = copy;
        this.places = placesFor(plan);
    }

    private static GroupPlace[][] placesFor(ComponentPlan plan) {
        GroupPlace[][] p = new GroupPlace[plan.groups().size()][];
        for (int g = 0; g < p.length; g++) p[g] = new GroupPlace[plan.resident()[g] ? 1 : Math.max(1, plan.slots())];
        return p;
    }

    /** A new plan (a re-plan or an override): its places start afresh. */
    void replanned(ComponentPlan plan) {
        places = placesFor(plan);
        placement++;
    }

    /** Starts the engine of {@code s}, its step 0 being the component's {@code firstStep}; a turn counts as an activation. */
    void start(Schedule s, long firstStep, boolean activation) {
        settleRetired(true);  // one retired engine at a time (its steps are long done by a later turn)
        engine = EngineStart.start(owner, s, host, copy);
        base = firstStep;
        placement++;
        if (activation) activations++;
    }

    /**
     * Stops the engine, if running, without waiting for the device: it is retired (its region given
     * back behind its last use) and {@code takeFigures} runs on it later (settleRetired), before it
     * closes; {@code from} to {@code to} (exclusive, the component's count) are the steps it holds.
     */
    void stop(Consumer<NativeEngine> takeFigures, long from, long to) {
        calls.lock();
        try {
            NativeEngine e = engine;
            if (e == null) return;
            settleRetired(true);
            engine = null;
            placement++;
            try {
                e.retire();
            } catch (RuntimeException failed) {
                try {
                    takeFigures.accept(e);
                } finally {
                    e.close();
                }
                throw failed;
            }
            retired = e;
            retiredFrom = from;
            retiredBase = base;
            retiredTo = to;
            this.takeFigures = takeFigures;
        } finally {
            calls.unlock();
        }
    }

    /**
     * Takes the retired engine's figures and closes it. Without {@code wait}, only once its last step
     * is done on the device: false while it still runs (nothing changes). True when none is left.
     */
    boolean settleRetired(boolean wait) {
        NativeEngine e = retired;
        if (e == null) return true;
        if (!wait) {
            if (retiredTo > retiredFrom && e.stepMetrics(retiredTo - 1 - retiredBase, false) == null) return false;
        }
        retired = null;
        try {
            takeFigures.accept(e);
        } finally {
            takeFigures = null;
            e.close();
        }
        return true;
    }

    /** Close: waits for a call in flight, closes the engine (and a retired one), then {@code after} (the copy stream, the host copy). */
    void shutdown(Runnable after) {
        calls.lock();
        try {
            try {
                settleRetired(true);
            } finally {
                if (engine != null) engine.close();
            }
            engine = null;
            placement++;
        } finally {
            try {
                after.run();
            } finally {
                calls.unlock();
            }
        }
    }

    /** Whether a retired engine not yet settled holds {@code step}'s figures. */
    boolean retiredHolds(long step) {
        return retired != null && step >= retiredFrom && step < retiredTo;
    }

    boolean running() {
        return engine != null;
    }

    /** The running engine, or null. */
    NativeEngine live() {
        return engine;
    }

    long base() {
        return base;
    }

    long activations() {
        return activations;
    }

    long placement() {
        return placement;
    }

    GroupPlace acquire(int group) {
        long address;
        calls.lock();
        try {
            component.checkNotClosed();
            address = running(group).acquire(group);
        } finally {
            calls.unlock();
        }
        return place(group, address);
    }

    GroupPlace advance(int group) {
        long address;
        calls.lock();
        try {
            component.checkNotClosed();
            address = running(group).advance(group);
        } finally {
            calls.unlock();
        }
        return place(group + 1, address);
    }

    void release(int group) {
        calls.lock();
        try {
            component.checkNotClosed();
            running(group).release(group);
        } finally {
            calls.unlock();
        }
    }

    void skip(int group) {
        calls.lock();
        try {
            component.checkNotClosed();
            running(group).skip(group);
        } finally {
            calls.unlock();
        }
    }

    /** The engine, for the open step's calls (a component with an open step is never evicted). */
    private NativeEngine running(int group) {
        NativeEngine e = engine;
        if (e == null) throw new OffloadException(Status.CLOSED, "component '" + component.name() + "' is not on the device");
        return e;
    }

    private GroupPlace place(int group, long address) {
        GroupPlace[] at = places[group];
        for (GroupPlace p : at) {
            if (p == null) break;
            if (p.base() == address) return p;
        }
        ComponentPlan plan = component.plan();
        for (int i = 0; i < at.length; i++) {
            if (at[i] == null) return at[i] = new GroupPlace(group, plan.groups().get(group), address, component, plan.resident()[group]);
        }
        // More places than the plan said: keep the newest (never expected; correctness over reuse).
        return at[at.length - 1] = new GroupPlace(group, plan.groups().get(group), address, component, plan.resident()[group]);
    }
}
