package dev.offload.plan;

import dev.offload.OffloadException;
import dev.offload.Strategy;
import dev.offload.graph.Grouping;

/**
 * How one component is to be arranged: a concrete strategy (never AUTO), its grouping, LAYERWISE's
 * window and the pinning inputs. The config gives one per component for fixed strategies; the
 * {@link Resolver} makes one per component for AUTO.
 */
public record Setup(Strategy strategy, Grouping grouping, int window, ComponentPlan.Pinning pinning) {
    public Setup {
        if (strategy == null || grouping == null || pinning == null) throw OffloadException.invalid("setup: strategy, grouping and pinning are required");
        if (strategy == Strategy.AUTO) throw OffloadException.invalid("setup: AUTO is resolved into a concrete strategy first");
        if (window < 1) throw OffloadException.invalid("setup: window must be at least 1, got " + window);
        if (strategy == Strategy.LAYERWISE) grouping = Grouping.blocks(1);
    }

    /** "group_offload (2 blocks/group)", "layerwise (window 3)", "block_pin (leaf)", ... */
    public String label() {
        String name = strategy.name().toLowerCase(java.util.Locale.ROOT);
        if (strategy == Strategy.NO_OFFLOAD || strategy == Strategy.MODEL_OFFLOAD || strategy == Strategy.AUTO) return name;  // all resident
        if (strategy == Strategy.LAYERWISE) return name + " (window " + window + ")";
        return name + (grouping instanceof Grouping.Blocks b ? " (" + b.perGroup() + " block" + (b.perGroup() > 1 ? "s" : "") + "/group)" : " (leaf)");
    }
}
