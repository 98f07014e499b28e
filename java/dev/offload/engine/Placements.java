package dev.offload.engine;

import dev.offload.plan.BudgetLedger;
import dev.offload.plan.Placement;
import dev.offload.runtime.DeviceInfo;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where each component of a DeviceSet is placed, and the registrations in flight (issue 20). Its
 * lock (the lock order's first rung, docs/ARCHITECTURE.md "Locks") is held only to decide a
 * placement (plan.Placement over each device's ledger as it stands), to record it and to forget it;
 * never across a registry call that may wait for a device. A registration {@link #reserve}s its
 * names (placed now, one call more in flight), calls the registries outside this lock, then
 * {@link #settle}s: so two concurrent registrations of one name get the same devices, a concurrent
 * unregistration does not forget a name still being registered, and a name registered nowhere once
 * every call is over is forgotten. The bytes of a name in flight and not registered yet are booked
 * on its devices while others are placed (the devices' figures do not show it yet).
 */
final class Placements {
    private final Settings config;
    private final List<String> names;
    private final List<Registry> registries;
    private final Map<String, Placement.Decision> placed;  // concurrent: read by steps without this lock
    private final Map<String, InFlight> inFlight = new HashMap<>();  // guarded by this

    /** A registration in flight: how many calls, and the bytes of a name not registered yet. */
    private record InFlight(int calls, long bytes) {
        InFlight plus(InFlight o) {
            return new InFlight(calls + o.calls, Math.max(bytes, o.bytes));
        }
    }

    Placements(Settings config, List<String> names, List<Registry> registries, Map<String, Placement.Decision> placed) {
        this.config = config;
        this.names = names;
        this.registries = registries;
        this.placed = placed;
    }

    /** Placement of components not placed yet (each device's ledger now, in-flight ones booked); placed ones keep their devices. */
    synchronized Map<String, Placement.Decision> decide(Map<String, Long> bytes) {
        Map<String, Long> fresh = new LinkedHashMap<>();
        bytes.forEach((name, b) -> {
            if (!placed.containsKey(name)) fresh.put(name, b);
        });
        Map<String, BudgetLedger.DeviceRoom> rooms = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
            DeviceInfo info = registries.get(i).deviceInfo();
            rooms.put(names.get(i), BudgetLedger.of(info.budgetBytes(), info.usedBytes(), config.activationReserve(), List.of()).placing());
        }
        inFlight.forEach((name, f) -> placed.get(name).devices().forEach(d -> rooms.get(d).book(f.bytes())));
        Map<String, Placement.Decision> out = new LinkedHashMap<>(Placement.place(config.placement(), fresh, rooms));
        bytes.keySet().forEach(name -> {
            if (placed.containsKey(name)) out.put(name, placed.get(name));
        });
        return out;
    }

    /** Places the names not placed yet and records each with one registration more in flight; the registry calls come after, outside. */
    synchronized Map<String, Placement.Decision> reserve(Map<String, Long> bytes) {
        Map<String, Placement.Decision> where = decide(bytes);
        where.forEach((name, d) -> {
            placed.putIfAbsent(name, d);
            inFlight.merge(name, new InFlight(1, isRegistered(name) ? 0 : bytes.get(name)), InFlight::plus);
        });
        return where;
    }

    /** The registrations of {@code names} are over; a name registered nowhere is forgotten. */
    synchronized void settle(Collection<String> done) {
        for (String name : done) {
            inFlight.computeIfPresent(name, (n, f) -> f.calls() == 1 ? null : new InFlight(f.calls() - 1, f.bytes()));
            forgetIfGone(name);
        }
    }

    /** Forgets the placement of a name no registration is in flight for and no device holds (its last unregistration). */
    synchronized void forgetIfGone(String name) {
        if (!inFlight.containsKey(name) && !isRegistered(name)) placed.remove(name);
    }

    private boolean isRegistered(String name) {
        Placement.Decision d = placed.get(name);
        return d != null && registries.get(names.indexOf(d.device())).components().stream().anyMatch(c -> c.name().equals(name));
    }
}
