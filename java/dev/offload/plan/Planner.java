package dev.offload.plan;

import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.Strategy;
import dev.offload.graph.BlockGraph;
import dev.offload.graph.GroupSpec;
import dev.offload.graph.Grouping;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Planning as a pure function: (component, block graph, setup, budget, room) to a
 * {@link ComponentPlan}. Nothing here reads the device or the registry: the room comes from the
 * {@link BudgetLedger}, the setup from the config or the {@link Resolver}.
 *
 * <p>Registration, overrides, re-plans and previews all plan through here, so a component gets the
 * same plan whichever of them asks.
 */
public final class Planner {
    private Planner() {}

    /**
     * The plan of {@code graph} under {@code setup} in {@code room} device bytes (the room before the
     * activation reserve, which the plan keeps free). A room too small gives one message either way:
     * the planner's, then where the budget went; OUT_OF_DEVICE_MEMORY where the component would fit the
     * budget alone (other components hold the rest), INVALID_ARGUMENT where it would not (the
     * configuration's fault).
     */
    public static ComponentPlan plan(String name, BlockGraph graph, Setup setup, long budgetBytes, long room) {
        List<PackedGroup> packed = new ArrayList<>();
        for (GroupSpec spec : graph.groups(setup.grouping())) packed.add(PackedGroup.of(spec));
        long leaf = setup.grouping() instanceof Grouping.Leaf ? Math.max(1, 2 * largestBlock(graph)) : 0;  // ComponentPlan.make
        try {
            return ComponentPlan.make(name, setup.strategy(), packed, leaf, setup.window(), setup.pinning(), Math.max(0, room));
        } catch (OffloadException e) {
            if (e.status() != Status.INVALID_ARGUMENT || room >= budgetBytes) throw e;
            String message = e.getMessage() + " (a budget of " + budgetBytes + " bytes less " + BudgetLedger.left(budgetBytes, Math.max(0, room))
                    + " bytes in use or set aside for other components and buffers)";
            Status status = Status.OUT_OF_DEVICE_MEMORY;
            try {
                ComponentPlan.make(name, setup.strategy(), packed, leaf, setup.window(), setup.pinning(), budgetBytes);
            } catch (OffloadException alone) {
                status = Status.INVALID_ARGUMENT;  // too small even alone: the configuration's fault
            }
            throw new OffloadException(status, message, e);
        }
    }

    /**
     * A fixed setup's plan in {@code room} less what is set aside for later components; where it
     * does not fit that way, in the whole room (the later ones then fail, naming themselves, and the
     * ones before stay registered, as with components registered one by one).
     */
    public static ComponentPlan planBesideLater(String name, BlockGraph graph, Setup setup, long budget, long room, long setAside) {
        if (setAside > 0) {
            try {
                return plan(name, graph, setup, budget, BudgetLedger.left(room, setAside));
            } catch (OffloadException tooSmall) {
                // fall through: plan in the whole room
            }
        }
        return plan(name, graph, setup, budget, room);
    }

    /**
     * Device bytes set aside, when fresh components are registered together, for the ones after
     * {@code name} with a fixed strategy that hold device memory for good: the least each needs (its
     * plan without budget pins, LAYERWISE with a window of one), so that a component pinning "as
     * many as the budget allows" (BLOCK_PIN) leaves the others room for their rings. Turn-taking
     * components share the turn region and AUTO's ({@code setupOf} gives null) are planned together
     * by the resolver: neither is counted. One registered alone sets nothing aside.
     */
    public static long setAsideForLater(String name, Map<String, BlockGraph> fresh, Function<String, Setup> setupOf, long budget) {
        long sum = 0;
        boolean later = false;
        for (Map.Entry<String, BlockGraph> e : fresh.entrySet()) {
            if (!later) {
                later = e.getKey().equals(name);
                continue;
            }
            Setup s = setupOf.apply(e.getKey());
            if (s == null || s.strategy() == Strategy.MODEL_OFFLOAD) continue;
            sum += leastDeviceBytes(e.getKey(), e.getValue(), s, budget);
        }
        return sum;
    }

    private static long leastDeviceBytes(String name, BlockGraph graph, Setup s, long budget) {
        Setup least = s;
        if (s.pinning().policy() instanceof PinPolicy.Budget) {
            least = new Setup(Strategy.GROUP_OFFLOAD, s.grouping(), s.window(),
                    new ComponentPlan.Pinning(PinPolicy.none(), s.pinning().profile(), s.pinning().reserve()));
        } else if (s.strategy() == Strategy.LAYERWISE) {
            least = new Setup(Strategy.LAYERWISE, s.grouping(), 1, s.pinning());
        }
        try {
            return plan(name, graph, least, budget, budget).deviceBytes();
        } catch (OffloadException tooLarge) {
            return 0;  // does not fit even alone: its own registration says so, naming it
        }
    }

    /** The largest packed group at one block per group: leaf level's ring is capped at two of them. */
    private static long largestBlock(BlockGraph graph) {
        long largest = 0;
        for (GroupSpec spec : graph.groups(Grouping.blocks(1))) largest = Math.max(largest, PackedGroup.alignUp(PackedGroup.of(spec).bytes()));
        return largest;
    }
}
