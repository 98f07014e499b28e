package dev.offload.plan;

import dev.offload.OffloadException;
import dev.offload.graph.GroupSpec;
import java.util.Locale;

/**
 * Which groups of a component stay pinned: copied once into the device's permanent region (the
 * engine's resident groups) and never moved, while the others stream through the slot ring.
 *
 * <ul>
 *   <li>{@link #none()}: nothing pinned (GROUP_OFFLOAD's default).</li>
 *   <li>{@link #firstLast()}: the first and the last group in execution order (usually the head and
 *       the tail): exactly two groups, one when the component has one.</li>
 *   <li>{@link #all()}: every group; nothing streams.</li>
 *   <li>{@link #count(int)}: n groups, the n {@link ComponentPlan} ranks first (the ones that save
 *       the most copying per step: the largest, or with a {@link ComputeProfile} the ones whose copy
 *       most exceeds their compute).</li>
 *   <li>{@link #matching(Selector)}: exactly the groups a predicate selects.</li>
 *   <li>{@link #budget()}: as many groups as fit beside the ring and the activation reserve, in the
 *       same rank order (BLOCK_PIN's policy).</li>
 * </ul>
 * The first five are requirements: a plan that cannot hold them beside one ring slot is an error
 * naming the component. {@code budget()} adapts to the budget. A count above the group count and a
 * predicate that throws are errors at plan time, naming the component (and the group it threw on);
 * a negative count and an unknown name are errors when the policy is made.
 */
public sealed interface PinPolicy {
    /** Decides, for one group, whether it is pinned: its name, its index in execution order, the group. */
    @FunctionalInterface
    interface Selector {
        boolean pins(String name, int index, GroupSpec group);
    }

    record None() implements PinPolicy {
        @Override public String toString() { return "none"; }
    }

    record FirstLast() implements PinPolicy {
        @Override public String toString() { return "first_last"; }
    }

    record All() implements PinPolicy {
        @Override public String toString() { return "all"; }
    }

    record Count(int n) implements PinPolicy {
        public Count {
            if (n < 0) throw OffloadException.invalid("pin policy count: the number of groups must be >= 0, got " + n);
        }

        @Override public String toString() { return "count:" + n; }
    }

    record Matching(Selector selector) implements PinPolicy {
        public Matching {
            if (selector == null) throw OffloadException.invalid("pin policy matching: the predicate is null");
        }

        @Override public String toString() { return "matching"; }
    }

    record Budget() implements PinPolicy {
        @Override public String toString() { return "budget"; }
    }

    static PinPolicy none() { return new None(); }

    static PinPolicy firstLast() { return new FirstLast(); }

    static PinPolicy all() { return new All(); }

    static PinPolicy count(int n) { return new Count(n); }

    static PinPolicy matching(Selector selector) { return new Matching(selector); }

    static PinPolicy budget() { return new Budget(); }

    /** Parses "none", "first_last" (or "first-last"), "all", "count:N", "budget"; case does not matter. */
    static PinPolicy parse(String text) {
        if (text == null) throw OffloadException.invalid("pin policy is null");
        String key = text.trim().toLowerCase(Locale.ROOT);
        if (key.startsWith("count:")) {
            String n = key.substring("count:".length()).trim();
            try {
                return count(Integer.parseInt(n));
            } catch (NumberFormatException e) {
                throw OffloadException.invalid("pin policy '" + text + "': count needs a whole number of groups, got '" + n + "'");
            }
        }
        return switch (key.replace('-', '_')) {
            case "none" -> none();
            case "first_last" -> firstLast();
            case "all" -> all();
            case "budget" -> budget();
            default -> throw OffloadException.invalid("unknown pin policy '" + text
                    + "': expected one of none, first_last, all, count:N, budget");
        };
    }
}
