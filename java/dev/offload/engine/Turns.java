package dev.offload.engine;

import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.Strategy;
import java.util.ArrayList;
import java.util.List;

/**
 * Turn-taking (MODEL_OFFLOAD) components' turns on the device: bringing one in (evicting the least
 * recently used idle ones), prefetching one where the budget holds it beside the others, and a
 * step that waits for its turn while other threads' open steps hold the room. It works on the
 * registry's components under the registry's lock, and waits outside it for a turn (TurnQueue).
 * Evicting a victim waits for nothing: its engine is retired, its region fenced on the device
 * (EngineSlot.stop), so the next component loads behind the victim's last step (issue 18).
 */
final class Turns {
    private final Registry registry;
    private final TurnQueue queue = new TurnQueue();  // steps waiting for their turn
    private long tick;  // orders turn-taking components' steps (least recently used is evicted first)
    private final java.util.Map<ComponentCore, Long> lastUsed = new java.util.WeakHashMap<>();  // each one's tick of its last step

    Turns(Registry registry) {
        this.registry = registry;
    }

    /** Evicts every active turn-taking component without an open step. */
    void evictIdle() {
        for (ComponentCore c : registry.registered().values()) {
            if (c.setup().strategy() == Strategy.MODEL_OFFLOAD && c.isActive() && !c.hasOpenStep()) c.evict();
        }
    }

    /**
     * Brings a turn-taking component onto the device now, if the budget holds it beside what is
     * there (nothing is evicted): called before the current component's last step, the swap's
     * copies run behind that step's work. Returns whether the component is active. Permanent
     * components are always active.
     */
    boolean prefetch(String name) {
        synchronized (registry) {
            ComponentCore c = registry.component(name);
            if (registry.evictions().isEvicting(c)) return false;  // its engine is being taken off: its next step brings it back
            if (c.isActive()) return true;
            if (free() < c.plan().deviceBytes()) return false;
            c.start();
            return true;
        }
    }

    /** Device bytes free now: the budget ledger's figure (plan.BudgetLedger.free). */
    private long free() {
        return registry.admission().ledger(null).free();
    }

    /**
     * Makes room for a turn-taking component (evicting the least recently used idle ones) and
     * activates it: returns null. Where the room is held by other turn-taking components' open
     * steps, or by engines another call is taking off the device (Evictions), returns those (the
     * step waits for its turn); where nothing evictable is left at all, OUT_OF_DEVICE_MEMORY with the
     * numbers. Components another call marked as evicting are waited for, never taken twice.
     */
    private List<ComponentCore> bringIn(ComponentCore c, List<ComponentCore> evicting) {
        Evictions marks = registry.evictions();
        if (marks.isEvicting(c) && !evicting.contains(c)) return List.of(c);  // another call takes it off: wait, then bring it in
        if (c.isActive()) return null;
        long need = c.plan().deviceBytes();
        while (free() < need) {
            ComponentCore victim = null;
            List<ComponentCore> busy = new ArrayList<>();  // seen with an open step in this same scan (a step may close meanwhile)
            for (ComponentCore other : registry.registered().values()) {
                if (other == c || other.setup().strategy() != Strategy.MODEL_OFFLOAD || !other.isActive()) continue;
                if (other.hasOpenStep() || marks.isEvicting(other) && !evicting.contains(other)) {
                    busy.add(other);
                    continue;
                }
                if (victim == null || used(other) < used(victim)) victim = other;
            }
            if (victim == null) {
                if (!busy.isEmpty()) return busy;  // wait for them: a step that closed since wakes the waiter (TurnQueue's epoch)
                throw new OffloadException(Status.OUT_OF_DEVICE_MEMORY, "component '" + c.name() + "' needs " + need
                        + " device bytes for its turn but " + free() + " are free, with no other turn-taking component left to evict");
            }
            // Evicting waits for nothing (EngineSlot.stop retires the engine: its region comes back fenced
            // by its last use, and this component's first copies queue behind that on the device), so
            // the turn is decided and made here, under the lock, with no drain: the swap overlaps the
            // victim's last step (TurnOverlapTest).
            if (!victim.evict()) return List.of(victim);  // a step opened meanwhile: wait for it
        }
        c.start();
        return null;
    }

    /**
     * A turn-taking component's step: brought onto the device (idle turn-taking components evicted,
     * least recently used first) when the thread may take a turn (TurnQueue: first in line, or none
     * waiting); otherwise, or while other threads' open steps hold the room, it waits in line
     * outside the offloader's lock, for at most the config's turn timeout. A thread holding an open
     * step of another turn-taking component never waits (it would wait for itself, or for a thread
     * waiting for it): its step starts at once or is refused at once.
     */
    OpenStep step(String name, ComponentCore c) {
        Thread me = Thread.currentThread();
        java.time.Duration timeout = registry.settings().turnTimeout();
        long started = System.nanoTime();
        long deadline = timeout == null ? 0 : Math.max(1, started + timeout.toNanos());
        boolean queued = false;
        List<ComponentCore> evicting = new ArrayList<>(0);  // marks this step holds (none: a turn's eviction waits for nothing)
        try {
            while (true) {
                long seen = queue.epoch();
                List<ComponentCore> holders;
                synchronized (registry) {  // lock order: the offloader, then a component
                    registry.ensureOpen(name);
                    ComponentCore mine = turnStepHeldByThisThread(c);
                    holders = mine != null || queue.mayGo(me) ? bringIn(c, evicting) : turnHolders(c);
                    if (holders == null) {
                        lastUsed.put(c, ++tick);
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
                registry.evictions().unmark(evicting);  // never hold a mark while waiting in line: a step ahead may need the victim
                evicting.clear();
                if (!queued) {
                    queue.enqueue(me);
                    queued = true;
                }
                if (!queue.await(seen, deadline)) {
                    throw new OffloadException(Status.NOT_READY, "component '" + name + "' waited " + timeout.toMillis() + " ms for its"
                            + " turn on the device (MODEL_OFFLOAD) and gave up (OffloadConfig.turnTimeout): " + describe(holders)
                            + (queue.ahead(me) > 0 ? "; " + queue.ahead(me) + " other step(s) were in line before it" : ""));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OffloadException(Status.NOT_READY, "component '" + name + "': interrupted while waiting for its turn on the device", e);
        } finally {
            if (queued) queue.leave(me);
            registry.evictions().unmark(evicting);
        }
    }

    /** The other turn-taking component whose open step the calling thread holds, or null. */
    private ComponentCore turnStepHeldByThisThread(ComponentCore c) {
        for (ComponentCore other : registry.registered().values()) {
            if (other != c && other.setup().strategy() == Strategy.MODEL_OFFLOAD && other.stepOwnedByCurrentThread()) return other;
        }
        return null;
    }

    /** The active turn-taking components other than {@code c} with an open step (what a waiting turn waits for). */
    private List<ComponentCore> turnHolders(ComponentCore c) {
        List<ComponentCore> busy = new ArrayList<>();
        for (ComponentCore other : registry.registered().values()) {
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
    void changed() {
        queue.changed();
    }

    private long used(ComponentCore c) {
        return lastUsed.getOrDefault(c, 0L);
    }
}
