package dev.offload.checkpoint;

import java.util.ArrayList;
import java.util.List;

/**
 * The real parameter names and block counts of the models users stream, with hidden sizes shrunk to
 * {@link #D} so the files are a few hundred KiB: Flux (diffusers and the original BFL file), Wan 2.x,
 * Qwen-Image, SD3.5, Llama, Mistral, GPT-2, and the parts of a pipeline or bundle around them (CLIP-L
 * and T5 text encoders, VAEs in diffusers and ldm naming).
 */
public final class ModelZoo {
    public static final int D = 8;

    private ModelZoo() {}

    /** Collects tensor specs: {@code lin} adds a weight and a bias, {@code w} one tensor. */
    public static final class Specs {
        public final List<SafetensorsWriter.Spec> list = new ArrayList<>();
        DType dtype = DType.BF16;

        public Specs w(String name, long... shape) {
            list.add(new SafetensorsWriter.Spec(name, dtype, shape));
            return this;
        }

        Specs lin(String name, long out, long in) {
            return w(name + ".weight", out, in).w(name + ".bias", out);
        }

        Specs linNoBias(String name, long out, long in) {
            return w(name + ".weight", out, in);
        }

        public Specs prefixed(String prefix, List<SafetensorsWriter.Spec> specs) {
            for (SafetensorsWriter.Spec s : specs) list.add(new SafetensorsWriter.Spec(prefix + s.name(), s.dtype(), s.shape()));
            return this;
        }
    }

    /** diffusers FluxTransformer2DModel: 19 double-stream and 38 single-stream blocks. */
    public static List<SafetensorsWriter.Spec> fluxDiffusers() {
        Specs s = new Specs();
        s.lin("x_embedder", D, 64).lin("context_embedder", D, 64);
        for (String e : new String[] {"timestep_embedder", "guidance_embedder", "text_embedder"}) {
            s.lin("time_text_embed." + e + ".linear_1", D, 16).lin("time_text_embed." + e + ".linear_2", D, D);
        }
        for (int i = 0; i < 19; i++) {
            String p = "transformer_blocks." + i + ".";
            s.lin(p + "norm1.linear", 6 * D, D).lin(p + "norm1_context.linear", 6 * D, D);
            for (String a : new String[] {"to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj", "to_out.0", "to_add_out"}) {
                s.lin(p + "attn." + a, D, D);
            }
            for (String n : new String[] {"norm_q", "norm_k", "norm_added_q", "norm_added_k"}) s.w(p + "attn." + n + ".weight", D / 2);
            s.lin(p + "ff.net.0.proj", 4 * D, D).lin(p + "ff.net.2", D, 4 * D);
            s.lin(p + "ff_context.net.0.proj", 4 * D, D).lin(p + "ff_context.net.2", D, 4 * D);
        }
        for (int i = 0; i < 38; i++) {
            String p = "single_transformer_blocks." + i + ".";
            s.lin(p + "norm.linear", 3 * D, D).lin(p + "proj_mlp", 4 * D, D).lin(p + "proj_out", D, 5 * D);
            for (String a : new String[] {"to_q", "to_k", "to_v"}) s.lin(p + "attn." + a, D, D);
            s.w(p + "attn.norm_q.weight", D / 2).w(p + "attn.norm_k.weight", D / 2);
        }
        s.lin("norm_out.linear", 2 * D, D).lin("proj_out", 64, D);
        return s.list;
    }

