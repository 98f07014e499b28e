package dev.offload.workload;

import dev.offload.OffloadException;
import dev.offload.checkpoint.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The linear workload's block, in plain Java over bf16 row-major memory: the host backend's compute
 * (fp32 accumulation, run from a HostFunction on "device" memory, which is host memory there) and
 * the unoffloaded reference (double accumulation, over the checkpoint's mapped bytes). Each weight
 * is used by exactly one product, run when its tensor comes in execution order (docs/WORKLOAD.md):
 * <pre>
 *   q, k, v:  s = bf16(s + x W^T)
 *   o:        x = bf16(x + s Wo^T), then s = 0
 *   up:       u = bf16(x Wup^T)
 *   down:     x = bf16(x + u Wdown^T)
 * </pre>
 * with s and u zero at the start of a run and carried across blocks and steps. In the order q, k, v,
 * o, up, down this is the usual block; in the name order checkpoints use (down, up, k, o, q, v) down
 * reads the previous block's u and q, v feed the next block's o. Either way every grouping (block or
 * leaf level) computes the same function, and from the second step on every weight changes the output.
 * Each product is summed in fp32 (double for the reference) and added to the old output before the
 * one rounding: what cublasGemmEx does with bf16 C, fp32 compute and beta = 0 or 1.
 */
final class LinearMath {
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private LinearMath() {}

    /** The product of weight role {@code role} (LinearModel.ROLES index), in place on x, s and u. */
    static void op(int role, MemorySegment x, MemorySegment s, MemorySegment u, MemorySegment w, int tokens, int dim, boolean wide,
                   float[] row) {
        switch (role) {
            case 0, 1, 2 -> gemm(x, w, s, tokens, dim, dim, true, wide, row);
            case 3 -> {
                gemm(s, w, x, tokens, dim, dim, true, wide, row);
                s.asSlice(0, 2L * tokens * dim).fill((byte) 0);
            }
            case 4 -> gemm(x, w, u, tokens, dim, 4 * dim, false, wide, row);
            case 5 -> gemm(u, w, x, tokens, 4 * dim, dim, true, wide, row);
            default -> throw new IllegalArgumentException("role " + role);
        }
    }

    /** The LinearModel.ROLES index of a tensor name, or -1 when it has none. */
    static int role(String name) {
        for (int r = 0; r < LinearModel.ROLES.size(); r++) if (name.endsWith(LinearModel.ROLES.get(r))) return r;
        return -1;
    }

    /** y[t, o] = bf16((accumulate ? y[t, o] : 0) + sum_i a[t, i] w[o, i]); {@code row} holds at least {@code in} floats. */
    static void gemm(MemorySegment a, MemorySegment w, MemorySegment y, int tokens, int in, int out, boolean accumulate,
                     boolean wide, float[] row) {
        for (int t = 0; t < tokens; t++) {
            long at = (long) t * in * 2;
            for (int i = 0; i < in; i++) row[i] = Bf16.toFloat(a.get(BF16, at + 2L * i));
            for (int o = 0; o < out; o++) {
                long wo = (long) o * in * 2;
                long yo = ((long) t * out + o) * 2;
                float c = accumulate ? Bf16.toFloat(y.get(BF16, yo)) : 0f;
                float r;
                if (wide) {
                    double sum = 0;
                    for (int i = 0; i < in; i++) sum += (double) row[i] * Bf16.toFloat(w.get(BF16, wo + 2L * i));
                    r = (float) (c + sum);
                } else {
                    float sum = 0;
                    for (int i = 0; i < in; i++) sum += row[i] * Bf16.toFloat(w.get(BF16, wo + 2L * i));
                    r = c + sum;
                }
                y.set(BF16, yo, Bf16.fromFloat(r));
            }
        }
    }

    /**
     * The blocks among {@code tensors}, in order of first appearance, each as its six weights in
     * LinearModel.ROLES order; tensors of no role are ignored. A block missing a role, or with a
     * weight of the wrong dtype or shape, is an error naming {@code where} and the weight.
     */
    static <T> List<List<T>> blocks(String where, List<T> tensors, Function<T, String> name, Function<T, DType> dtype,
                                    Function<T, long[]> shape, int dim) {
        return blocks(where, tensors, name, dtype, shape, dim, true);
    }

    /** As above; with {@code whole} false, blocks may be partial (leaf groups): only dtypes and shapes are checked. */
    static <T> List<List<T>> blocks(String where, List<T> tensors, Function<T, String> name, Function<T, DType> dtype,
                                    Function<T, long[]> shape, int dim, boolean whole) {
        Map<String, List<T>> byPrefix = new LinkedHashMap<>();
        for (T t : tensors) {
            String n = name.apply(t);
            for (int r = 0; r < LinearModel.ROLES.size(); r++) {
                String role = LinearModel.ROLES.get(r);
                if (!n.endsWith(role)) continue;
                long[] want = r == 4 ? new long[] {4L * dim, dim} : r == 5 ? new long[] {dim, 4L * dim} : new long[] {dim, dim};
                if (dtype.apply(t) != DType.BF16 || !java.util.Arrays.equals(shape.apply(t), want)) {
                    throw OffloadException.invalid("linear workload: " + n + " in " + where + " is " + dtype.apply(t) + " "
                            + java.util.Arrays.toString(shape.apply(t)) + ", expected BF16 " + java.util.Arrays.toString(want));
                }
                List<T> roles = byPrefix.computeIfAbsent(n.substring(0, n.length() - role.length()), k -> {
                    List<T> l = new ArrayList<>();
                    for (int i = 0; i < LinearModel.ROLES.size(); i++) l.add(null);
                    return l;
                });
                roles.set(r, t);
            }
        }
        for (Map.Entry<String, List<T>> e : byPrefix.entrySet()) {
            for (int r = 0; whole && r < LinearModel.ROLES.size(); r++) {
                if (e.getValue().get(r) == null) {
                    throw OffloadException.invalid("linear workload: " + where + " has part of block " + e.getKey() + " but not its "
                            + e.getKey() + LinearModel.ROLES.get(r));
                }
            }
        }
        return new ArrayList<>(byPrefix.values());
    }
}
