package dev.offload.workload;

import dev.offload.OffloadException;
import dev.offload.checkpoint.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The linear workload's operations, in plain Java over bf16 row-major memory: the host backend's
 * compute (fp32, run from a HostFunction on "device" memory, which is host memory there) and the
 * unoffloaded reference (double, over the checkpoint's mapped bytes). Each weight is used by
 * exactly one operation, run when its tensor comes in execution order (docs/WORKLOAD.md), on state
 * carried across blocks and steps ({@link State}: x the residual stream, n the normed input, f the
 * final norm's output, a the
 * attention accumulator, c the key/value accumulator, g and m the MLP's gate and up, l the logits):
 * <pre>
 *   *layernorm.weight w  n = x / sqrt(mean(x^2) + eps) * w    (input_layernorm, post_attention_layernorm)
 *   model.norm.weight w  f = x / sqrt(mean(x^2) + eps) * w    (the final norm, read by lm_head only)
 *   q_proj           a = a + n Wq^T            q_proj.bias:  a = a + b
 *   k_proj, v_proj   c = c + n W^T             their biases: c = c + b
 *   o_proj           a = a + expand(c), c = 0 (grouped-query attention: kv head j serves query heads j*G .. j*G+G-1);
 *                    x = x + a Wo^T, a = 0
 *   gate_proj        g = n Wg^T                up_proj:      m = n Wu^T
 *   down_proj        g = silu(g) * m;  x = x + g Wd^T
 *   embed_tokens E   x = x + E[ids]            lm_head:      l = f Wl^T
 * </pre>
 * each output rounded to bf16 once. A model without norms reads x where n is named, one without a
 * gate feeds m to down_proj as it is, and one without grouping (G = 1) accumulates k and v into a
 * itself: then the old square layout computes what it always did. The stand-in for attention is
 * linear (no softmax over tokens): the workload measures streaming with real products, not a model.
 * Every product is summed in fp32 (double for the reference) and added to the old output before the
 * one rounding: what cublasGemmEx does with bf16 C, fp32 compute and beta = 0 or 1.
 */
final class LinearMath {
    static final int Q = 0, K = 1, V = 2, O = 3, UP = 4, DOWN = 5, GATE = 6, Q_BIAS = 7, K_BIAS = 8, V_BIAS = 9, NORM = 10, EMBED = 11,
            LM_HEAD = 12, FINAL_NORM = 13;
    /** Name suffixes of the roles, by index (NORM, EMBED and LM_HEAD match by {@link #role}'s own rules). */
    static final List<String> SUFFIXES = List.of("self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
            "self_attn.o_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight", "mlp.gate_proj.weight", "self_attn.q_proj.bias",
            "self_attn.k_proj.bias", "self_attn.v_proj.bias", "layernorm.weight", "embed_tokens.weight", "lm_head.weight", "norm.weight");
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private LinearMath() {}

    /** The role of a tensor name, or -1 when it has none (ignored: rotary buffers, Qwen3's q_norm, ...). */
    static int role(String name) {
        for (int r = 0; r < NORM; r++) if (name.endsWith(SUFFIXES.get(r))) return r;
        if (name.endsWith("layernorm.weight")) return NORM;
        if (name.equals("norm.weight") || name.endsWith(".norm.weight")) return FINAL_NORM;
        if (name.endsWith("embed_tokens.weight")) return EMBED;
        if (name.equals("lm_head.weight") || name.endsWith(".lm_head.weight")) return LM_HEAD;
        return -1;
    }

    /** The shape a role's tensor must have. */
    static long[] expectedShape(int role, LinearShape s) {
        long d = s.hidden(), i = s.intermediate(), q = s.qWidth(), kv = s.kvWidth();
        return switch (role) {
            case Q -> new long[] {q, d};
            case K, V -> new long[] {kv, d};
            case O -> new long[] {d, q};
            case UP, GATE -> new long[] {i, d};
            case DOWN -> new long[] {d, i};
            case Q_BIAS -> new long[] {q};
            case K_BIAS, V_BIAS -> new long[] {kv};
            case NORM, FINAL_NORM -> new long[] {d};
            case EMBED, LM_HEAD -> new long[] {s.vocab(), d};
            default -> throw new IllegalArgumentException("role " + role);
        };
    }

    /**
     * The state, as bf16 segments (host: device memory; reference: arrays). Without norms {@code n}
     * is {@code x}, without a final norm {@code f} is {@code n}; without grouping {@code c} is {@code a}; without a gate {@code g} is null, without
     * lm_head {@code l}, without embeddings {@code ids}.
     */
    record State(MemorySegment x, MemorySegment n, MemorySegment f, MemorySegment a, MemorySegment c, MemorySegment g, MemorySegment m,
                 MemorySegment l, int[] ids) {}

    /** Runs the operation of role {@code role} with weight {@code w}; {@code row} holds at least max(hidden, q, intermediate) floats. */
    static void op(int role, State st, MemorySegment w, LinearShape s, int tokens, boolean wide, float[] row) {
        int d = s.hidden(), i = s.intermediate(), q = s.qWidth(), kv = s.kvWidth();
        switch (role) {
            case NORM -> rmsnorm(st.x(), w, st.n(), tokens, d, s.eps(), wide);
            case FINAL_NORM -> rmsnorm(st.x(), w, st.f(), tokens, d, s.eps(), wide);
            case Q -> gemm(st.n(), w, st.a(), tokens, d, q, true, wide, row);
            case K, V -> gemm(st.n(), w, st.c(), tokens, d, kv, true, wide, row);
            case Q_BIAS -> expandAdd(st.a(), w, 0, tokens, q, 1, 1);
            case K_BIAS, V_BIAS -> expandAdd(st.c(), w, 0, tokens, kv, 1, 1);
            case O -> {
                if (st.c() != st.a()) {
                    expandAdd(st.a(), st.c(), kv, tokens, s.heads(), s.group(), s.headDim());
                    st.c().asSlice(0, 2L * tokens * kv).fill((byte) 0);
                }
                gemm(st.a(), w, st.x(), tokens, q, d, true, wide, row);
                st.a().asSlice(0, 2L * tokens * q).fill((byte) 0);
            }
            case GATE -> gemm(st.n(), w, st.g(), tokens, d, i, false, wide, row);
            case UP -> gemm(st.n(), w, st.m(), tokens, d, i, false, wide, row);
            case DOWN -> {
                MemorySegment in = st.m();
                if (st.g() != null) {
                    siluMul(st.g(), st.m(), (long) tokens * i, wide);
                    in = st.g();
                }
                gemm(in, w, st.x(), tokens, i, d, true, wide, row);
            }
            case EMBED -> embedAdd(st.x(), w, st.ids(), tokens, d);
            case LM_HEAD -> gemm(st.f(), w, st.l(), tokens, d, s.vocab(), false, wide, row);
            default -> throw new IllegalArgumentException("role " + role);
        }
    }

    private static float at(MemorySegment m, long i) {
        return Bf16.toFloat(m.get(BF16, 2 * i));
    }

    private static void put(MemorySegment m, long i, double v) {
        m.set(BF16, 2 * i, Bf16.fromFloat((float) v));
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

    /** y[t, c] = bf16(x[t, c] / sqrt(mean_c x[t, c]^2 + eps) * w[c]). */
    static void rmsnorm(MemorySegment x, MemorySegment w, MemorySegment y, int tokens, int dim, double eps, boolean wide) {
        for (int t = 0; t < tokens; t++) {
            long base = (long) t * dim;
            if (wide) {
                double sum = 0;
                for (int c = 0; c < dim; c++) sum += (double) at(x, base + c) * at(x, base + c);
                double r = 1 / Math.sqrt(sum / dim + eps);
                for (int c = 0; c < dim; c++) put(y, base + c, at(x, base + c) * r * at(w, c));
            } else {
                float sum = 0;
                for (int c = 0; c < dim; c++) sum += at(x, base + c) * at(x, base + c);
                float r = 1.0f / (float) Math.sqrt(sum / (float) dim + (float) eps);
                for (int c = 0; c < dim; c++) put(y, base + c, at(x, base + c) * r * at(w, c));
            }
        }
    }

    /** y[t, h*hd + e] = bf16(y + src[t*stride + (h / group)*hd + e]) for h < heads: a bias (stride 0, group 1, hd 1) or GQA's repeat. */
    static void expandAdd(MemorySegment y, MemorySegment src, long stride, int tokens, int heads, int group, int headDim) {
        long width = (long) heads * headDim;
        for (int t = 0; t < tokens; t++) {
            for (long col = 0; col < width; col++) {
                long h = col / headDim, e = col % headDim;
                long i = t * width + col;
                put(y, i, at(y, i) + at(src, t * stride + (h / group) * headDim + e));
            }
        }
    }

    /** g = bf16(silu(g) * m), silu(v) = v / (1 + e^-v). */
    static void siluMul(MemorySegment g, MemorySegment m, long count, boolean wide) {
        for (long i = 0; i < count; i++) {
            float v = at(g, i);
            put(g, i, wide ? v / (1 + Math.exp(-v)) * at(m, i) : v / (1f + (float) Math.exp(-v)) * at(m, i));
        }
    }

    /** x[t, c] = bf16(x[t, c] + table[ids[t], c]). */
    static void embedAdd(MemorySegment x, MemorySegment table, int[] ids, int tokens, int dim) {
        for (int t = 0; t < tokens; t++) {
            for (int c = 0; c < dim; c++) put(x, (long) t * dim + c, at(x, (long) t * dim + c) + at(table, (long) ids[t] * dim + c));
        }
    }

    /**
     * The blocks among {@code tensors}, in order of first appearance, each as its weights in role
     * order (index = role; null where the block has none); tensors of no role are ignored, and every
     * role tensor's dtype and shape is checked against {@code shape}. With {@code whole}, every block
     * must have q, k, v, o, up and down, a gate where the model has one, and all three q/k/v biases
     * or none; without, blocks may be partial (leaf groups). Errors name {@code where}, the tensor and
     * the rule.
     */
    static <T> List<List<T>> blocks(String where, List<T> tensors, Function<T, String> name, Function<T, DType> dtype,
                                    Function<T, long[]> shape, LinearShape s, boolean whole) {
        Map<String, List<T>> byPrefix = new LinkedHashMap<>();
        for (T t : tensors) {
            String n = name.apply(t);
            int r = role(n);
            if (r < 0) continue;
            long[] want = expectedShape(r, s);
            if (dtype.apply(t) != DType.BF16 || !Arrays.equals(shape.apply(t), want)) {
                throw OffloadException.invalid("linear workload: " + n + " in " + where + " is " + dtype.apply(t) + " "
                        + Arrays.toString(shape.apply(t)) + ", expected BF16 " + Arrays.toString(want) + " (" + s.describe() + ")");
            }
            if (r >= NORM) continue;  // norms, embeddings and lm_head belong to no block of their own
            // (the final norm writes f, not n: in name order lm_head comes before model.norm and reads
            // the previous step's f; were it n, the next block's input_layernorm would overwrite it unread)
            List<T> roles = byPrefix.computeIfAbsent(n.substring(0, n.length() - SUFFIXES.get(r).length()), k -> {
                List<T> l = new ArrayList<>();
                for (int i = 0; i < NORM; i++) l.add(null);
                return l;
            });
            roles.set(r, t);
        }
        for (Map.Entry<String, List<T>> e : byPrefix.entrySet()) {
            List<T> b = e.getValue();
            boolean biased = b.get(Q_BIAS) != null || b.get(K_BIAS) != null || b.get(V_BIAS) != null;
            for (int r = 0; whole && r < NORM; r++) {
                boolean needed = r <= DOWN || (r == GATE && s.gated()) || (r >= Q_BIAS && biased);
                if (needed && b.get(r) == null) {
                    throw OffloadException.invalid("linear workload: " + where + " has part of block " + e.getKey() + " but not its "
                            + e.getKey() + SUFFIXES.get(r) + " (rule: a block has q, k, v, o, up and down, a gate where the model has one, "
                            + "and all three q/k/v biases or none)");
                }
            }
        }
        return new ArrayList<>(byPrefix.values());
    }
}