    /** The original BFL flux1-dev.safetensors: double_blocks.0-18, single_blocks.0-37. */
    public static List<SafetensorsWriter.Spec> fluxOriginal() {
        Specs s = new Specs();
        s.lin("img_in", D, 64).lin("txt_in", D, 64);
        for (String e : new String[] {"time_in", "vector_in", "guidance_in"}) s.lin(e + ".in_layer", D, 16).lin(e + ".out_layer", D, D);
        for (int i = 0; i < 19; i++) {
            for (String side : new String[] {"img", "txt"}) {
                String p = "double_blocks." + i + "." + side + "_";
                s.lin(p + "mod.lin", 6 * D, D).lin(p + "attn.qkv", 3 * D, D).lin(p + "attn.proj", D, D);
                s.w(p + "attn.norm.query_norm.scale", D / 2).w(p + "attn.norm.key_norm.scale", D / 2);
                s.lin(p + "mlp.0", 4 * D, D).lin(p + "mlp.2", D, 4 * D);
            }
        }
        for (int i = 0; i < 38; i++) {
            String p = "single_blocks." + i + ".";
            s.lin(p + "linear1", 7 * D, D).lin(p + "linear2", D, 5 * D).lin(p + "modulation.lin", 3 * D, D);
            s.w(p + "norm.query_norm.scale", D / 2).w(p + "norm.key_norm.scale", D / 2);
        }
        s.lin("final_layer.linear", 64, D).lin("final_layer.adaLN_modulation.1", 2 * D, D);
        return s.list;
    }

    /** Wan 2.x as Wan-AI ships it (the original names): blocks.0-29 (1.3B) or 0-39 (14B). */
    public static List<SafetensorsWriter.Spec> wan(int blocks) {
        Specs s = new Specs();
        s.w("patch_embedding.weight", D, 16, 1, 2, 2).w("patch_embedding.bias", D);
        s.lin("text_embedding.0", D, 32).lin("text_embedding.2", D, D);
        s.lin("time_embedding.0", D, 16).lin("time_embedding.2", D, D).lin("time_projection.1", 6 * D, D);
        for (int i = 0; i < blocks; i++) {
            String p = "blocks." + i + ".";
            for (String attn : new String[] {"self_attn", "cross_attn"}) {
                for (String x : new String[] {"q", "k", "v", "o"}) s.lin(p + attn + "." + x, D, D);
                s.w(p + attn + ".norm_q.weight", D).w(p + attn + ".norm_k.weight", D);
            }
            s.w(p + "norm3.weight", D).w(p + "norm3.bias", D);
            s.lin(p + "ffn.0", 4 * D, D).lin(p + "ffn.2", D, 4 * D);
            s.w(p + "modulation", 1, 6, D);
        }
        s.lin("head.head", 64, D).w("head.modulation", 1, 2, D);
        return s.list;
    }

    /** diffusers QwenImageTransformer2DModel: transformer_blocks.0-59. */
    public static List<SafetensorsWriter.Spec> qwenImage() {
        Specs s = new Specs();
        s.lin("img_in", D, 64).w("txt_norm.weight", D).lin("txt_in", D, D);
        s.lin("time_text_embed.timestep_embedder.linear_1", D, 16).lin("time_text_embed.timestep_embedder.linear_2", D, D);
        for (int i = 0; i < 60; i++) {
            String p = "transformer_blocks." + i + ".";
            s.lin(p + "img_mod.1", 6 * D, D).lin(p + "txt_mod.1", 6 * D, D);
            for (String a : new String[] {"to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj", "to_out.0", "to_add_out"}) {
                s.lin(p + "attn." + a, D, D);
            }
            for (String n : new String[] {"norm_q", "norm_k", "norm_added_q", "norm_added_k"}) s.w(p + "attn." + n + ".weight", D / 2);
            s.lin(p + "img_mlp.net.0.proj", 4 * D, D).lin(p + "img_mlp.net.2", D, 4 * D);
            s.lin(p + "txt_mlp.net.0.proj", 4 * D, D).lin(p + "txt_mlp.net.2", D, 4 * D);
        }
        s.lin("norm_out.linear", 2 * D, D).lin("proj_out", 64, D);
        return s.list;
    }

