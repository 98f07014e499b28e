package dev.offload.plan;

import dev.offload.OffloadException;
import dev.offload.Size;
import dev.offload.Status;
import dev.offload.Strategy;
import java.util.ArrayList;
import java.util.List;

/**
 * Where each group of a component lives and how many ring slots stream the rest, decided from the
 * strategy, the packed group sizes and the device bytes left in the budget. Rules:
 * <ul>
 *   <li>NO_OFFLOAD: every group resident; the budget must hold them all.</li>
 *   <li>GROUP_OFFLOAD: every group streamed through 2 slots (the next group prefetched while one
 *       computes, as diffusers does); 1 slot (no overlap) when only one fits. At leaf level, where
 *       a group is one tensor and many are tiny, up to 8 slots (7 groups in flight) when they fit,
 *       so a run of small copies does not leave compute waiting on each one's latency.</li>
 *   <li>LAYERWISE: head and tail resident and a window of {@code window} slots for the blocks,
 *       prefetching window - 1 ahead; the window shrinks to what fits; head and tail are streamed
 *       too when even one slot does not fit beside them.</li>
 * </ul>
 * A budget that cannot hold one slot of the largest streamed group is a configuration error
 * (INVALID_ARGUMENT) that gives both numbers.
 */
public record ComponentPlan(String component, Strategy strategy, List<PackedGroup> groups, boolean[] resident, int slots,
                            int prefetchDepth, long slotBytes, long residentBytes, List<String> reasons) {

    public long deviceBytes() {
        return residentBytes + slotBytes * slots;
    }

    /**
     * @param leaf      whether groups are single tensors (GROUP_OFFLOAD at leaf level)
     * @param window    LAYERWISE's window
     * @param available device bytes left in the budget
     */
    public static ComponentPlan make(String component, Strategy strategy, List<PackedGroup> groups, boolean leaf, int window,
                                     long available) {
        List<String> reasons = new ArrayList<>();
        boolean[] resident = new boolean[groups.size()];
        switch (strategy) {
            case NO_OFFLOAD -> {
                java.util.Arrays.fill(resident, true);
                long need = residentBytes(groups, resident);
                if (need > available) {
                    throw new OffloadException(Status.INVALID_ARGUMENT, "component '" + component + "': NO_OFFLOAD needs "
                            + need + " device bytes (" + Size.format(need) + ") but the budget leaves " + available + " ("
                            + Size.format(available) + ")");
                }
                reasons.add("NO_OFFLOAD: all " + groups.size() + " groups resident (" + Size.format(need) + ")");
                return new ComponentPlan(component, strategy, groups, resident, 0, 0, 0, need, reasons);
            }
            case GROUP_OFFLOAD -> {
                return streamed(component, strategy, groups, resident, leaf ? 8 : 2, available, reasons);
            }
            case LAYERWISE -> {
                resident[0] = groups.get(0).spec().name().equals("head");
                int last = groups.size() - 1;
                resident[last] = groups.get(last).spec().name().equals("tail");
                long pinned = residentBytes(groups, resident);
                long slot = slotBytes(groups, resident);
                if (pinned > 0 && (slot == 0 || pinned + slot > available)) {
                    reasons.add("LAYERWISE: head and tail (" + Size.format(pinned) + ") do not fit beside one block slot; streaming them too");
                    java.util.Arrays.fill(resident, false);
                } else if (pinned > 0) {
                    reasons.add("LAYERWISE: head and tail resident (" + Size.format(pinned) + ")");
                }
                return streamed(component, strategy, groups, resident, window, available, reasons);
            }
            default -> throw new IllegalStateException(strategy.name());
        }
    }

    private static ComponentPlan streamed(String component, Strategy strategy, List<PackedGroup> groups, boolean[] resident,
                                          int wantedSlots, long available, List<String> reasons) {
        long pinned = residentBytes(groups, resident);
        long slot = slotBytes(groups, resident);
        int largest = 0;
        for (int i = 0; i < groups.size(); i++) {
            if (!resident[i] && groups.get(i).bytes() > groups.get(largest).bytes()) largest = i;
        }
        long room = available - pinned;
        if (room < slot) {
            throw new OffloadException(Status.INVALID_ARGUMENT, "component '" + component + "': the device budget leaves "
                    + available + " bytes" + (pinned > 0 ? " (" + pinned + " of them for resident groups)" : "")
                    + ", smaller than the largest group '" + groups.get(largest).spec().name() + "' of " + slot + " bytes");
        }
        int streamedCount = 0;
        for (boolean r : resident) if (!r) streamedCount++;
        int slots = (int) Math.min(Math.min(wantedSlots, room / slot), Math.max(1, streamedCount));
        if (slots < wantedSlots) {
            reasons.add(strategy + ": " + slots + " slot(s) of " + Size.format(slot) + " fit in " + Size.format(room)
                    + " (wanted " + wantedSlots + ")");
        } else {
            reasons.add(strategy + ": " + slots + " slots of " + Size.format(slot) + " for " + streamedCount + " streamed groups");
        }
        int depth = slots - 1;
        if (depth == 0) reasons.add(strategy + ": one slot means no prefetch: copies and compute take turns");
        return new ComponentPlan(component, strategy, groups, resident, slots, depth, slot, pinned, reasons);
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

    /** A few lines for people. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append("component '").append(component).append("': ").append(strategy).append(", ").append(groups.size())
                .append(" groups, device ").append(Size.format(deviceBytes())).append('\n');
        for (String r : reasons) sb.append("  ").append(r).append('\n');
        return sb.toString();
    }
}
