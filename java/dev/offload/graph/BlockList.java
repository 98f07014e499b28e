package dev.offload.graph;

import java.util.List;

/** The numbered blocks sharing one prefix, in numeric order. */
public record BlockList(String prefix, List<Block> blocks) {
    public BlockList {
        blocks = List.copyOf(blocks);
    }

    /** The largest block's bytes (blocks of one list are usually the same size). */
    public long bytesPerBlock() {
        long max = 0;
        for (Block b : blocks) max = Math.max(max, b.byteSize());
        return max;
    }
}