    /** diffusers SD3Transformer2DModel (SD3.5 Large): transformer_blocks.0-37, joint attention; the last block is context_pre_only. */
    public static List<SafetensorsWriter.Spec> sd35() {
        Specs s = new Specs();
        s.w("pos_embed.proj.weight", D, 16, 2, 2).w("pos_embed.proj.bias", D);
        s.lin("time_text_embed.timestep_embedder.linear_1", D, 16).lin("time_text_embed.timestep_embedder.linear_2", D, D);
        s.lin("time_text_embed.text_embedder.linear_1", D, 32).lin("time_text_embed.text_embedder.linear_2", D, D);
        s.lin("context_embedder", D, 64);
        for (int i = 0; i < 38; i++) {
            String p = "transformer_blocks." + i + ".";
            boolean last = i == 37;
            s.lin(p + "norm1.linear", 6 * D, D).lin(p + "norm1_context.linear", (last ? 2 : 6) * D, D);
            for (String a : new String[] {"to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj", "to_out.0"}) s.lin(p + "attn." + a, D, D);
            if (!last) s.lin(p + "attn.to_add_out", D, D);
            for (String n : new String[] {"norm_q", "norm_k", "norm_added_q", "norm_added_k"}) s.w(p + "attn." + n + ".weight", D / 2);
            s.lin(p + "ff.net.0.proj", 4 * D, D).lin(p + "ff.net.2", D, 4 * D);
            if (!last) s.lin(p + "ff_context.net.0.proj", 4 * D, D).lin(p + "ff_context.net.2", D, 4 * D);
        }
        s.lin("norm_out.linear", 2 * D, D).lin("proj_out", 64, D);
        return s.list;
    }

    /** Llama / Mistral (transformers): model.layers.0-31; Mistral's k and v are narrower (grouped-query attention). */
    public static List<SafetensorsWriter.Spec> llama(int layers, int kvDim) {
        Specs s = new Specs();
        s.linNoBias("model.embed_tokens", 64, D);
        for (int i = 0; i < layers; i++) {
            String p = "model.layers." + i + ".";
            s.linNoBias(p + "self_attn.q_proj", D, D).linNoBias(p + "self_attn.k_proj", kvDim, D)
                    .linNoBias(p + "self_attn.v_proj", kvDim, D).linNoBias(p + "self_attn.o_proj", D, D);
            s.linNoBias(p + "mlp.gate_proj", 3 * D, D).linNoBias(p + "mlp.up_proj", 3 * D, D).linNoBias(p + "mlp.down_proj", D, 3 * D);
            s.w(p + "input_layernorm.weight", D).w(p + "post_attention_layernorm.weight", D);
        }
        s.w("model.norm.weight", D).linNoBias("lm_head", 64, D);
        return s.list;
    }

    /** GPT-2 small: transformer.h.0-11 (Conv1D weights are [in, out]). */
    public static List<SafetensorsWriter.Spec> gpt2() {
        Specs s = new Specs();
        s.dtype = DType.F32;
        s.w("transformer.wte.weight", 64, D).w("transformer.wpe.weight", 32, D);
        for (int i = 0; i < 12; i++) {
            String p = "transformer.h." + i + ".";
            s.w(p + "ln_1.weight", D).w(p + "ln_1.bias", D);
            s.w(p + "attn.c_attn.weight", D, 3 * D).w(p + "attn.c_attn.bias", 3 * D);
            s.w(p + "attn.c_proj.weight", D, D).w(p + "attn.c_proj.bias", D);
            s.w(p + "ln_2.weight", D).w(p + "ln_2.bias", D);
            s.w(p + "mlp.c_fc.weight", D, 4 * D).w(p + "mlp.c_fc.bias", 4 * D);
            s.w(p + "mlp.c_proj.weight", 4 * D, D).w(p + "mlp.c_proj.bias", D);
        }
        s.w("transformer.ln_f.weight", D).w("transformer.ln_f.bias", D);
        return s.list;
    }

    /** transformers CLIPTextModel (CLIP-L): text_model.encoder.layers.0-11. */
    public static List<SafetensorsWriter.Spec> clipL() {
        Specs s = new Specs();
        s.dtype = DType.F16;
        s.w("text_model.embeddings.token_embedding.weight", 64, D).w("text_model.embeddings.position_embedding.weight", 16, D);
        for (int i = 0; i < 12; i++) {
            String p = "text_model.encoder.layers." + i + ".";
            for (String a : new String[] {"q_proj", "k_proj", "v_proj", "out_proj"}) s.lin(p + "self_attn." + a, D, D);
            s.w(p + "layer_norm1.weight", D).w(p + "layer_norm1.bias", D).w(p + "layer_norm2.weight", D).w(p + "layer_norm2.bias", D);
            s.lin(p + "mlp.fc1", 4 * D, D).lin(p + "mlp.fc2", D, 4 * D);
        }
        s.w("text_model.final_layer_norm.weight", D).w("text_model.final_layer_norm.bias", D);
        return s.list;
    }

