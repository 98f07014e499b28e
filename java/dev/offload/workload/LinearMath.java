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
 * the unoffloaded reference (double accumulation, over the checkpoint's mapped bytes). Both round
 * at the same points (docs/WORKLOAD.md):
 * <pre>
 *   s = bf16(x Wq^T);  s = bf16(s + x Wk^T);  s = bf16(s + x Wv^T)
 *   x = bf16(x + s Wo^T);  u = bf16(x Wup^T);  x = bf16(x + u Wdown^T)
 * </pre>
 * each product summed in fp32 (double for the reference) and added to the old output before the
 * one rounding: what cublasGemmEx does with bf16 C, fp32 compute and beta = 0 or 1.
 */
final class LinearMath {
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private LinearMath() {}

    /** One block in place: x [tokens, dim], s [tokens, dim], u [tokens, 4 dim]; w in LinearModel.ROLES order. */
    static void block(MemorySegment x, MemorySegment s, MemorySegment u, MemorySegment[] w, int tokens, int dim, boolean wide,
                      float[] row) {
        gemm(x, w[0], s, tokens, dim, dim, false, wide, row);
        gemm(x, w[1], s, tokens, dim, dim, true, wide, row);
        gemm(x, w[2], s, tokens, dim, dim, true, wide, row);
        gemm(s, w[3], x, tokens, dim, dim, true, wide, row);
        gemm(x, w[4], u, tokens, dim, 4 * dim, false, wide, row);
        gemm(u, w[5], x, tokens, 4 * dim, dim, true, wide, row);
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
            for (int r = 0; r < LinearModel.ROLES.size(); r++) {
                if (e.getValue().get(r) == null) {
                    throw OffloadException.invalid("linear workload: " + where + " has part of block " + e.getKey() + " but not its "
                            + e.getKey() + LinearModel.ROLES.get(r) + " (every group must hold whole blocks: use block grouping,"
                            + " not --leaf)");
                }
            }
        }
        return new ArrayList<>(byPrefix.values());
    }
}
