package dev.offload.graph;

import java.util.List;

/**
 * A group as planned: a name, the tensors that move together (one copy, one slot), and its role in
 * the graph (plans treat the head and the tail apart, by role, never by name).
 */
public record GroupSpec(String name, List<TensorRef> tensors, Role role) {
    /** Where a group sits in its graph. */
    public enum Role { HEAD, BLOCKS, TAIL, LEAF }

    public GroupSpec {
        tensors = List.copyOf(tensors);
        if (role == null) role = Role.BLOCKS;
    }

    /** A group of blocks (or one made by hand). */
    public GroupSpec(String name, List<TensorRef> tensors) {
        this(name, tensors, Role.BLOCKS);
    }

    public long byteSize() {
        long sum = 0;
        for (TensorRef t : tensors) sum += t.byteSize();
        return sum;
    }
}
