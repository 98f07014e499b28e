package dev.offload.graph;

import java.util.List;

/**
 * One block of a block list, its tensors in execution order. A discovered block is numbered by its
 * name ({@code transformer_blocks.3}, name = prefix + "." + index); a preset's block carries the
 * module path it covers ({@code down_blocks.1.attentions.0}) and its index is its place in the list.
 */
public record Block(String prefix, int index, List<TensorRef> tensors, String name) {
    public Block {
        tensors = List.copyOf(tensors);
        if (name == null) name = prefix + "." + index;
    }

    /** A block named by its list and number. */
    public Block(String prefix, int index, List<TensorRef> tensors) {
        this(prefix, index, tensors, null);
    }

    /** Whether the name is the list's prefix and the block's number (so a range of them reads prefix.a-b). */
    boolean numberedName() {
        return name.equals(prefix + "." + index);
    }

    public long byteSize() {
        long sum = 0;
        for (TensorRef t : tensors) sum += t.byteSize();
        return sum;
    }
}
