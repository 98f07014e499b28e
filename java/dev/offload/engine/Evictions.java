package dev.offload.engine;

import dev.offload.Strategy;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Device waits kept outside the registry's lock (docs/ARCHITECTURE.md, "Locks"). Closing an engine
 * (an eviction for a turn, an override's or a registration's eviction of idle turn-taking
 * components, a re-plan, a tensor rebuild) waits for the streams it used: its copy stream and the
 * shared compute stream, where another component's step may sit for as long as its kernels run.
 * So such a call decides under the lock which components will lose their engine and marks them
 * here (<em>evicting</em>: no turn starts on one, no other thread picks it as a victim, and the
 * tables still show it as it is: on the device, its bytes held); drains their streams with the lock
 * released; then takes the lock again to evict or close and update the tables, which by then finds
 * nothing to wait for but work queued in the moment between; and unmarks them, waking the steps
 * waiting for a turn. Correctness never rests on the drain: the eviction under the lock is the same
 * call it always was; the drain only takes the long wait out of the lock.
 *
 * <p>The marks are guarded by the registry's lock. A call made while the calling thread holds that
 * lock already (nested) cannot let go of it: it runs as before, under it.
 */
final class Evictions {
    private final Registry registry;
    private final Set<ComponentCore> evicting = new HashSet<>();  // guarded by the registry

    Evictions(Registry registry) {
        this.registry = registry;
    }

    /** Under the registry's lock: whether another call is taking {@code c}'s engine off the device. */
    boolean isEvicting(ComponentCore c) {
        return evicting.contains(c);
    }

    /** Under the registry's lock: marks the ones no other call has marked; returns those (this call's to unmark). */
    List<ComponentCore> mark(Collection<ComponentCore> components) {
        List<ComponentCore> marked = new ArrayList<>(components.size());
        for (ComponentCore c : components) if (c != null && evicting.add(c)) marked.add(c);
        return marked;
    }

    /** Unmarks {@code marked} (taking the registry's lock for the table only) and wakes the steps waiting for a turn. */
    void unmark(List<ComponentCore> marked) {
        if (marked.isEmpty()) return;
        synchronized (registry) {
            evicting.removeAll(marked);
        }
        registry.turnsChanged();
    }

    /** Without the registry's lock: waits for what closing each one's engine would wait for; a component closed meanwhile is skipped. */
    static void drain(List<ComponentCore> components) {
        for (ComponentCore c : components) {
            try {
                c.drain();
            } catch (RuntimeException closedMeanwhile) {
                // its streams are gone (closed, unregistered): the call under the lock decides and reports
            }
        }
    }

    /**
     * The active turn-taking components without an open step: what a call that evicts idle
     * turn-taking components (Turns.evictIdle) will close, when {@code evicts}. Under the lock.
     */
    List<ComponentCore> idleTurns(boolean evicts) {
        List<ComponentCore> out = new ArrayList<>();
        if (!evicts) return out;
        for (ComponentCore c : registry.registered().values()) {
            if (c.setup().strategy() == Strategy.MODEL_OFFLOAD && c.isActive() && !c.hasOpenStep()) out.add(c);
        }
        return out;
    }

    /** The idle turn-taking components a registration of {@code names} evicts (one that holds the device for good among them). */
    List<ComponentCore> registering(Collection<String> names) {
        boolean permanent = false;
        for (String n : names) permanent |= !registry.registered().containsKey(n) && registry.settings().strategyOf(n) != Strategy.MODEL_OFFLOAD;
        return idleTurns(permanent);
    }

    /** What replacing {@code name}'s engine closes: its own, and the idle turn-taking components' where {@code evictsIdle}. */
    List<ComponentCore> replacing(String name, boolean evictsIdle) {
        List<ComponentCore> out = idleTurns(evictsIdle);
        out.add(registry.component(name));
        return out;
    }

    /**
     * Decides under the lock which components {@code underLock} will take off the device
     * ({@code victims}, run under it), marks them, drains them outside it, then runs
     * {@code underLock} under it and unmarks them. Nested in a call that holds the lock: just
     * {@code underLock}.
     */
    <T> T drainThen(Supplier<Collection<ComponentCore>> victims, Supplier<T> underLock) {
        if (Thread.holdsLock(registry)) return underLock.get();
        List<ComponentCore> marked;
        synchronized (registry) {
            marked = mark(victims.get());  // underLock checks the registry is open, with its own message
        }
        try {
            drain(marked);
            synchronized (registry) {
                return underLock.get();
            }
        } finally {
            unmark(marked);
        }
    }
}
