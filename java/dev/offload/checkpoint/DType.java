package dev.offload.checkpoint;

/**
 * The element types of safetensors files, with their sizes in bits.
 *
 * <p>The list and the sizes are the reference implementation's {@code Dtype} enum and
 * {@code Dtype::bitsize} (huggingface/safetensors, {@code safetensors/src/tensor.rs}, read at commit
 * 24b0b28 of May 2026), in its order (increasing alignment). Sub-byte types (F4, F6_*) exist, so a
 * tensor's size is counted in bits: {@link #byteSize(long[])} multiplies the dimensions left to right
 * as unsigned 64-bit values (the format's {@code usize}), then by the bit size, and refuses a bit count
 * that overflows or is not a multiple of 8, as the reference's {@code Metadata::validate} does
 * ({@code ValidationOverflow}, {@code MisalignedSlice}). To the runtime weights are bytes: every dtype
 * streams; nothing here interprets values.
 */
public enum DType {
    BOOL(8), F4(4), F6_E2M3(6), F6_E3M2(6), U8(8), I8(8),
    F8_E5M2(8), F8_E4M3(8), F8_E8M0(8), F8_E4M3FNUZ(8), F8_E5M2FNUZ(8),
    I16(16), U16(16), F16(16), BF16(16),
    I32(32), U32(32), F32(32),
    C64(64), F64(64), I64(64), U64(64);

    private final int bits;

    DType(int bits) {
        this.bits = bits;
    }

    /** Bits per element: 4 for F4, 6 for F6_*, 64 for C64 (two F32 parts). */
    public int bitSize() {
        return bits;
    }

    /** Bytes per element, for the types whose elements are whole bytes; sub-byte types throw. */
    public int byteSize() {
        if (bits % 8 != 0) {
            throw new IllegalStateException(this + " elements are " + bits + " bits; count sizes with bitSize() or byteSize(shape)");
        }
        return bits / 8;
    }

    /**
     * Bytes of a tensor of this shape. Dimensions are unsigned 64-bit; they multiply left to right,
     * so an overflow before a zero dimension is still an overflow, and a zero before a huge one is 0.
     *
     * @throws ArithmeticException when the element or bit count overflows 64 bits (ValidationOverflow)
     * @throws IllegalArgumentException when the bit count is not a multiple of 8 (MisalignedSlice)
     */
    public long byteSize(long[] shape) {
        long bitCount = multiplyUnsigned(elementCount(shape), bits);
        if (Long.remainderUnsigned(bitCount, 8) != 0) {
            throw new IllegalArgumentException(Long.toUnsignedString(elementCount(shape)) + " elements of " + this + " are "
                    + Long.toUnsignedString(bitCount) + " bits, not a whole number of bytes");
        }
        return Long.divideUnsigned(bitCount, 8);
    }

    /** The element count of a shape (unsigned), multiplied left to right; ArithmeticException on overflow. */
    public static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) n = multiplyUnsigned(n, d);
        return n;
    }

    static long multiplyUnsigned(long a, long b) {
        if (Math.unsignedMultiplyHigh(a, b) != 0) throw new ArithmeticException("unsigned 64-bit overflow");
        return a * b;
    }

    /** The dtype named by a safetensors header (exact, case-sensitive), or null. */
    public static DType parse(String name) {
        for (DType d : values()) {
            if (d.name().equals(name)) return d;
        }
        return null;
    }
}
