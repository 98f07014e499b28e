package dev.offload;

/**
 * How a component's weights share the device (names shared with diffusers, accelerate and vLLM).
 * MODEL_OFFLOAD and AUTO are later work; these four run today.
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
    BLOCK_PIN;

    /** Parses "group_offload", "group-offload", "GROUP_OFFLOAD", ... */
    public static Strategy parse(String text) {
        String key = text.trim().toUpperCase(java.util.Locale.ROOT).replace('-', '_');
        for (Strategy s : values()) {
            if (s.name().equals(key)) return s;
        }
        throw OffloadException.invalid("unknown strategy '" + text + "': expected one of no_offload, group_offload, layerwise, block_pin");
    }
}
