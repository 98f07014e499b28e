package dev.offload.workload;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.offload.OffloadException;
import dev.offload.checkpoint.DType;
import dev.offload.checkpoint.SafetensorsWriter;
import dev.offload.checkpoint.SafetensorsWriter.Spec;
import dev.offload.files.AtomicFile;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Small synthetic checkpoints with a real model's names and proportions ({@code synth PATH --like
 * llama|mistral|qwen2}): a folder with a transformers {@code config.json} and one
 * {@code model.safetensors} of BF16 weights named as the real model's
 * ({@code model.embed_tokens.weight}, {@code model.layers.N.self_attn.{q,k,v,o}_proj.weight}, Qwen2's
 * {@code {q,k,v}_proj.bias}, {@code model.layers.N.mlp.{gate,up,down}_proj.weight},
 * {@code model.layers.N.{input,post_attention}_layernorm.weight}, {@code model.norm.weight},
 * {@code lm_head.weight}).
 *
 * <p>Scaling: the hidden size shrinks to {@code hidden} (a multiple of the head count) with the head
 * counts kept, so head_dim = hidden / heads, the grouped-query group size is the real one, and the
 * intermediate size and the vocabulary shrink by the same factor as the hidden size (rounded), so
 * intermediate / hidden and the embeddings' share of a layer stay the real ones. The layer count is
 * chosen freely (default half the real one). Values: matrices uniform in ±0.5/sqrt(in), norm
 * weights 1 ± 0.25, biases ±0.1, embeddings ±1, each from a SplittableRandom seeded by (seed, name).
 */
public final class TransformerLike {
    /** One real model's sizes (from its published config.json). */
    public record Preset(String like, String source, String architecture, String modelType, int hidden, int intermediate, int heads,
                         int kvHeads, int layers, int vocab, double eps, double ropeTheta, boolean qkvBias, boolean writesHeadDim) {}

    public static final List<Preset> PRESETS = List.of(
            new Preset("llama", "meta-llama/Llama-3.1-8B", "LlamaForCausalLM", "llama", 4096, 14336, 32, 8, 32, 128256, 1e-5, 500000, false, true),
            new Preset("mistral", "mistralai/Mistral-7B-v0.1", "MistralForCausalLM", "mistral", 4096, 14336, 32, 8, 32, 32000, 1e-5, 10000,
                    false, false),
            new Preset("qwen2", "Qwen/Qwen2-7B", "Qwen2ForCausalLM", "qwen2", 3584, 18944, 28, 4, 28, 152064, 1e-6, 1000000, true, false));

    /** The sizes written: the preset scaled to {@code hidden}, with {@code layers} layers. */
    public record Scaled(Preset preset, int hidden, int intermediate, int headDim, int layers, int vocab) {}

    private TransformerLike() {}

    public static Preset preset(String like) {
        for (Preset p : PRESETS) if (p.like().equals(like.toLowerCase(Locale.ROOT))) return p;
        throw OffloadException.invalid("unknown --like '" + like + "': expected llama, mistral or qwen2");
    }

    /** The default hidden size: head_dim 8. */
    public static int defaultHidden(Preset p) {
        return 8 * p.heads();
    }

    public static Scaled scale(Preset p, int hidden, int layers) {
        if (hidden < p.heads() || hidden % p.heads() != 0 || hidden > p.hidden()) {
            throw OffloadException.invalid("--like " + p.like() + ": the hidden size must be a multiple of its " + p.heads()
                    + " heads of at most " + p.hidden() + ", got " + hidden);
        }
        if (layers < 1) throw OffloadException.invalid("--like " + p.like() + ": at least one layer, got " + layers);
        double f = (double) hidden / p.hidden();
        return new Scaled(p, hidden, (int) Math.max(1, Math.round(p.intermediate() * f)), hidden / p.heads(), layers,
                (int) Math.max(2, Math.round(p.vocab() * f)));
    }

