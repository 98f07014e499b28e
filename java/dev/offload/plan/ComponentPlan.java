package dev.offload.plan;

import dev.offload.OffloadException;
import dev.offload.Size;
import dev.offload.Status;
import dev.offload.Strategy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Where each group of a component lives and how many ring slots stream the rest, decided from the
 * strategy, the pin policy, the packed group sizes and the device bytes left in the budget less the
 * activation reserve. Pinned (resident) groups are copied once into the permanent region and never
 * move; the others stream through a ring of slots, each as large as the largest <em>streamed</em>
 * group. Rules:
 * <ul>
 *   <li>NO_OFFLOAD: every group resident; the budget must hold them all. Pin policies other than
 *       none and all are refused (there is nothing left to choose).</li>
 *   <li>GROUP_OFFLOAD: the pin policy's groups resident (none by default), the rest streamed through
 *       2 slots (the next group prefetched while one computes, as diffusers does); 1 slot (no
 *       overlap) when only one fits. At leaf level, where a group is one tensor and many are tiny,
 *       up to 8 slots (7 groups in flight) when they fit (Planner caps the ring at two slots of the
 *       largest block, so leaf level never takes more than block level), so a run of small copies does not leave
 *       compute waiting on each one's latency.</li>
 *   <li>BLOCK_PIN: GROUP_OFFLOAD with the {@code budget} policy: the ring keeps its slots (2, or 8
 *       at leaf level) and as many groups as then fit are pinned.</li>
 *   <li>LAYERWISE: head and tail resident and a window of {@code window} slots for the blocks,
 *       prefetching window - 1 ahead; the window shrinks to what fits; head and tail are streamed
 *       too when even one slot does not fit beside them. A pin policy <em>adds</em> to head and
 *       tail: its groups are pinned as well (so first_last equals LAYERWISE's default when the
 *       first and last groups are the head and the tail), and {@code budget} fills what the window
 *       leaves.</li>
 * </ul>
 * Which groups {@code count(n)} and {@code budget} pin: a rank order that minimises predicted copy
 * per step. Without a {@link ComputeProfile}, largest first (each pinned byte is a byte not copied
 * every step), ties by execution order. With one, the groups whose predicted copy most exceeds their
 * compute first (their copies are what the compute stream waits for), ties as before. {@code budget}
 * pins the longest prefix of that order that fits beside the ring (every prefix is checked: pinning
 * the largest streamed group shrinks every slot, so a longer prefix can fit where a shorter one does
 * not), then each later group that still fits (a smaller one may where a larger did not).
 * <p>
 * A budget that cannot hold one slot of the largest streamed group is a configuration error
 * (INVALID_ARGUMENT) that gives both numbers; so is a required pin (every policy but budget) that
 * does not fit beside one slot, a count above the group count, and a predicate that throws.
 */
