package dev.offload.workload;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.offload.OffloadException;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.TensorInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The sizes of a Llama-family decoder as the linear workload needs them. Read from the
 * {@code config.json} beside the checkpoint's files when there is one (transformers' keys:
 * {@code hidden_size}, {@code intermediate_size}, {@code num_attention_heads},
 * {@code num_key_value_heads} (default: the heads), {@code head_dim} (default hidden / heads; Qwen3
 * and Mistral may set it), {@code rms_norm_eps} (default 1e-6), {@code vocab_size}); else inferred from
 * the tensor shapes and said so in {@link #source}: hidden from the first q_proj's in-features,
 * intermediate from the first up_proj, and, where k_proj is narrower than q_proj (grouped-query
 * attention), a head_dim of gcd(k_proj rows, 128) (128 is Llama 3's, Mistral's and Qwen2's), eps 1e-5.
 * Which optional parts the model has (norms, gate, q/k/v biases, embeddings, lm_head) comes from
 * its tensor names; {@link LinearMath#blocks} then checks every role tensor against these sizes.
 */
public record LinearShape(int hidden, int intermediate, int heads, int kvHeads, int headDim, double eps, int vocab, boolean normed,
                          boolean finalNormed, boolean gated, boolean embedded, boolean hasLmHead, String source) {
    static final int MAX = 1 << 20;

    public LinearShape {
        if (hidden < 1 || intermediate < 1 || heads < 1 || kvHeads < 1 || headDim < 1 || heads % kvHeads != 0 || hidden > MAX
                || intermediate > MAX || (long) heads * headDim > MAX || vocab < 0 || vocab > 16 * MAX || !(eps > 0)) {
            throw OffloadException.invalid("linear workload (" + source + "): sizes out of range or heads not a multiple of kv heads: hidden "
                    + hidden + ", intermediate " + intermediate + ", heads " + heads + ", kv heads " + kvHeads + ", head_dim " + headDim
                    + ", vocab " + vocab + ", eps " + eps);
        }
    }

    /** Width of q_proj's output (and o_proj's input). */
    public int qWidth() {
        return heads * headDim;
    }

    /** Width of k_proj's and v_proj's outputs. */
    public int kvWidth() {
        return kvHeads * headDim;
    }

    /** Query heads per key/value head (1: no grouping). */
    public int group() {
        return heads / kvHeads;
    }

    /** The old square layout ({@code synth --workload linear}): q, k, v, o [dim, dim], up [4 dim, dim], down [dim, 4 dim]. */
    public static LinearShape square(int dim) {
        return new LinearShape(dim, 4 * dim, 1, 1, dim, 1e-5, 0, false, false, false, false, false, "square dim " + dim);
    }

    /** The checkpoint's sizes: its config.json's where there is one, else inferred from its shapes. */
    public static LinearShape of(Checkpoint checkpoint) {
        TensorInfo q = null, k = null, up = null, embed = null, lm = null;
        boolean normed = false, finalNormed = false, gated = false;
        for (TensorInfo t : checkpoint.tensors()) {
            int role = LinearMath.role(t.name());
            if (role == LinearMath.Q && q == null) q = t;
            if (role == LinearMath.K && k == null) k = t;
            if (role == LinearMath.UP && up == null) up = t;
            if (role == LinearMath.EMBED && embed == null) embed = t;
            if (role == LinearMath.LM_HEAD && lm == null) lm = t;
            normed |= role == LinearMath.NORM || role == LinearMath.FINAL_NORM;
            finalNormed |= role == LinearMath.FINAL_NORM;
            gated |= role == LinearMath.GATE;
        }
        if (q == null) {
            throw OffloadException.invalid("linear workload: " + checkpoint.name() + " has no *." + LinearMath.SUFFIXES.get(LinearMath.Q)
                    + " tensor (write one with `offload synth PATH --like llama`)");
        }
        Path config = checkpoint.files().isEmpty() ? null : checkpoint.files().get(0).toAbsolutePath().getParent().resolve("config.json");
        if (config != null && Files.isRegularFile(config)) {
            LinearShape c = fromConfig(config, normed, finalNormed, gated, embed != null, lm != null);
            TensorInfo table = embed != null ? embed : lm;
            if (c.vocab() > 0 || table == null) return c;  // no vocab_size: the embedding's rows
            return new LinearShape(c.hidden(), c.intermediate(), c.heads(), c.kvHeads(), c.headDim(), c.eps(),
                    (int) Math.min(Integer.MAX_VALUE, table.shape()[0]), normed, finalNormed, gated, embed != null, lm != null, c.source());
        }
        long[] qs = shape2(q), ks = k != null ? shape2(k) : qs, us = up != null ? shape2(up) : new long[] {4 * qs[1], qs[1]};
        int hidden = (int) qs[1], qWidth = (int) qs[0], kvWidth = (int) ks[0];
        int headDim = qWidth == kvWidth ? qWidth : gcd(kvWidth, 128);
        if (qWidth % headDim != 0) headDim = gcd(qWidth, kvWidth);
        int vocab = embed != null ? (int) Math.min(Integer.MAX_VALUE, embed.shape()[0]) : lm != null ? (int) Math.min(Integer.MAX_VALUE, lm.shape()[0]) : 0;
        return new LinearShape(hidden, (int) us[0], qWidth / headDim, kvWidth / headDim, headDim, 1e-5, vocab, normed, finalNormed, gated, embed != null,
                lm != null, "no config.json beside " + checkpoint.name() + ": sizes inferred from tensor shapes (head_dim " + headDim
                        + (qWidth == kvWidth ? ", no grouped-query attention" : ", assumed") + ", eps 1e-5)");
    }

    private static long[] shape2(TensorInfo t) {
        long[] s = t.shape();
        if (s.length != 2 || s[0] < 1 || s[1] < 1 || s[0] > MAX || s[1] > MAX) {
            throw OffloadException.invalid("linear workload: " + t.name() + " has shape " + java.util.Arrays.toString(s)
                    + ", expected a matrix [out, in] of at most " + MAX + " each");
        }
        return s;
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }

    static LinearShape fromConfig(Path config, boolean normed, boolean finalNormed, boolean gated, boolean embedded, boolean hasLmHead) {
        JsonObject root;
        try {
            JsonElement parsed = JsonParser.parseString(Files.readString(config));
            if (!parsed.isJsonObject()) throw OffloadException.invalid(config + ": not a JSON object");
            root = parsed.getAsJsonObject();
        } catch (IOException e) {
            throw OffloadException.io(config + ": cannot read", e);
        } catch (com.google.gson.JsonParseException e) {
            throw OffloadException.invalid(config + ": not valid JSON: " + e.getMessage());
        }
        int hidden = integer(config, root, "hidden_size", -1);
        int heads = integer(config, root, "num_attention_heads", -1);
        int kv = integer(config, root, "num_key_value_heads", heads);
        int headDim = integer(config, root, "head_dim", heads > 0 && hidden % heads == 0 ? hidden / heads : -1);
        int intermediate = integer(config, root, "intermediate_size", -1);
        int vocab = integer(config, root, "vocab_size", 0);
        double eps = root.has("rms_norm_eps") && root.get("rms_norm_eps").isJsonPrimitive() ? root.get("rms_norm_eps").getAsDouble() : 1e-6;
        return new LinearShape(hidden, intermediate, heads, kv, headDim, eps, vocab, normed, finalNormed, gated, embedded, hasLmHead, config.toString());
    }

    /** A whole-number key of config.json; {@code fallback} when absent (-1: required). */
    private static int integer(Path config, JsonObject root, String key, int fallback) {
        JsonElement e = root.get(key);
        if (e == null || e.isJsonNull()) {
            if (fallback < 0) throw OffloadException.invalid(config + ": " + key + " is missing (the linear workload sizes itself by it)");
            return fallback;
        }
        try {
            long v = e.getAsJsonPrimitive().getAsBigDecimal().longValueExact();
            if (v < 0 || v > 16L * MAX) throw new ArithmeticException();
            return (int) v;
        } catch (RuntimeException x) {
            throw OffloadException.invalid(config + ": " + key + " is " + e + ", expected a whole number in 0.." + 16L * MAX);
        }
    }

    /** "hidden 256, intermediate 896, 32 heads / 8 kv heads of 8, vocab 8016, from ...". */
    public String describe() {
        return "hidden " + hidden + ", intermediate " + intermediate + ", " + heads + " heads / " + kvHeads + " kv heads of " + headDim
                + (vocab > 0 ? ", vocab " + vocab : "") + ", from " + source;
    }
}
