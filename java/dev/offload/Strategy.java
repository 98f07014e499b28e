package dev.offload;

/**
 * How a component's weights share the device (names shared with diffusers, accelerate and vLLM).
 * AUTO is resolved at registration into one of the others per component ({@link dev.offload.plan.Resolver}).
 */
public enum Strategy {
    /** Every group resident: the baseline when the model fits. */
    NO_OFFLOAD,
    /** Groups of n blocks (or single tensors at leaf level) streamed through two slots, the next one prefetched on the copy stream. */
    GROUP_OFFLOAD,
    /** A sliding window of d one-block slots, prefetch wrapping into the next step; head and tail stay resident when they fit. */
    LAYERWISE,
    /**
     * GROUP_OFFLOAD's ring (2 slots of the largest streamed group, 8 at leaf level) with as many groups
     * pinned as then fit in the budget less the activation reserve: the largest first, or with a
     * compute profile those whose copy most exceeds their compute.
     */
    BLOCK_PIN,
    /**
     * Whole components take turns on the device: the active one is fully resident; the others wait
     * in pinned host memory. A step of an inactive component swaps it in (evicting others as room
     * needs) and computes layer by layer as the swap's copies arrive; {@link Offloader#prefetch}
     * swaps the next one in beside the current one where the budget holds both.
     */
    MODEL_OFFLOAD,
    /**
     * One group at a time, no prefetch (accelerate's and diffusers' sequential CPU offload): one ring
     * slot, so each group's copy waits for the compute of the group before it. The synchronous
     * baseline the streaming strategies are measured against; the pin policy applies as for
     * GROUP_OFFLOAD.
     */
    SEQUENTIAL,
    /** The resolver chooses per component from measured facts and says why ({@link dev.offload.plan.Resolver}). */
    AUTO;

    /** Parses "group_offload", "group-offload", "GROUP_OFFLOAD", ... */
    public static Strategy parse(String text) {
        String key = text.trim().toUpperCase(java.util.Locale.ROOT).replace('-', '_');
        for (Strategy s : values()) {
            if (s.name().equals(key)) return s;
        }
        throw OffloadException.invalid("unknown strategy '" + text + "': expected one of " + names());
    }

    /** "no_offload, group_offload, ..., auto": every strategy's CLI name. */
    public static String names() {
        StringBuilder sb = new StringBuilder();
        for (Strategy s : values()) sb.append(sb.isEmpty() ? "" : ", ").append(s.name().toLowerCase(java.util.Locale.ROOT));
        return sb.toString();
    }
}