public record ComponentPlan(String component, Strategy strategy, List<PackedGroup> groups, boolean[] resident, int slots,
                            int prefetchDepth, long slotBytes, long residentBytes, List<String> reasons) {

    /**
     * How groups are pinned: the policy, an optional compute profile (null: rank by size), and the
     * device bytes the plan leaves free for activations allocated after registration.
     */
    public record Pinning(PinPolicy policy, ComputeProfile profile, long reserve) {
        public Pinning {
            if (policy == null) throw OffloadException.invalid("pin policy is null");
            if (reserve < 0) throw OffloadException.invalid("activation reserve must be >= 0 bytes, got " + reserve);
        }

        /** The strategy's own pinning: budget for BLOCK_PIN, none otherwise; no profile, no reserve. */
        public static Pinning defaults(Strategy strategy) {
            return new Pinning(strategy == Strategy.BLOCK_PIN ? PinPolicy.budget() : PinPolicy.none(), null, 0);
        }

        /**
         * The policy a strategy plans with when the config names {@code configured}: everything
         * resident for NO_OFFLOAD and MODEL_OFFLOAD (nothing left to choose), the budget for BLOCK_PIN,
         * the configured one for the streaming strategies.
         */
        public static PinPolicy policyFor(Strategy strategy, PinPolicy configured) {
            if (strategy == Strategy.NO_OFFLOAD || strategy == Strategy.MODEL_OFFLOAD) return PinPolicy.none();
            if (strategy == Strategy.BLOCK_PIN) return PinPolicy.budget();
            return configured;
        }
    }

    public long deviceBytes() {
        return residentBytes + ringBytes();
    }

    /** The ring's device bytes: its slots times the slot size. */
    public long ringBytes() {
        return slotBytes * slots;
    }

    /** The names of the pinned groups, in execution order. */
    public List<String> pinnedGroups() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < groups.size(); i++) if (resident[i]) out.add(groups.get(i).spec().name());
        return out;
    }

    /** Bytes copied to the device per step: the streamed groups' packed bytes. */
    public long streamedBytesPerStep() {
        long sum = 0;
        for (int i = 0; i < groups.size(); i++) if (!resident[i]) sum += groups.get(i).bytes();
        return sum;
    }

    /** With the strategy's own pinning ({@link Pinning#defaults}). */
    public static ComponentPlan make(String component, Strategy strategy, List<PackedGroup> groups, boolean leaf, int window,
                                     long available) {
        return make(component, strategy, groups, leaf, window, Pinning.defaults(strategy), available);
    }

    /** As below, leaf level with no cap on its ring ({@code leaf}) or block level. */
    public static ComponentPlan make(String component, Strategy strategy, List<PackedGroup> groups, boolean leaf, int window,
                                     Pinning pinning, long available) {
        return make(component, strategy, groups, leaf ? Long.MAX_VALUE : 0, window, pinning, available);
    }

    /**
     * @param leafRingCap 0: block level; otherwise groups are single tensors (GROUP_OFFLOAD and
     *                  BLOCK_PIN at leaf level) and the ring of up to 8 slots takes at most these
     *                  bytes (at least one slot) unless the policy is budget (which fills the budget
     *                  on purpose): Component caps it at two slots of the largest block, so leaf
     *                  level never takes more than block level
     * @param window    LAYERWISE's window
     * @param pinning   the pin policy, compute profile and activation reserve
     * @param available device bytes left in the budget
     */
    public static ComponentPlan make(String component, Strategy strategy, List<PackedGroup> groups, long leafRingCap, int window,
                                     Pinning pinning, long available) {
        boolean leaf = leafRingCap > 0;
        List<String> reasons = new ArrayList<>();
        boolean[] resident = new boolean[groups.size()];
        PinPolicy policy = strategy == Strategy.BLOCK_PIN && pinning.policy() instanceof PinPolicy.None ? PinPolicy.budget() : pinning.policy();
        if (pinning.profile() != null && pinning.profile().groups() != groups.size()) {
            throw OffloadException.invalid("component '" + component + "': the compute profile has " + pinning.profile().groups()
                    + " per-group times but the component has " + groups.size() + " groups");
        }
        long room = available;
        if (pinning.reserve() > 0) {
            room = BudgetLedger.keepReserve(component, available, pinning.reserve());  // the ledger's rule, its message
            reasons.add("activation reserve " + Size.format(pinning.reserve()) + " kept free");
        }
        // exhaustive, no default: a new Strategy is a compile error here until it is planned
        return switch (strategy) {
            case NO_OFFLOAD, MODEL_OFFLOAD -> {
                if (!(policy instanceof PinPolicy.None || policy instanceof PinPolicy.All)) {
                    throw OffloadException.invalid("component '" + component + "': " + strategy + " keeps every group resident; pin policy "
                            + policy + " does not apply");
                }
                Arrays.fill(resident, true);
                long need = residentBytes(groups, resident);
                if (need > room) {
                    throw new OffloadException(Status.INVALID_ARGUMENT, "component '" + component + "': " + strategy + " needs "
                            + need + " device bytes (" + Size.format(need) + ") but the budget leaves " + room + " ("
                            + Size.format(room) + ")");
                }
                reasons.add(strategy == Strategy.NO_OFFLOAD ? "NO_OFFLOAD: all " + groups.size() + " groups resident (" + Size.format(need) + ")"
                        : "MODEL_OFFLOAD: all " + groups.size() + " groups resident while the component is active (" + Size.format(need)
                        + "), in pinned host memory while another is");
                yield new ComponentPlan(component, strategy, groups, resident, 0, 0, 0, need, reasons);
            }
            case GROUP_OFFLOAD, BLOCK_PIN -> {
                int wanted = leaf ? 8 : 2;
                pin(component, strategy, groups, resident, policy, pinning.profile(), wanted, room, reasons);
                long slot = slotBytes(groups, resident);
                if (leaf && !(policy instanceof PinPolicy.Budget) && slot > 0 && wanted * slot > leafRingCap) {
                    int capped = (int) Math.max(1, leafRingCap / slot);
                    if (capped < wanted) {
                        reasons.add("leaf level: at most " + capped + " slot(s), a ring no larger than " + Size.format(Math.max(leafRingCap, slot))
                                + " (two slots of the largest block)");
                        wanted = capped;
                    }
                }
                yield streamed(component, strategy, groups, resident, wanted, room, reasons);
            }
            case LAYERWISE -> {
                boolean[] required = required(component, groups, policy, pinning.profile());
                checkRequired(component, groups, required, policy, room);
                boolean[] headTail = new boolean[groups.size()];
                headTail[0] = groups.get(0).spec().role() == dev.offload.graph.GroupSpec.Role.HEAD;
                int last = groups.size() - 1;
                headTail[last] = groups.get(last).spec().role() == dev.offload.graph.GroupSpec.Role.TAIL;
                long headTailBytes = residentBytes(groups, headTail);
                boolean[] union = or(required, headTail);
                long pinned = residentBytes(groups, union);
                long slot = slotBytes(groups, union);
                boolean nothingRequired = residentBytes(groups, required) == 0;
                if (headTailBytes > 0 && ((slot == 0 && nothingRequired) || pinned + slot > room)) {
                    reasons.add("LAYERWISE: head and tail (" + Size.format(headTailBytes) + ") do not fit beside one block slot; streaming them too");
                    union = required;
                } else if (headTailBytes > 0) {
                    reasons.add("LAYERWISE: head and tail resident (" + Size.format(headTailBytes) + ")");
                }
                System.arraycopy(union, 0, resident, 0, resident.length);
                pinPolicy(component, strategy, groups, resident, required, policy, pinning.profile(), window, room, reasons);
                yield streamed(component, strategy, groups, resident, window, room, reasons);
            }
            case SEQUENTIAL -> {
                pin(component, strategy, groups, resident, policy, pinning.profile(), 1, room, reasons);
                reasons.add("SEQUENTIAL: one group at a time through one slot, no prefetch: each copy waits for the compute before it");
                yield streamed(component, strategy, groups, resident, 1, room, reasons);
            }
            case AUTO -> throw OffloadException.invalid("component '" + component + "': AUTO is resolved into a concrete strategy before planning (Resolver)");
        };
    }

    /** GROUP_OFFLOAD and BLOCK_PIN: the policy's groups, then (budget) what fits beside the ring. */
    private static void pin(String component, Strategy strategy, List<PackedGroup> groups, boolean[] resident, PinPolicy policy,
                            ComputeProfile profile, int wanted, long room, List<String> reasons) {
        boolean[] required = required(component, groups, policy, profile);
        checkRequired(component, groups, required, policy, room);
        System.arraycopy(required, 0, resident, 0, resident.length);
        pinPolicy(component, strategy, groups, resident, required, policy, profile, wanted, room, reasons);
    }

    private static void pinPolicy(String component, Strategy strategy, List<PackedGroup> groups, boolean[] resident, boolean[] required,
                                  PinPolicy policy, ComputeProfile profile, int wanted, long room, List<String> reasons) {
        String order = profile == null ? "largest first" : "largest copy-over-compute excess first (copies at " + profile.h2dGbps() + " GB/s)";
        switch (policy) {
            case PinPolicy.None n -> { }
            case PinPolicy.Budget b -> {
                int before = count(resident);
                fill(groups, resident, rank(groups, profile), wanted, room);
                int added = count(resident) - before;
                if (added == 0) {
                    reasons.add("pin budget (" + strategy + "): nothing more pinned; no group fits beside a ring of " + wanted
                            + " slot(s) (" + Size.format(ringBytes(groups, resident, wanted)) + ") in " + Size.format(room));
                    return;
                }
                reasons.add("pin budget (" + strategy + "): " + added + " more group(s) pinned, " + order + ", as many as fit beside "
                        + "a ring of " + Size.format(ringBytes(groups, resident, wanted)) + " in " + Size.format(room));
            }
            default -> reasons.add("pin " + policy + ": " + count(required) + " group(s) pinned"
                    + (policy instanceof PinPolicy.Count ? ", " + order : ""));
        }
    }

    /**
     * The budget policy: pins, in rank order, what fits beside the ring. The plan's bytes are not
     * monotone in what is pinned (pinning the largest streamed group shrinks every slot, and the
     * ring loses slots when fewer groups than its slots stream), so first the longest prefix of the
     * order that fits is pinned (checking every prefix, whatever the ones between cost), then each
     * later group that still fits, in order.
     */
    private static void fill(List<PackedGroup> groups, boolean[] resident, int[] ranked, int wanted, long room) {
        int[] order = java.util.Arrays.stream(ranked).filter(g -> !resident[g]).toArray();
        long base = residentBytes(groups, resident);
        long[] suffixMax = new long[order.length + 1];
        for (int i = order.length - 1; i >= 0; i--) suffixMax[i] = Math.max(suffixMax[i + 1], slotSize(groups.get(order[i])));
        int best = 0;
        long pinned = base;
        for (int k = 0; k <= order.length; k++) {
            if (k > 0) pinned += PackedGroup.alignUp(groups.get(order[k - 1]).bytes());
            if (pinned + suffixMax[k] * Math.min(wanted, order.length - k) <= room) best = k;
        }
        for (int k = 0; k < best; k++) resident[order[k]] = true;
        for (int k = best + 1; k < order.length; k++) {
            resident[order[k]] = true;
            if (residentBytes(groups, resident) + ringBytes(groups, resident, wanted) > room) resident[order[k]] = false;
        }
    }

    private static long slotSize(PackedGroup g) {
        return Math.max(PackedGroup.alignUp(g.bytes()), PackedGroup.ALIGN);
    }

    /** The groups a policy requires (none for budget, which adapts). */
    private static boolean[] required(String component, List<PackedGroup> groups, PinPolicy policy, ComputeProfile profile) {
        int n = groups.size();
        boolean[] out = new boolean[n];
        switch (policy) {
            case PinPolicy.None x -> { }
            case PinPolicy.Budget x -> { }
            case PinPolicy.All x -> Arrays.fill(out, true);
            case PinPolicy.FirstLast x -> {
                out[0] = true;
                out[n - 1] = true;
            }
            case PinPolicy.Count c -> {
                if (c.n() > n) {
                    throw OffloadException.invalid("component '" + component + "': pin policy " + c + " asks for " + c.n()
                            + " groups but the component has " + n);
                }
                int[] ranked = rank(groups, profile);
                for (int i = 0; i < c.n(); i++) out[ranked[i]] = true;
            }
            case PinPolicy.Matching m -> {
                for (int g = 0; g < n; g++) {
                    var spec = groups.get(g).spec();
                    try {
                        out[g] = m.selector().pins(spec.name(), g, spec);
                    } catch (RuntimeException | Error e) {
                        throw new OffloadException(Status.INVALID_ARGUMENT, "component '" + component + "': the pin predicate threw on group '"
                                + spec.name() + "' (index " + g + "): " + e, e);
                    }
                }
            }
        }
        return out;
    }

    private static void checkRequired(String component, List<PackedGroup> groups, boolean[] required, PinPolicy policy, long room) {
        long pinned = residentBytes(groups, required);
        long slot = slotBytes(groups, required);
        if (pinned > 0 && pinned + slot > room) {
            throw OffloadException.invalid("component '" + component + "': pin policy " + policy + " pins " + count(required)
                    + " group(s) of " + pinned + " bytes (" + Size.format(pinned) + ")" + (slot > 0 ? "; with one slot of " + slot
                    + " bytes for the streamed groups that needs " + (pinned + slot) : "") + ", but the budget leaves " + room + " bytes");
        }
    }

    /** Group indices in pinning order: by copy excess (with a profile) or size, then size, then execution order. */
    static int[] rank(List<PackedGroup> groups, ComputeProfile profile) {
        Comparator<Integer> bySize = Comparator.comparingLong((Integer g) -> groups.get(g).bytes()).reversed();
        Comparator<Integer> order = profile == null ? bySize
                : Comparator.comparingDouble((Integer g) -> -profile.excessMs(g, groups.get(g).bytes())).thenComparing(bySize);
        return java.util.stream.IntStream.range(0, groups.size()).boxed()
                .sorted(order.thenComparingInt(g -> g)).mapToInt(Integer::intValue).toArray();
    }

    private static ComponentPlan streamed(String component, Strategy strategy, List<PackedGroup> groups, boolean[] resident,
                                          int wantedSlots, long available, List<String> reasons) {
        long pinned = residentBytes(groups, resident);
        long slot = slotBytes(groups, resident);
        int streamedCount = groups.size() - count(resident);
        if (streamedCount == 0) {
            reasons.add(strategy + ": every group pinned (" + Size.format(pinned) + "); nothing streams");
            return new ComponentPlan(component, strategy, groups, resident, 0, 0, 0, pinned, reasons);
        }
        if (slot == 0) {  // the groups left to stream hold no bytes (zero-size tensors only): nothing to copy, keep them resident
            boolean[] all = new boolean[groups.size()];
            java.util.Arrays.fill(all, true);
            reasons.add(strategy + ": the " + streamedCount + " group(s) to stream hold 0 bytes; kept resident, nothing streams");
            return new ComponentPlan(component, strategy, groups, all, 0, 0, 0, pinned, reasons);
        }
        int largest = -1;
        for (int i = 0; i < groups.size(); i++) {
            if (!resident[i] && (largest < 0 || groups.get(i).bytes() > groups.get(largest).bytes())) largest = i;
        }
        long room = available - pinned;
        if (room < slot) {
            throw new OffloadException(Status.INVALID_ARGUMENT, "component '" + component + "': the device budget leaves "
                    + available + " bytes" + (pinned > 0 ? " (" + pinned + " of them for resident groups)" : "")
                    + ", smaller than the largest group '" + groups.get(largest).spec().name() + "' of " + slot + " bytes");
        }
        int slots = (int) Math.min(Math.min(wantedSlots, room / slot), streamedCount);
        if (slots < Math.min(wantedSlots, streamedCount)) {
            reasons.add(strategy + ": " + slots + " slot(s) of " + Size.format(slot) + " fit in " + Size.format(room)
                    + " (wanted " + wantedSlots + ")");
        } else {
            reasons.add(strategy + ": " + slots + " slots of " + Size.format(slot) + " for " + streamedCount + " streamed groups");
        }
        int depth = slots - 1;
        if (depth == 0) reasons.add(strategy + ": one slot means no prefetch: copies and compute take turns");
        return new ComponentPlan(component, strategy, groups, resident, slots, depth, slot, pinned, reasons);
    }

    private static long ringBytes(List<PackedGroup> groups, boolean[] resident, int wantedSlots) {
        int streamed = groups.size() - count(resident);
        return slotBytes(groups, resident) * Math.min(wantedSlots, streamed);
    }

    private static int count(boolean[] flags) {
        int n = 0;
        for (boolean f : flags) if (f) n++;
        return n;
    }

    private static boolean[] or(boolean[] a, boolean[] b) {
        boolean[] out = new boolean[a.length];
        for (int i = 0; i < a.length; i++) out[i] = a[i] || b[i];
        return out;
    }

    private static long residentBytes(List<PackedGroup> groups, boolean[] resident) {
        long sum = 0;
        for (int i = 0; i < groups.size(); i++) if (resident[i]) sum += PackedGroup.alignUp(groups.get(i).bytes());
        return sum;
    }

    private static long slotBytes(List<PackedGroup> groups, boolean[] resident) {
        long max = 0;
        for (int i = 0; i < groups.size(); i++) if (!resident[i]) max = Math.max(max, PackedGroup.alignUp(groups.get(i).bytes()));
        return max == 0 ? 0 : Math.max(max, PackedGroup.ALIGN);
    }

    /** A few lines for people: the choice, why, which groups are pinned and what streams per step (PlanText). */
    public String describe() {
        return PlanText.describe(this);
    }
}
