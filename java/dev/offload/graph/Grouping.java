package dev.offload.graph;

import dev.offload.OffloadException;

/**
 * How a block graph is cut into groups, as diffusers' group offloading does: block level (n
 * consecutive blocks of one list per group; the head and the tail are one group each) or leaf level
 * (one tensor per group). Either way the tensors run in the graph's one execution order.
 */
public sealed interface Grouping {
    record Blocks(int perGroup) implements Grouping {
        public Blocks {
            if (perGroup < 1) throw OffloadException.invalid("blocks per group must be at least 1, got " + perGroup);
        }
    }

    record Leaf() implements Grouping {}

    static Grouping blocks(int perGroup) {
        return new Blocks(perGroup);
    }

    static Grouping leaf() {
        return new Leaf();
    }
}
