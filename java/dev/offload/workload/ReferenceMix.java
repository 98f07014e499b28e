package dev.offload.workload;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The reference workload's layer in plain Java: the same arithmetic as the native kernels
 * (native/src/workload/mix.hpp, docs/WORKLOAD.md), read straight from host memory with no device
 * and no offloading. It is the "unoffloaded run" every offloaded output is compared with, bit for bit.
 */
public final class ReferenceMix {
    private static final ValueLayout.OfInt WORD = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private ReferenceMix() {}

    static int fmix(int h) {
        h ^= h >>> 16;
        h *= 0x85ebca6b;
        h ^= h >>> 13;
        h *= 0xc2b2ae35;
        h ^= h >>> 16;
        return h;
    }

    static int update(int x, int delta, int column) {
        return Integer.rotateLeft(x ^ delta, 5) * 0x9e3779b1 + (column + 1);
    }

    static int wordAt(MemorySegment weights, long i) {
        long bytes = weights.byteSize();
        int w = 0;
        for (int b = 0; b < 4; b++) {
            long at = 4 * i + b;
            if (at < bytes) w |= (weights.get(ValueLayout.JAVA_BYTE, at) & 0xff) << (8 * b);
        }
        return w;
    }

    /** Applies one layer with these weights to state (tokens x hidden words, row-major). */
    public static void apply(int[] state, int tokens, int hidden, MemorySegment weights) {
        long bytes = weights.byteSize();
        long fullWords = bytes / 4;
        long words = (bytes + 3) / 4;
        long rows = (words + hidden - 1) / hidden;
        int[] odd = new int[hidden];
        int[] delta = new int[hidden];
        for (int t = 0; t < tokens; t++) {
            int x0 = t * hidden;
            java.util.Arrays.fill(delta, 0);
            for (int c = 0; c < hidden; c++) odd[c] = state[x0 + c] | 1;
            for (long r = 0; r < rows; r++) {
                long base = r * hidden;
                int n = (int) Math.min(hidden, words - base);
                int acc = 0;
                if (base + n <= fullWords) {
                    long at = 4 * base;
                    for (int c = 0; c < n; c++) acc += weights.get(WORD, at + 4L * c) * odd[c];
                } else {
                    for (int c = 0; c < n; c++) acc += wordAt(weights, base + c) * odd[c];
                }
                delta[(int) (r % hidden)] ^= fmix(acc + (int) r);
            }
            for (int c = 0; c < hidden; c++) state[x0 + c] = update(state[x0 + c], delta[c], c);
        }
    }
}
