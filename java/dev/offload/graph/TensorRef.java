package dev.offload.graph;

import dev.offload.OffloadException;
import dev.offload.checkpoint.DType;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A tensor of a block graph: name, dtype, shape, and its bytes in host memory (often a mapped file).
 * The name may be empty (safetensors allows {@code ""}); dimensions are unsigned 64-bit as in
 * {@link dev.offload.checkpoint.TensorInfo}; the byte size is counted in bits
 * ({@link DType#byteSize(long[])}), so every dtype, sub-byte ones included, is bytes to the runtime.
 */
public record TensorRef(String name, DType dtype, long[] shape, MemorySegment data) {
    public TensorRef {
        if (name == null) throw OffloadException.invalid("tensor name is null");
        shape = shape.clone();
        long bytes;
        try {
            bytes = dtype.byteSize(shape);
        } catch (ArithmeticException | IllegalArgumentException e) {
            throw OffloadException.invalid("tensor '" + name + "': shape " + Arrays.toString(shape) + " of " + dtype
                    + " has no whole byte size: " + e.getMessage());
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
