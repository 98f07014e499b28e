package dev.offload.checkpoint;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * One tensor of a checkpoint: its name, dtype and shape, and where its bytes are (the file, and
 * begin/end offsets into that file's data section).
 *
 * <p>Dimensions are unsigned 64-bit values, as the format's {@code usize}: a dimension of 2^63 or more
 * (valid beside a zero dimension, where the element count is 0) reads negative as a Java long; print
 * shapes with {@link #shapeText()}. The byte size is {@code end - begin}, which the reader checked
 * against the shape and the dtype's bits.
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

    /** The element count: 0 when any dimension is 0, else the product (ArithmeticException past 64 unsigned bits). */
    public long elementCount() {
        for (long d : shape) if (d == 0) return 0;
        return DType.elementCount(shape);
    }

    /** The shape as text, dimensions unsigned: {@code [0, 9223372036854775808]}. */
    public String shapeText() {
        return SafetensorsHeader.shape(shape);
    }

    @Override
    public String toString() {
        return name + " " + dtype + shapeText();
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
