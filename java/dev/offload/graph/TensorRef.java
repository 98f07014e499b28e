package dev.offload.graph;

import dev.offload.OffloadException;
import dev.offload.checkpoint.DType;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** A tensor of a block graph: name, dtype, shape, and its bytes in host memory (often a mapped file). */
public record TensorRef(String name, DType dtype, long[] shape, MemorySegment data) {
    public TensorRef {
        if (name == null || name.isEmpty()) throw OffloadException.invalid("tensor name is empty");
        shape = shape.clone();
        long bytes = dtype.byteSize();
        for (long d : shape) {
            if (d < 0) throw OffloadException.invalid("tensor '" + name + "': negative dimension in " + Arrays.toString(shape));
            bytes = Math.multiplyExact(bytes, d);
        }
        if (bytes != data.byteSize()) {
            throw OffloadException.invalid("tensor '" + name + "': shape " + Arrays.toString(shape) + " of " + dtype + " needs "
                    + bytes + " bytes, the data holds " + data.byteSize());
        }
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long byteSize() {
        return data.byteSize();
    }
}