    public static List<Spec> specs(Scaled s) {
        Preset p = s.preset();
        long d = s.hidden(), i = s.intermediate(), q = (long) p.heads() * s.headDim(), kv = (long) p.kvHeads() * s.headDim();
        List<Spec> specs = new ArrayList<>();
        specs.add(new Spec("model.embed_tokens.weight", DType.BF16, new long[] {s.vocab(), d}));
        for (int layer = 0; layer < s.layers(); layer++) {
            String at = "model.layers." + layer + ".";
            specs.add(new Spec(at + "input_layernorm.weight", DType.BF16, new long[] {d}));
            specs.add(new Spec(at + "self_attn.q_proj.weight", DType.BF16, new long[] {q, d}));
            specs.add(new Spec(at + "self_attn.k_proj.weight", DType.BF16, new long[] {kv, d}));
            specs.add(new Spec(at + "self_attn.v_proj.weight", DType.BF16, new long[] {kv, d}));
            if (p.qkvBias()) {
                specs.add(new Spec(at + "self_attn.q_proj.bias", DType.BF16, new long[] {q}));
                specs.add(new Spec(at + "self_attn.k_proj.bias", DType.BF16, new long[] {kv}));
                specs.add(new Spec(at + "self_attn.v_proj.bias", DType.BF16, new long[] {kv}));
            }
            specs.add(new Spec(at + "self_attn.o_proj.weight", DType.BF16, new long[] {d, q}));
            specs.add(new Spec(at + "post_attention_layernorm.weight", DType.BF16, new long[] {d}));
            specs.add(new Spec(at + "mlp.gate_proj.weight", DType.BF16, new long[] {i, d}));
            specs.add(new Spec(at + "mlp.up_proj.weight", DType.BF16, new long[] {i, d}));
            specs.add(new Spec(at + "mlp.down_proj.weight", DType.BF16, new long[] {d, i}));
        }
        specs.add(new Spec("model.norm.weight", DType.BF16, new long[] {d}));
        specs.add(new Spec("lm_head.weight", DType.BF16, new long[] {s.vocab(), d}));
        return specs;
    }

    public static long bytes(Scaled s) {
        return SyntheticModel.bytes(specs(s));
    }

    /** transformers' config.json for the scaled model. */
    public static JsonObject config(Scaled s) {
        Preset p = s.preset();
        JsonObject c = new JsonObject();
        JsonArray arch = new JsonArray();
        arch.add(p.architecture());
        c.add("architectures", arch);
        c.addProperty("model_type", p.modelType());
        c.addProperty("hidden_size", s.hidden());
        c.addProperty("intermediate_size", s.intermediate());
        c.addProperty("num_attention_heads", p.heads());
        c.addProperty("num_key_value_heads", p.kvHeads());
        if (p.writesHeadDim()) c.addProperty("head_dim", s.headDim());
        c.addProperty("num_hidden_layers", s.layers());
        c.addProperty("vocab_size", s.vocab());
        c.addProperty("rms_norm_eps", p.eps());
        c.addProperty("rope_theta", p.ropeTheta());
        c.addProperty("hidden_act", "silu");
        c.addProperty("max_position_embeddings", 4096);
        c.addProperty("tie_word_embeddings", false);
        c.addProperty("torch_dtype", "bfloat16");
        c.addProperty("_offload_synth", "scaled down from " + p.source() + " (hidden " + p.hidden() + ", intermediate " + p.intermediate()
                + ", vocab " + p.vocab() + ", " + p.layers() + " layers) by offload synth --like " + p.like());
        return c;
    }

    /** Writes {@code folder}/config.json and {@code folder}/model.safetensors (the folder is made if missing). */
    public static void write(Path folder, Scaled s, long seed) {
        try {
            Files.createDirectories(folder);
        } catch (IOException e) {
            throw OffloadException.io(folder + ": cannot make the folder", e);
        }
        SafetensorsWriter.write(folder.resolve("model.safetensors"), specs(s), Map.of("format", "pt", "generator", "offload synth --like "
                + s.preset().like()), (spec, target) -> fill(target, spec, seed ^ spec.name().hashCode()));
        byte[] json = (new GsonBuilder().setPrettyPrinting().create().toJson(config(s)) + "\n").getBytes(StandardCharsets.UTF_8);
        AtomicFile.write(folder.resolve("config.json"), "the config", out -> out.write(java.nio.ByteBuffer.wrap(json), 0));
    }

    private static void fill(MemorySegment target, Spec spec, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        String name = spec.name();
        double center = 0, bound;
        if (name.endsWith("norm.weight")) {
            center = 1;
            bound = 0.25;
        } else if (name.endsWith(".bias")) {
            bound = 0.1;
        } else if (name.endsWith("embed_tokens.weight")) {
            bound = 1;
        } else {
            bound = 0.5 / Math.sqrt(spec.shape()[1]);
        }
        long n = target.byteSize() / 2;
        for (long i = 0; i < n; i++) {
            target.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2 * i, Bf16.fromFloat((float) (center + random.nextDouble(-bound, bound))));
        }
    }
}
