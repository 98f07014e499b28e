package dev.offload.plan;

import dev.offload.OffloadException;
import dev.offload.Size;
import dev.offload.Status;
import dev.offload.Strategy;
import dev.offload.graph.BlockGraph;
import dev.offload.graph.GroupSpec;
import dev.offload.graph.Grouping;
import dev.offload.graph.TensorRef;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AUTO: chooses a {@link Setup} per component from measured facts, and says why.
 *
 * <p>Without a compute profile it applies the size rules people use today (diffusers-mm's), with
 * {@link #HEADROOM} = 1.5 for activations and fragmentation:
 * <ol>
 *   <li>all weights x 1.5 fit the usable budget: NO_OFFLOAD for every component;</li>
 *   <li>else, with several components, the largest x 1.5 fits: MODEL_OFFLOAD for every one (they
 *       take turns);</li>
 *   <li>else per component: one whose size x 1.5 fits beside the others' smallest rings takes turns
 *       (MODEL_OFFLOAD; the largest such first, so the shared region stays small); the rest stream:
 *       BLOCK_PIN when the component repeats at least {@link #BLOCK_PIN_MIN_BLOCKS} blocks (the
 *       pins pay back over many identical blocks), GROUP_OFFLOAD otherwise.</li>
 * </ol>
 * With a compute profile for a streamed component (per group of one block per group, execution
 * order: head, blocks, tail) it enumerates the candidate setups that fit (GROUP_OFFLOAD and
 * BLOCK_PIN at 1 to 4 blocks per group, LAYERWISE with windows 2 to 4 with and without budget
 * pins) and takes the least predicted step time ({@link StepPredictor}); within 2 % the one with
 * the deeper prefetch (more slack for jitter the prediction does not model), then fewer device
 * bytes. Leaf level is never chosen: its many small copies cost latency the block
 * level does not.
 *
 * <p>Budget shares: the usable budget (budget less the activation reserve) holds one region for the
 * turn-taking components (the largest of them) and every streamed component's plan. Streamed
 * components are planned largest first; each sees what is left after the ones before it and the
 * smallest rings of the ones after it, so BLOCK_PIN's pins go to the largest component.
 *
 * <p>Host memory: when its facts give the available host memory (the Offloader gives it when the
 * config names a host source), a pinned copy of every component (plus {@code HostMemory}'s margin)
 * must fit in it, or the resolver refuses with both numbers. With no source named the Offloader
 * gives it as unknown: a component whose pinned copy would not fit streams from its files instead
 * ({@code Offloader.sourceFor}, the disk source), so the plan does not depend on host memory.
 */
public final class Resolver {
    /** Weights times this must fit for a strategy that keeps them resident (activations, fragmentation). */
    public static final double HEADROOM = 1.5;
    /** Components repeating at least this many blocks get BLOCK_PIN rather than GROUP_OFFLOAD. */
    public static final int BLOCK_PIN_MIN_BLOCKS = 8;
    /** Candidates within this fraction of the best prediction count as equal (fewer device bytes wins). */
    static final double TIE = 0.02;

    /**
     * What the resolver measures or is told.
     *
     * @param deviceBytes       device bytes the components may hold (the budget less memory in use)
     * @param hostAvailable     host bytes available for pinned copies (MemAvailable less the margin); empty where unknown or
     *                          not the limit (a source that holds no copy)
     * @param h2dGbps           host-to-device bandwidth, GB/s
     * @param copyLatencyMs     fixed cost of one copy, milliseconds
     * @param activationReserve device bytes kept free for activations
     */
    public record Facts(long deviceBytes, java.util.OptionalLong hostAvailable, double h2dGbps, double copyLatencyMs, long activationReserve) {
        public Facts {
            if (deviceBytes < 0 || activationReserve < 0) throw OffloadException.invalid("resolver facts: negative bytes");
            if (hostAvailable == null || hostAvailable.orElse(0) < 0) throw OffloadException.invalid("resolver facts: host memory must be empty or >= 0");
            if (!(h2dGbps > 0) || !(copyLatencyMs >= 0)) {
                throw OffloadException.invalid("resolver facts: bandwidth must be > 0 GB/s and latency >= 0, got " + h2dGbps + ", " + copyLatencyMs);
            }
        }

        /** The device bytes less the reserve (BudgetLedger.usable: the ledger's rule). */
        public long usable() {
            return BudgetLedger.usable(deviceBytes, activationReserve);
        }
    }

    /** One component to resolve; {@code unitProfile} may be null (per group at one block per group). */
    public record Input(String name, BlockGraph graph, ComputeProfile unitProfile) {}

    /** The resolver's answer for a component. */
    public record Choice(String component, Setup setup, ComponentPlan plan, double predictedStepMs, boolean profiled, List<String> reasons) {}

    private Resolver() {}

    public static List<Choice> resolve(List<Input> inputs, Facts facts) {
        if (inputs.isEmpty()) return List.of();
        Map<String, Long> sizes = new LinkedHashMap<>();
        long total = 0, largest = 0;
        for (Input in : inputs) {
            int units = in.graph().groups(Grouping.blocks(1)).size();
            if (in.unitProfile() != null && in.unitProfile().groups() != units) {
                throw OffloadException.invalid("component '" + in.name() + "': the compute profile has " + in.unitProfile().groups()
                        + " per-group times, but AUTO needs one per group at one block per group (head, blocks, tail): " + units);
            }
            long bytes = packedBytes(in.graph(), Grouping.blocks(1));
            sizes.put(in.name(), bytes);
            total += bytes;
            largest = Math.max(largest, bytes);
        }
        if (facts.hostAvailable().isPresent() && total > facts.hostAvailable().getAsLong()) {
            throw new OffloadException(Status.OUT_OF_HOST_MEMORY, "auto: a host copy of the weights needs " + total + " bytes ("
                    + Size.format(total) + ") but " + facts.hostAvailable().getAsLong() + " (" + Size.format(facts.hostAvailable().getAsLong())
                    + ") are available; free host memory or stream from disk");
        }
        long usable = facts.usable();
        List<Choice> out = new ArrayList<>();
        String budget = Size.format(usable) + " usable (" + Size.format(facts.deviceBytes()) + " less a reserve of "
                + Size.format(facts.activationReserve()) + ")";
        if (total * HEADROOM <= usable) {
            String why = "auto: all weights (" + Size.format(total) + ") x " + HEADROOM + " fit " + budget + ": no offload";
            for (Input in : inputs) out.add(fixed(in, Strategy.NO_OFFLOAD, usable, facts, why));
            return out;
        }
        if (inputs.size() > 1 && largest * HEADROOM <= usable) {
            String why = "auto: the largest component (" + Size.format(largest) + ") x " + HEADROOM + " fits " + budget
                    + " but all " + inputs.size() + " (" + Size.format(total) + ") do not: components take turns";
            for (Input in : inputs) out.add(fixed(in, Strategy.MODEL_OFFLOAD, usable, facts, why));
            return out;
        }
        // Rule 3: turn-taking where it fits beside the streamed ones' smallest rings, streaming otherwise.
        Map<String, Long> minRing = new HashMap<>();
        for (Input in : inputs) minRing.put(in.name(), minRing(in.graph()));
        List<Input> bySize = new ArrayList<>(inputs);
        bySize.sort(Comparator.comparingLong((Input in) -> sizes.get(in.name())).reversed());
        List<Input> turns = new ArrayList<>();
        for (Input in : bySize) {
            long size = sizes.get(in.name());
            if (size * HEADROOM > usable) continue;
            long rings = 0;
            for (Input other : inputs) if (other != in && !turns.contains(other)) rings += minRing.get(other.name());
            long region = turns.isEmpty() ? size : Math.max(size, sizes.get(turns.get(0).name()));
            if (region * HEADROOM + rings <= usable) turns.add(in);
        }
        long region = turns.isEmpty() ? 0 : sizes.get(turns.get(0).name());
        Map<String, Choice> chosen = new HashMap<>();
        for (Input in : turns) {
            chosen.put(in.name(), fixed(in, Strategy.MODEL_OFFLOAD, usable, facts, "auto: " + Size.format(sizes.get(in.name())) + " x "
                    + HEADROOM + " fits " + budget + " beside the streamed components' rings: takes turns (shared region "
                    + Size.format(region) + ")"));
        }
        long left = BudgetLedger.left(usable, region);
        List<Input> streamed = bySize.stream().filter(in -> !turns.contains(in)).toList();
        long laterRings = streamed.stream().mapToLong(in -> minRing.get(in.name())).sum();
        for (Input in : streamed) {
            laterRings -= minRing.get(in.name());
            long available = BudgetLedger.left(left, laterRings);
            Choice c = streamedChoice(in, available, facts, sizes.get(in.name()), 4);
            chosen.put(in.name(), c);
            left = BudgetLedger.left(left, c.plan().deviceBytes());
        }
        for (Input in : inputs) out.add(chosen.get(in.name()));
        return out;
    }

    /**
     * A streamed component's re-plan once its compute is known (profiled on a step): the
     * candidates at one block per group only, since its host copy is packed that way and a re-plan
     * does not repack it. {@code available}: the device bytes it may use (its own plan's included).
     */
    public static Choice replan(Input in, long available, Facts facts) {
        if (in.unitProfile() == null) throw OffloadException.invalid("a re-plan needs a compute profile");
        return streamedChoice(in, available, facts, packedBytes(in.graph(), Grouping.blocks(1)), 1);
    }

    private static Choice streamedChoice(Input in, long available, Facts facts, long size, int maxPerGroup) {
        int repeated = in.graph().blockLists().stream().mapToInt(l -> l.blocks().size()).max().orElse(0);
        String head = "auto: " + in.name() + " (" + Size.format(size) + ") x " + HEADROOM + " does not fit the "
                + Size.format(Math.max(0, available)) + " left for it: streamed";
        if (in.unitProfile() == null) {
            Strategy s = repeated >= BLOCK_PIN_MIN_BLOCKS ? Strategy.BLOCK_PIN : Strategy.GROUP_OFFLOAD;
            String why = head + "; " + repeated + " repeated blocks " + (s == Strategy.BLOCK_PIN ? ">= " : "< ") + BLOCK_PIN_MIN_BLOCKS
                    + ": " + s + " (size rule; no compute profile, so the predicted step counts copies only)";
            return fixed(in, s, available, facts, why);
        }
        List<Setup> candidates = new ArrayList<>();
        for (int n = 1; n <= maxPerGroup; n++) {
            candidates.add(setup(Strategy.GROUP_OFFLOAD, n, 2, PinPolicy.none()));
            candidates.add(setup(Strategy.BLOCK_PIN, n, 2, PinPolicy.budget()));
        }
        for (int w = 2; w <= 4; w++) {
            candidates.add(setup(Strategy.LAYERWISE, 1, w, PinPolicy.none()));
            candidates.add(setup(Strategy.LAYERWISE, 1, w, PinPolicy.budget()));
        }
        Choice best = null;
        List<String> tried = new ArrayList<>();
        for (Setup setup : candidates) {
            Choice c;
            try {
                c = plan(in, setup, available, facts, List.of());
            } catch (OffloadException e) {
                if (e.status() != Status.INVALID_ARGUMENT) throw e;
                tried.add(setup.label() + pinLabel(setup) + ": does not fit");
                continue;
            }
            tried.add(setup.label() + pinLabel(setup) + String.format(java.util.Locale.ROOT, ": %.3f ms, %s", c.predictedStepMs(),
                    Size.format(c.plan().deviceBytes())));
            if (best == null || better(c, best)) best = c;
        }
        if (best == null) {
            throw OffloadException.invalid("auto: component '" + in.name() + "': no streaming arrangement fits in " + available
                    + " bytes (" + String.join("; ", tried) + ")");
        }
        List<String> why = new ArrayList<>();
        why.add(head + String.format(java.util.Locale.ROOT, "; with its compute profile the least predicted step is %s%s: %.3f ms",
                best.setup().label(), pinLabel(best.setup()), best.predictedStepMs()));
        why.add("candidates: " + String.join("; ", tried));
        return new Choice(in.name(), best.setup(), best.plan(), best.predictedStepMs(), true, why);
    }

    /**
     * Less predicted time wins; within {@link #TIE} of each other, the deeper prefetch (it absorbs
     * jitter in copy and compute times the prediction does not see), then fewer device bytes.
     */
    static boolean better(Choice c, Choice best) {
        double a = c.predictedStepMs(), b = best.predictedStepMs();
        if (a < b * (1 - TIE)) return true;
        if (a > b * (1 + TIE)) return false;
        if (c.plan().prefetchDepth() != best.plan().prefetchDepth()) return c.plan().prefetchDepth() > best.plan().prefetchDepth();
        return c.plan().deviceBytes() < best.plan().deviceBytes();
    }

    private static String pinLabel(Setup s) {
        return s.pinning().policy() instanceof PinPolicy.Budget && s.strategy() != Strategy.BLOCK_PIN ? " + budget pins" : "";
    }

    private static Setup setup(Strategy s, int perGroup, int window, PinPolicy pin) {
        return new Setup(s, Grouping.blocks(perGroup), window, new ComponentPlan.Pinning(pin, null, 0));
    }

    private static Choice fixed(Input in, Strategy s, long available, Facts facts, String why) {
        Setup setup = setup(s, 1, 2, ComponentPlan.Pinning.defaults(s).policy());
        return plan(in, setup, available, facts, List.of(why));
    }

    /** Plans a setup for a component and predicts its step (compute from the unit profile, or none). */
    static Choice plan(Input in, Setup setup, long available, Facts facts, List<String> why) {
        List<GroupSpec> specs = in.graph().groups(setup.grouping());
        List<PackedGroup> packed = specs.stream().map(PackedGroup::of).toList();
        double[] compute = in.unitProfile() == null ? new double[packed.size()] : aggregate(in.graph(), in.unitProfile().computeMs(), specs);
        ComputeProfile profile = in.unitProfile() == null ? null : new ComputeProfile(compute, facts.h2dGbps());
        ComponentPlan.Pinning pinning = new ComponentPlan.Pinning(setup.pinning().policy(), profile, 0);
        Setup real = new Setup(setup.strategy(), setup.grouping(), setup.window(), pinning);
        ComponentPlan plan = ComponentPlan.make(in.name(), setup.strategy(), packed, false, setup.window(), pinning, available);
        double predicted = predict(plan, compute, facts);
        return new Choice(in.name(), real, plan, predicted, in.unitProfile() != null, why);
    }

    /** The plan's predicted steady step, from per-group compute times (zeros: copies only). */
    public static double predict(ComponentPlan plan, double[] computeMs, Facts facts) {
        long[] bytes = plan.groups().stream().mapToLong(PackedGroup::bytes).toArray();
        return StepPredictor.stepMs(bytes, plan.resident(), computeMs, Math.max(1, plan.slots()), facts.h2dGbps(), facts.copyLatencyMs());
    }

    /** Per-group compute of a grouping ({@code specs}), summed from the times per group at one block per group. */
    public static double[] aggregate(BlockGraph graph, double[] unitMs, List<GroupSpec> specs) {
        List<GroupSpec> units = graph.groups(Grouping.blocks(1));
        if (unitMs.length != units.size()) {
            throw OffloadException.invalid("compute profile: " + unitMs.length + " per-group times, but the component has " + units.size()
                    + " groups at one block per group (head, blocks, tail)");
        }
        Map<String, Integer> unitOf = new HashMap<>();
        for (int u = 0; u < units.size(); u++) for (TensorRef t : units.get(u).tensors()) unitOf.put(t.name(), u);
        double[] out = new double[specs.size()];
        for (int g = 0; g < specs.size(); g++) {
            java.util.BitSet seen = new java.util.BitSet();
            for (TensorRef t : specs.get(g).tensors()) {
                int u = unitOf.getOrDefault(t.name(), -1);
                if (u >= 0 && !seen.get(u)) {
                    seen.set(u);
                    out[g] += unitMs[u];
                }
            }
        }
        return out;
    }

    static long packedBytes(BlockGraph graph, Grouping grouping) {
        long sum = 0;
        for (GroupSpec spec : graph.groups(grouping)) sum += PackedGroup.alignUp(PackedGroup.of(spec).bytes());
        return sum;
    }

    /** The smallest ring a streamed arrangement needs: two slots of its largest one-block group. */
    static long minRing(BlockGraph graph) {
        long max = 0;
        for (GroupSpec spec : graph.groups(Grouping.blocks(1))) max = Math.max(max, PackedGroup.alignUp(PackedGroup.of(spec).bytes()));
        return 2 * Math.max(max, PackedGroup.ALIGN);
    }
}
