package dev.offload.plan;

import dev.offload.OffloadException;
import dev.offload.Size;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which device each component goes on, when an offloader has several (issue 20): a pure function of
 * the components' bytes, each device's ledger and the request, the diffusers {@code
 * device_map="balanced"} idea in budget terms. A component placed by hand goes where it was told; with
 * {@code replicate} every other component goes on every device (one host copy, an engine per
 * device); the rest go largest first, each to the device whose room is largest, ties to the first
 * named. The rooms are the ledger's ({@link BudgetLedger.DeviceRoom}: usable for a permanent
 * component, less what this placement booked there); every placed component is booked on each of
 * its devices, and this class does no budget arithmetic itself. On its device a component is then planned as on one device (the strategy per component as
 * today, AUTO's resolver included). Each decision says why, with the figures.
 */
public final class Placement {
    private Placement() {}

    /**
     * What the configuration asks for.
     *
     * @param devices   the device names, in order ("host:0", "host:1", "cuda:0", ...); empty: one device
     * @param manual    components placed by hand: name to the device(s) it goes on (several: replicated there)
     * @param replicate every component not placed by hand goes on every device
     */
    public record Request(List<String> devices, Map<String, List<String>> manual, boolean replicate) {
        public static final Request NONE = new Request(List.of(), Map.of(), false);

        public Request {
            if (devices == null || manual == null) throw OffloadException.invalid("config: the devices or placements are null");
            Set<String> seen = new HashSet<>();
            for (String d : devices) {
                if (d == null || d.isBlank()) throw OffloadException.invalid("config: a device name is empty in " + devices);
                if (!seen.add(d)) throw OffloadException.invalid("config: device '" + d + "' is named twice in " + devices);
            }
            devices = List.copyOf(devices);
            Map<String, List<String>> copy = new LinkedHashMap<>();
            List<String> named = List.copyOf(devices);
            manual.forEach((component, where) -> {
                if (component == null) throw OffloadException.invalid("config: a placement names no component");
                if (where == null || where.isEmpty()) throw OffloadException.invalid("config: component '" + component + "' is placed on no device");
                for (String d : where) {
                    if (d == null || !seen.contains(d)) {
                        throw OffloadException.invalid("config: component '" + component + "' is placed on '" + d
                                + "', which is not one of the devices " + named);
                    }
                }
                copy.put(component, List.copyOf(where));
            });
            manual = java.util.Collections.unmodifiableMap(copy);
            if (devices.isEmpty() && (replicate || !manual.isEmpty())) {
                throw OffloadException.invalid("config: placing or replicating components needs several devices (devices(...))");
            }
        }

        /** Whether several devices were named (else the config's one device). */
        public boolean several() {
            return !devices.isEmpty();
        }
    }

    /** Where one component goes: its devices (the first is its primary: Offloader.component's) and why. */
    public record Decision(List<String> devices, String reason) {
        public Decision {
            devices = List.copyOf(devices);
        }

        public String device() {
            return devices.get(0);
        }
    }

    /**
     * Places {@code components} (name to device bytes if whole: its tensors' bytes), in their order, on
     * the request's devices, whose rooms ({@code rooms}, by device name: {@link BudgetLedger#placing}
     * of each device's ledger now) say what each has; every decision is booked there, on each of its
     * devices (a replicated component on every one), so what comes after sees the room it leaves.
     */
    public static Map<String, Decision> place(Request request, Map<String, Long> components, Map<String, BudgetLedger.DeviceRoom> rooms) {
        Map<String, BudgetLedger.DeviceRoom> room = new LinkedHashMap<>();
        for (String d : request.devices()) {
            BudgetLedger.DeviceRoom r = rooms.get(d);
            if (r == null) throw new IllegalArgumentException("no room for device '" + d + "'");
            room.put(d, r);
        }
        Map<String, Decision> out = new LinkedHashMap<>();
        List<String> auto = new ArrayList<>();
        for (Map.Entry<String, Long> c : components.entrySet()) {
            List<String> manual = request.manual().get(c.getKey());
            if (manual != null) {
                manual.forEach(d -> room.get(d).book(c.getValue()));
                out.put(c.getKey(), new Decision(manual, "placed by hand on " + String.join(", ", manual)));
            } else if (request.replicate()) {
                request.devices().forEach(d -> room.get(d).book(c.getValue()));
                out.put(c.getKey(), new Decision(request.devices(), "replicated on every device (" + String.join(", ", request.devices())
                        + "): one host copy, an engine per device within its own budget"));
            } else {
                auto.add(c.getKey());
            }
        }
        auto.sort(Comparator.comparingLong((String n) -> components.get(n)).reversed());
        for (String name : auto) {
            long bytes = components.get(name);
            String best = null;
            for (Map.Entry<String, BudgetLedger.DeviceRoom> d : room.entrySet()) {
                if (best == null || d.getValue().left() > room.get(best).left()) best = d.getKey();
            }
            long had = room.get(best).left();
            room.get(best).book(bytes);
            StringBuilder why = new StringBuilder("largest first: ").append(Size.format(bytes)).append(" to ").append(best)
                    .append(", the device with the most room left (").append(Size.format(Math.max(0, had))).append(" of its ")
                    .append(Size.format(room.get(best).budget())).append(" budget");
            for (Map.Entry<String, BudgetLedger.DeviceRoom> d : room.entrySet()) {
                if (!d.getKey().equals(best)) why.append("; ").append(d.getKey()).append(" had ").append(Size.format(Math.max(0, d.getValue().left())));
            }
            why.append(bytes <= had ? "): it fits whole there" : "): it fits no device whole and streams there");
            out.put(name, new Decision(List.of(best), why.toString()));
        }
        Map<String, Decision> ordered = new LinkedHashMap<>();
        for (String name : components.keySet()) ordered.put(name, out.get(name));
        return ordered;
    }
}
