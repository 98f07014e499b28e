package dev.offload.checkpoint;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * One tensor of a checkpoint: its name, dtype and shape, and where its bytes are (the file, and
 * begin/end offsets into that file's data section).
 */
public record TensorInfo(String name, DType dtype, long[] shape, Path file, long begin, long end) {
    public TensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long byteSize() {
        return end - begin;
    }

    public long elementCount() {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && t.name.equals(name) && t.dtype == dtype && Arrays.equals(t.shape, shape)
                && t.file.equals(file) && t.begin == begin && t.end == end;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Long.hashCode(begin);
    }
}
