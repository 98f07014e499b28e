package dev.offload.graph;

import java.util.List;

/** A group as planned: a name and the tensors that move together (one copy, one slot). */
public record GroupSpec(String name, List<TensorRef> tensors) {
    public GroupSpec {
        tensors = List.copyOf(tensors);
    }

    public long byteSize() {
        long sum = 0;
        for (TensorRef t : tensors) sum += t.byteSize();
        return sum;
    }
}
