package dev.offload;

import dev.offload.graph.Grouping;

/**
 * What {@link Offloader#open(OffloadConfig)} needs, validated when built.
 *
 * @param device       "auto", "host", "cuda" or "cuda:N"
 * @param deviceBudget device bytes the runtime may hold; 0 = the device's free memory minus a reserve
 * @param strategy     how groups share the device
 * @param grouping     block level (n blocks per group) or leaf level; LAYERWISE uses one block per group
 * @param window       LAYERWISE: blocks on the device at once (ring slots)
 * @param timing       what each step measures ({@link Timing}; default STEP: step and copy-span
 *                     times from four events a step; GROUP adds per-group figures)
 * @param slabBytes    target size of the pinned host slabs the groups are packed into
 * @param trace        keep every group's copy and compute span per step ({@link Offloader#trace()});
 *                     implies GROUP timing
 * @param stepsAhead   steps the calling thread may queue ahead of the device (0..8, default 1):
 *                     acquire and release never block within that bound; past it, the first
 *                     acquire of a step waits once for the device
 */
public record OffloadConfig(String device, long deviceBudget, Strategy strategy, Grouping grouping, int window,
                            Timing timing, long slabBytes, int stepsAhead, boolean trace) {
    public OffloadConfig {
        if (device == null || device.isBlank()) throw OffloadException.invalid("config: device is empty");
        if (deviceBudget < 0) throw OffloadException.invalid("config: device budget must be >= 0 bytes (0 = default), got " + deviceBudget);
        if (strategy == null) throw OffloadException.invalid("config: strategy is null");
        if (grouping == null) throw OffloadException.invalid("config: grouping is null");
        if (timing == null) throw OffloadException.invalid("config: timing is null");
        if (trace && timing != Timing.GROUP) throw OffloadException.invalid("config: a trace needs GROUP timing, got " + timing);
        if (window < 1) throw OffloadException.invalid("config: LAYERWISE window must be at least 1 block, got " + window);
        if (slabBytes < (1 << 20)) throw OffloadException.invalid("config: slab size must be at least 1 MiB, got " + slabBytes);
        if (stepsAhead < 0 || stepsAhead > MAX_STEPS_AHEAD) {
            throw OffloadException.invalid("config: steps ahead must be between 0 and " + MAX_STEPS_AHEAD + ", got " + stepsAhead);
        }
        if (strategy == Strategy.LAYERWISE && grouping instanceof Grouping.Leaf) {
            throw OffloadException.invalid("config: LAYERWISE slides over blocks; leaf-level grouping belongs to GROUP_OFFLOAD");
        }
    }

    /** The most steps the host may run ahead (offload.h: OFL_MAX_STEPS_AHEAD). */
    public static final int MAX_STEPS_AHEAD = 8;

    public static Builder builder() {
        return new Builder();
    }

    public static final class Builder {
        private String device = "auto";
        private long deviceBudget;
        private Strategy strategy = Strategy.GROUP_OFFLOAD;
        private Grouping grouping = Grouping.blocks(1);
        private int window = 2;
        private Timing timing = Timing.STEP;
        private long slabBytes = Size.mib(256);
        private int stepsAhead = 1;
        private boolean trace;

        public Builder device(String device) { this.device = device; return this; }
        public Builder deviceBudget(long bytes) { this.deviceBudget = bytes; return this; }
        public Builder strategy(Strategy strategy) { this.strategy = strategy; return this; }
        public Builder blocksPerGroup(int n) { this.grouping = Grouping.blocks(n); return this; }
        public Builder leafLevel() { this.grouping = Grouping.leaf(); return this; }
        public Builder grouping(Grouping grouping) { this.grouping = grouping; return this; }
        public Builder window(int blocks) { this.window = blocks; return this; }
        public Builder timing(Timing timing) { this.timing = timing; return this; }
        public Builder slabBytes(long bytes) { this.slabBytes = bytes; return this; }
        public Builder stepsAhead(int steps) { this.stepsAhead = steps; return this; }
        /** Per-group spans for a timeline trace ({@link Offloader#trace()}); implies GROUP timing. */
        public Builder trace(boolean on) { this.trace = on; return this; }

        public OffloadConfig build() {
            return new OffloadConfig(device, deviceBudget, strategy, grouping, window, trace ? Timing.GROUP : timing, slabBytes,
                    stepsAhead, trace);
        }
    }
}
