package dev.offload.graph;

import java.util.List;

/** One numbered block of a block list ({@code transformer_blocks.3}), its tensors in name order. */
public record Block(String prefix, int index, List<TensorRef> tensors) {
    public Block {
        tensors = List.copyOf(tensors);
    }

    public String name() {
        return prefix + "." + index;
    }

    public long byteSize() {
        long sum = 0;
        for (TensorRef t : tensors) sum += t.byteSize();
        return sum;
    }
}