    /** transformers T5EncoderModel (T5-XXL): encoder.block.0-23. */
    public static List<SafetensorsWriter.Spec> t5Encoder() {
        Specs s = new Specs();
        s.w("shared.weight", 64, D).w("encoder.embed_tokens.weight", 64, D);
        for (int i = 0; i < 24; i++) {
            String p = "encoder.block." + i + ".layer.";
            for (String x : new String[] {"q", "k", "v", "o"}) s.linNoBias(p + "0.SelfAttention." + x, D, D);
            if (i == 0) s.w(p + "0.SelfAttention.relative_attention_bias.weight", 32, 4);
            s.w(p + "0.layer_norm.weight", D);
            s.linNoBias(p + "1.DenseReluDense.wi_0", 3 * D, D).linNoBias(p + "1.DenseReluDense.wi_1", 3 * D, D)
                    .linNoBias(p + "1.DenseReluDense.wo", D, 3 * D);
            s.w(p + "1.layer_norm.weight", D);
        }
        s.w("encoder.final_layer_norm.weight", D);
        return s.list;
    }

    /** diffusers AutoencoderKL: encoder.down_blocks.0-3, decoder.up_blocks.0-3, mid blocks with two resnets. */
    public static List<SafetensorsWriter.Spec> vaeDiffusers() {
        Specs s = new Specs();
        for (String side : new String[] {"encoder", "decoder"}) {
            s.w(side + ".conv_in.weight", D, 4, 3, 3).w(side + ".conv_in.bias", D);
            String blocks = side.equals("encoder") ? ".down_blocks." : ".up_blocks.";
            for (int b = 0; b < 4; b++) {
                for (int r = 0; r < (side.equals("encoder") ? 2 : 3); r++) resnet(s, side + blocks + b + ".resnets." + r + ".");
                if (b < 3) s.w(side + blocks + b + (side.equals("encoder") ? ".downsamplers.0.conv.weight" : ".upsamplers.0.conv.weight"), D, D, 3, 3);
            }
            for (int r = 0; r < 2; r++) resnet(s, side + ".mid_block.resnets." + r + ".");
            for (String a : new String[] {"to_q", "to_k", "to_v", "to_out.0"}) s.lin(side + ".mid_block.attentions.0." + a, D, D);
            s.w(side + ".conv_norm_out.weight", D).w(side + ".conv_norm_out.bias", D).w(side + ".conv_out.weight", 4, D, 3, 3);
        }
        return s.list;
    }

    /** The ldm VAE of original releases and bundles: encoder.down.0-3, decoder.up.0-3. */
    public static List<SafetensorsWriter.Spec> vaeLdm() {
        Specs s = new Specs();
        for (String side : new String[] {"encoder", "decoder"}) {
            s.w(side + ".conv_in.weight", D, 4, 3, 3).w(side + ".conv_in.bias", D);
            String blocks = side.equals("encoder") ? ".down." : ".up.";
            for (int b = 0; b < 4; b++) {
                for (int r = 0; r < (side.equals("encoder") ? 2 : 3); r++) resnet(s, side + blocks + b + ".block." + r + ".");
            }
            resnet(s, side + ".mid.block_1.");
            resnet(s, side + ".mid.block_2.");
            s.w(side + ".norm_out.weight", D).w(side + ".norm_out.bias", D).w(side + ".conv_out.weight", 4, D, 3, 3);
        }
        return s.list;
    }

    private static void resnet(Specs s, String p) {
        s.w(p + "norm1.weight", D).w(p + "norm1.bias", D).w(p + "conv1.weight", D, D, 3, 3).w(p + "conv1.bias", D);
        s.w(p + "norm2.weight", D).w(p + "norm2.bias", D).w(p + "conv2.weight", D, D, 3, 3).w(p + "conv2.bias", D);
    }
}
