package dev.offload.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.checkpoint.Checkpoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each built-in preset against its real model's names (tests/resources/presets): the graph's groups,
 * at one block per group, are the ones the model's forward runs, in its order, each with its tensors
 * in the order the forward uses them; every tensor is in exactly one group. The expected order is
 * written here from the model sources the fixtures cite (diffusers' and transformers' forward
 * methods), module by module; a module's own tensors run weight, then bias.
 */
class PresetFixturesTest {
    @TempDir
    Path dir;

    /** The forward order as the model's source reads: groups of leaf modules, matched to the fixture's names. */
    static final class Forward {
        final Set<String> names;
        final Set<String> used = new HashSet<>();
        final Map<String, List<String>> groups = new LinkedHashMap<>();
        List<String> current;
        String preset;  // the preset's name, for a single-file layout recognised by its names (no config)

        Forward(List<String> names) {
            this.names = new HashSet<>(names);
        }

        Forward group(String name) {
            current = groups.computeIfAbsent(name, k -> new ArrayList<>());
            return this;
        }

        /** One tensor by its whole name (a parameter of its own, not a module's weight or bias). */
        Forward t(String name) {
            if (names.contains(name) && used.add(name)) current.add(name);
            return this;
        }

        /** The module's own tensors: weight, bias. */
        Forward m(String prefix, String... modules) {
            for (String mod : modules) {
                String path = prefix.isEmpty() ? mod : prefix + "." + mod;
                for (String leaf : new String[] {"weight", "bias"}) {
                    String n = path + "." + leaf;
                    if (names.contains(n) && used.add(n)) current.add(n);
                }
            }
            return this;
        }
    }

    void check(String fixture, boolean diffusers, Forward expected) {
        PresetFixtures.Fixture f = PresetFixtures.load(fixture);
        assertFalse(f.source().isBlank(), fixture + " cites its source");
        expected.groups.values().removeIf(List::isEmpty);
        assertEquals(expected.names, expected.used, fixture + ": the model's forward (as written here) uses every tensor of the fixture");
        try (Checkpoint c = Checkpoint.open(PresetFixtures.folder(dir.resolve(fixture), f, diffusers))) {
            BlockGraph g = BlockGraph.discover(c);
            assertEquals("preset " + (f.className().isEmpty() ? expected.preset : f.className()), g.source().toString(), fixture);
            Map<String, List<String>> actual = new LinkedHashMap<>();
            Set<String> seen = new HashSet<>();
            for (GroupSpec s : g.groups(Grouping.blocks(1))) {
                List<String> names = s.tensors().stream().map(TensorRef::name).toList();
                for (String n : names) assertTrue(seen.add(n), fixture + ": " + n + " is in two groups");
                actual.put(s.name(), names);
            }
            assertEquals(expected.names, seen, fixture + ": every tensor is in a group");
            assertEquals(List.copyOf(expected.groups.keySet()), List.copyOf(actual.keySet()), fixture + ": groups in forward order");
            expected.groups.forEach((name, tensors) -> assertEquals(tensors, actual.get(name), fixture + ": group " + name));
        }
    }

    // ---- diffusers UNet2DConditionModel.forward: time (and added) embeddings, conv_in, down, mid, up, conv_norm_out, conv_out ----

    static void resnet(Forward f, String p) {  // ResnetBlock2D.forward
        f.group(p).m(p, "norm1", "conv1", "time_emb_proj", "norm2", "conv2", "conv_shortcut");
    }

    static void transformer2d(Forward f, String p, int layers) {  // Transformer2DModel -> BasicTransformerBlock
        f.group(p).m(p, "norm", "proj_in");
        for (int k = 0; k < layers; k++) {
            String b = p + ".transformer_blocks." + k;
            f.m(b, "norm1", "attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0", "norm2", "attn2.to_q", "attn2.to_k", "attn2.to_v",
                    "attn2.to_out.0", "norm3", "ff.net.0.proj", "ff.net.2");
        }
        f.m(p, "proj_out");
    }

    static Forward unet(List<String> names, boolean[] downAttn, boolean[] upAttn, int[] layers) {
        Forward f = new Forward(names).group("head").m("", "time_embedding.linear_1", "time_embedding.linear_2", "add_embedding.linear_1",
                "add_embedding.linear_2", "conv_in");
        int n = downAttn.length;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < 2; j++) {  // CrossAttnDownBlock2D.forward: resnet, attention, per layer; then the downsampler
                resnet(f, "down_blocks." + i + ".resnets." + j);
                if (downAttn[i]) transformer2d(f, "down_blocks." + i + ".attentions." + j, layers[i]);
            }
            if (i < n - 1) f.group("down_blocks." + i + ".downsamplers.0").m("down_blocks." + i + ".downsamplers.0", "conv");
        }
        resnet(f, "mid_block.resnets.0");  // UNetMidBlock2DCrossAttn: resnets[0], then (attention, resnet) pairs
        transformer2d(f, "mid_block.attentions.0", layers[n - 1]);
        resnet(f, "mid_block.resnets.1");
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < 3; j++) {
                resnet(f, "up_blocks." + i + ".resnets." + j);
                if (upAttn[i]) transformer2d(f, "up_blocks." + i + ".attentions." + j, layers[n - 1 - i]);
            }
            if (i < n - 1) f.group("up_blocks." + i + ".upsamplers.0").m("up_blocks." + i + ".upsamplers.0", "conv");
        }
        return f.group("tail").m("", "conv_norm_out", "conv_out");
    }

    @Test
    void sdxlUnet() {
        check("unet-sdxl", true, unet(PresetFixtures.load("unet-sdxl").names(), new boolean[] {false, true, true},
                new boolean[] {true, true, false}, new int[] {1, 2, 10}));
    }

    @Test
    void sd15Unet() {
        check("unet-sd15", true, unet(PresetFixtures.load("unet-sd15").names(), new boolean[] {true, true, true, false},
                new boolean[] {false, true, true, true}, new int[] {1, 1, 1, 1}));
    }

    // ---- diffusers AutoencoderKL.forward: encode (encoder, quant_conv), decode (post_quant_conv, decoder) ----

    static void vaeResnet(Forward f, String p) {
        f.m(p, "norm1", "conv1", "norm2", "conv2", "conv_shortcut");
    }

    static void vaeMid(Forward f, String p) {  // UNetMidBlock2D: resnets[0], then (attention, resnet)
        f.group(p);
        vaeResnet(f, p + ".resnets.0");
        f.m(p + ".attentions.0", "group_norm", "to_q", "to_k", "to_v", "to_out.0");
        vaeResnet(f, p + ".resnets.1");
    }

    @Test
    void sdxlVae() {
        Forward f = new Forward(PresetFixtures.load("vae-sdxl").names()).group("head").m("encoder", "conv_in");
        for (int i = 0; i < 4; i++) {  // Encoder.forward: conv_in, down blocks, mid block, conv_norm_out, conv_out
            String p = "encoder.down_blocks." + i;
            f.group(p);
            for (int j = 0; j < 2; j++) vaeResnet(f, p + ".resnets." + j);
            f.m(p + ".downsamplers.0", "conv");
        }
        vaeMid(f, "encoder.mid_block");
        f.group("encoder.out").m("encoder", "conv_norm_out", "conv_out");
        f.group("quant_conv").m("", "quant_conv").group("post_quant_conv").m("", "post_quant_conv");
        f.group("decoder.conv_in").m("decoder", "conv_in");  // Decoder.forward: conv_in, mid block, up blocks, conv_norm_out, conv_out
        vaeMid(f, "decoder.mid_block");
        for (int i = 0; i < 4; i++) {
            String p = "decoder.up_blocks." + i;
            f.group(p);
            for (int j = 0; j < 3; j++) vaeResnet(f, p + ".resnets." + j);
            f.m(p + ".upsamplers.0", "conv");
        }
        f.group("tail").m("decoder", "conv_norm_out", "conv_out");
        check("vae-sdxl", true, f);
    }

    // ---- diffusers AutoencoderKLWan: _encode (encoder, quant_conv), _decode (post_quant_conv, decoder) ----

    static void wanResnet(Forward f, String p) {  // WanResidualBlock.forward: h = conv_shortcut(x), norm1, conv1, norm2, conv2
        f.m(p, "conv_shortcut").t(p + ".norm1.gamma").m(p, "conv1").t(p + ".norm2.gamma").m(p, "conv2");
    }

    static void wanMid(Forward f, String p) {  // WanMidBlock: resnets[0], then (attention: norm, to_qkv, proj; resnet)
        f.group(p);
        wanResnet(f, p + ".resnets.0");
        f.t(p + ".attentions.0.norm.gamma").m(p + ".attentions.0", "to_qkv", "proj");
        wanResnet(f, p + ".resnets.1");
    }

    @Test
    void wanVae() {
        Forward f = new Forward(PresetFixtures.load("wan2.1-vae").names()).group("head").m("encoder", "conv_in");
        // WanEncoder3d.forward: conv_in, each down_blocks entry in turn (dim_mult 1,2,4,4 and two residual blocks each:
        // entries 2, 5 and 8 are the resamplers, 5 and 8 with a time conv since temperal_downsample is False, True, True)
        for (int k = 0; k < 11; k++) {
            String p = "encoder.down_blocks." + k;
            f.group(p);
            if (k == 2 || k == 5 || k == 8) f.m(p, "resample.1", "time_conv");  // downsample: the 2-D conv, then the time conv
            else wanResnet(f, p);
        }
        wanMid(f, "encoder.mid_block");
        f.group("encoder.out").t("encoder.norm_out.gamma").m("encoder", "conv_out");
        f.group("quant_conv").m("", "quant_conv").group("post_quant_conv").m("", "post_quant_conv");
        f.group("decoder.conv_in").m("decoder", "conv_in");  // WanDecoder3d.forward: conv_in, mid block, up blocks, norm_out, conv_out
        wanMid(f, "decoder.mid_block");
        for (int i = 0; i < 4; i++) {
            String p = "decoder.up_blocks." + i;
            f.group(p);
            for (int j = 0; j < 3; j++) wanResnet(f, p + ".resnets." + j);
            f.m(p + ".upsamplers.0", "time_conv", "resample.1");  // upsample3d: the time conv, then the 2-D conv
        }
        f.group("tail").t("decoder.norm_out.gamma").m("decoder", "conv_out");
        check("wan2.1-vae", true, f);
    }

    // ---- transformers CLIPTextTransformer.forward: embeddings, encoder layers, final_layer_norm (then the projection) ----

    static Forward clip(String fixture, int layers) {
        Forward f = new Forward(PresetFixtures.load(fixture).names()).group("head")
                .m("text_model.embeddings", "token_embedding", "position_embedding");
        for (int i = 0; i < layers; i++) {  // CLIPEncoderLayer: layer_norm1, self_attn (q, k, v, out), layer_norm2, mlp
            String p = "text_model.encoder.layers." + i;
            f.group(p).m(p, "layer_norm1", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "layer_norm2",
                    "mlp.fc1", "mlp.fc2");
        }
        return f.group("tail").m("text_model", "final_layer_norm").m("", "text_projection");
    }

    @Test
    void clipTextModels() {
        check("clip-l", false, clip("clip-l", 12));
        check("clip-bigg", false, clip("clip-bigg", 32));
    }

    // ---- diffusers FluxTransformer2DModel.forward: x_embedder, time_text_embed, context_embedder, double, single, norm_out, proj_out ----

    @Test
    void flux() {
        Forward f = new Forward(PresetFixtures.load("flux").names()).group("head").m("", "x_embedder");
        for (String e : new String[] {"timestep_embedder", "guidance_embedder", "text_embedder"}) {
            f.m("time_text_embed." + e, "linear_1", "linear_2");
        }
        f.m("", "context_embedder");
        for (int i = 0; i < 19; i++) {  // FluxTransformerBlock: norm1, norm1_context, attention (FluxAttnProcessor), ff, ff_context
            String p = "transformer_blocks." + i;
            f.group(p).m(p, "norm1.linear", "norm1_context.linear", "attn.to_q", "attn.to_k", "attn.to_v", "attn.add_q_proj",
                    "attn.add_k_proj", "attn.add_v_proj", "attn.norm_q", "attn.norm_k", "attn.norm_added_q", "attn.norm_added_k",
                    "attn.to_out.0", "attn.to_add_out", "ff.net.0.proj", "ff.net.2", "ff_context.net.0.proj", "ff_context.net.2");
        }
        for (int i = 0; i < 38; i++) {  // FluxSingleTransformerBlock: norm, proj_mlp, attention, proj_out
            String p = "single_transformer_blocks." + i;
            f.group(p).m(p, "norm.linear", "proj_mlp", "attn.to_q", "attn.to_k", "attn.to_v", "attn.norm_q", "attn.norm_k", "proj_out");
        }
        check("flux", true, f.group("tail").m("", "norm_out.linear", "proj_out"));
    }

    // ---- transformers decoder LMs: embed_tokens, decoder layers, norm, lm_head ----

    static Forward decoderLm(String fixture, int layers) {
        Forward f = new Forward(PresetFixtures.load(fixture).names()).group("head").m("model", "embed_tokens");
        for (int i = 0; i < layers; i++) {  // DecoderLayer: input_layernorm, attention (q, [q_norm], k, [k_norm], v, o), post norm, MLP
            String p = "model.layers." + i;
            f.group(p).m(p, "input_layernorm", "self_attn.q_proj", "self_attn.q_norm", "self_attn.k_proj", "self_attn.k_norm",
                    "self_attn.v_proj", "self_attn.o_proj", "post_attention_layernorm", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj");
        }
        return f.group("tail").m("model", "norm").m("", "lm_head");
    }

    @Test
    void decoderLanguageModels() {
        check("llama-3.1-8b", false, decoderLm("llama-3.1-8b", 32));
        check("mistral-7b", false, decoderLm("mistral-7b", 32));
        check("qwen2-7b", false, decoderLm("qwen2-7b", 28));
        check("qwen3-8b", false, decoderLm("qwen3-8b", 36));
    }

    // ---- transformers Qwen2_5_VLModel.forward: embed_tokens, the vision tower (patch_embed, blocks, merger), layers, norm; lm_head ----

    static Forward qwen25Vl(String fixture, String text, String visual) {
        Forward f = new Forward(PresetFixtures.load(fixture).names()).group("head").m(text, "embed_tokens").m(visual, "patch_embed.proj");
        for (int i = 0; i < 32; i++) {  // Qwen2_5_VLVisionBlock: norm1, attn (qkv, proj), norm2, mlp (gate, up, down)
            String p = visual + ".blocks." + i;
            f.group(p).m(p, "norm1", "attn.qkv", "attn.proj", "norm2", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj");
        }
        f.group(visual + ".merger").m(visual + ".merger", "ln_q", "mlp.0", "mlp.2");  // Qwen2_5_VLPatchMerger
        for (int i = 0; i < 28; i++) {  // Qwen2_5_VLDecoderLayer: input_layernorm, attention (q, k, v, o), post norm, MLP
            String p = text + ".layers." + i;
            f.group(p).m(p, "input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                    "post_attention_layernorm", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj");
        }
        return f.group("tail").m(text, "norm").m("", "lm_head");
    }

    @Test
    void qwen25Vl() {
        check("qwen2.5-vl-7b", false, qwen25Vl("qwen2.5-vl-7b", "model", "visual"));
        check("qwen2.5-vl-7b-v5", false, qwen25Vl("qwen2.5-vl-7b-v5", "model.language_model", "model.visual"));
    }

    // ---- transformers T5 / UMT5 encoders: shared embedding, blocks (self-attention layer, feed-forward layer), final_layer_norm ----

    static Forward t5(String fixture) {
        Forward f = new Forward(PresetFixtures.load(fixture).names()).group("head").m("", "shared");
        for (int i = 0; i < 24; i++) {  // T5Attention: q, k, v, position bias, o; T5LayerFF: layer_norm, wi_0, wi_1, wo
            String p = "encoder.block." + i + ".layer.";
            f.group("encoder.block." + i).m(p + "0", "layer_norm", "SelfAttention.q", "SelfAttention.k", "SelfAttention.v",
                    "SelfAttention.relative_attention_bias", "SelfAttention.o").m(p + "1", "layer_norm", "DenseReluDense.wi_0",
                    "DenseReluDense.wi_1", "DenseReluDense.wo");
        }
        return f.group("tail").m("encoder", "final_layer_norm");
    }

    @Test
    void t5Encoders() {
        check("t5-xxl", false, t5("t5-xxl"));
        check("umt5-xxl", false, t5("umt5-xxl"));
    }

    @Test
    void gpt2() {
        Forward f = new Forward(PresetFixtures.load("gpt2").names()).group("head").m("transformer", "wte", "wpe");
        for (int i = 0; i < 12; i++) {  // GPT2Block: ln_1, attn (c_attn, c_proj), ln_2, mlp (c_fc, c_proj)
            String p = "transformer.h." + i;
            f.group(p).m(p, "ln_1", "attn.c_attn", "attn.c_proj", "ln_2", "mlp.c_fc", "mlp.c_proj");
        }
        check("gpt2", false, f.group("tail").m("transformer", "ln_f"));
    }

    // ---- diffusers SD3Transformer2DModel.forward: pos_embed, time_text_embed, context_embedder, joint blocks, norm_out, proj_out ----

    @Test
    void sd35Large() {
        Forward f = new Forward(PresetFixtures.load("sd35-large").names()).group("head").m("pos_embed", "proj").t("pos_embed.pos_embed");
        f.m("time_text_embed.timestep_embedder", "linear_1", "linear_2").m("time_text_embed.text_embedder", "linear_1", "linear_2")
                .m("", "context_embedder");
        for (int i = 0; i < 38; i++) {  // JointTransformerBlock: norm1, norm1_context, attention (JointAttnProcessor2_0), ff, ff_context
            String p = "transformer_blocks." + i;
            f.group(p).m(p, "norm1.linear", "norm1_context.linear", "attn.to_q", "attn.to_k", "attn.to_v", "attn.norm_q", "attn.norm_k",
                    "attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj", "attn.norm_added_q", "attn.norm_added_k", "attn.to_add_out",
                    "attn.to_out.0", "ff.net.0.proj", "ff.net.2", "ff_context.net.0.proj", "ff_context.net.2");
        }
        check("sd35-large", true, f.group("tail").m("", "norm_out.linear", "proj_out"));
    }

    // ---- diffusers QwenImageTransformer2DModel.forward: img_in, txt_norm, txt_in, time_text_embed, blocks, norm_out, proj_out ----

    @Test
    void qwenImage() {
        Forward f = new Forward(PresetFixtures.load("qwen-image").names()).group("head").m("", "img_in", "txt_norm", "txt_in")
                .m("time_text_embed.timestep_embedder", "linear_1", "linear_2");
        for (int i = 0; i < 60; i++) {  // QwenImageTransformerBlock: img_mod, txt_mod, attention (double stream), img_mlp, txt_mlp
            String p = "transformer_blocks." + i;
            f.group(p).m(p, "img_mod.1", "txt_mod.1", "attn.to_q", "attn.to_k", "attn.to_v", "attn.add_q_proj", "attn.add_k_proj",
                    "attn.add_v_proj", "attn.norm_q", "attn.norm_k", "attn.norm_added_q", "attn.norm_added_k", "attn.to_out.0",
                    "attn.to_add_out", "img_mlp.net.0.proj", "img_mlp.net.2", "txt_mlp.net.0.proj", "txt_mlp.net.2");
        }
        check("qwen-image", true, f.group("tail").m("", "norm_out.linear", "proj_out"));
    }

    // ---- diffusers WanTransformer3DModel.forward: patch_embedding, condition_embedder, blocks, scale_shift_table, norm_out, proj_out ----

    static Forward wan(String fixture, int layers) {
        Forward f = new Forward(PresetFixtures.load(fixture).names()).group("head").m("", "patch_embedding")
                .m("condition_embedder", "time_embedder.linear_1", "time_embedder.linear_2", "time_proj", "text_embedder.linear_1",
                        "text_embedder.linear_2", "image_embedder.norm1", "image_embedder.ff.net.0.proj", "image_embedder.ff.net.2",
                        "image_embedder.norm2");
        for (int i = 0; i < layers; i++) {  // WanTransformerBlock: modulation table, self-attention, norm2, cross-attention (image k/v), ffn
            String p = "blocks." + i;
            f.group(p);
            f.t(p + ".scale_shift_table").m(p, "attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.norm_q", "attn1.norm_k", "attn1.to_out.0", "norm2", "attn2.to_q",
                    "attn2.to_k", "attn2.to_v", "attn2.norm_q", "attn2.norm_k", "attn2.add_k_proj", "attn2.add_v_proj", "attn2.norm_added_k",
                    "attn2.to_out.0", "ffn.net.0.proj", "ffn.net.2");
        }
        return f.group("tail").t("scale_shift_table").m("", "proj_out");
    }

    @Test
    void wanTransformers() {
        check("wan2.1-t2v-1.3b", true, wan("wan2.1-t2v-1.3b", 30));
        check("wan2.1-i2v-14b", true, wan("wan2.1-i2v-14b", 40));
    }

    // ---- original single-file layouts, recognised by their names (no config.json) ----

    @Test
    void fluxAsBflShipsIt() {  // black-forest-labs/flux Flux.forward: img_in, time_in, guidance_in, vector_in, txt_in, blocks, final_layer
        Forward f = new Forward(PresetFixtures.load("flux-bfl").names()).group("head").m("", "img_in", "time_in.in_layer", "time_in.out_layer",
                "guidance_in.in_layer", "guidance_in.out_layer", "vector_in.in_layer", "vector_in.out_layer", "txt_in");
        f.preset = "Flux (BFL single file)";
        for (int i = 0; i < 19; i++) {  // DoubleStreamBlock: both modulations, both q/k/v with their norms, then each stream's proj and MLP
            String p = "double_blocks." + i;
            f.group(p).m(p, "img_mod.lin", "txt_mod.lin", "img_attn.qkv").t(p + ".img_attn.norm.query_norm.scale").t(p + ".img_attn.norm.key_norm.scale")
                    .m(p, "txt_attn.qkv").t(p + ".txt_attn.norm.query_norm.scale").t(p + ".txt_attn.norm.key_norm.scale")
                    .m(p, "img_attn.proj", "img_mlp.0", "img_mlp.2", "txt_attn.proj", "txt_mlp.0", "txt_mlp.2");
        }
        for (int i = 0; i < 38; i++) {  // SingleStreamBlock: modulation, linear1, q/k norm, linear2
            String p = "single_blocks." + i;
            f.group(p).m(p, "modulation.lin", "linear1").t(p + ".norm.query_norm.scale").t(p + ".norm.key_norm.scale").m(p, "linear2");
        }
        check("flux-bfl", false, f.group("tail").m("final_layer", "adaLN_modulation.1", "linear"));
    }

    @Test
    void wanAsWanAiShipsIt() {  // Wan2.1 WanModel.forward: patch, time embedding and projection, text embedding, blocks, head
        Forward f = new Forward(PresetFixtures.load("wan2.1-original-1.3b").names()).group("head")
                .m("", "patch_embedding", "time_embedding.0", "time_embedding.2", "time_projection.1", "text_embedding.0", "text_embedding.2");
        f.preset = "Wan (original single file)";
        for (int i = 0; i < 30; i++) {  // WanAttentionBlock: modulation, self-attention (q, norm_q, k, norm_k, v, o), norm3, cross-attention, ffn
            String p = "blocks." + i;
            f.group(p).t(p + ".modulation").m(p, "self_attn.q", "self_attn.norm_q", "self_attn.k", "self_attn.norm_k", "self_attn.v", "self_attn.o",
                    "norm3", "cross_attn.q", "cross_attn.norm_q", "cross_attn.k", "cross_attn.norm_k", "cross_attn.v", "cross_attn.o", "ffn.0", "ffn.2");
        }
        check("wan2.1-original-1.3b", false, f.group("tail").t("head.modulation").m("head", "head"));
    }
    /** openaimodel.py ResBlock._forward: in_layers (norm, conv), emb_layers, out_layers (norm, conv), skip_connection. */
    static void ldmRes(Forward f, String p) {
        f.group(p).m(p, "in_layers.0", "in_layers.2", "emb_layers.1", "out_layers.0", "out_layers.3", "skip_connection");
    }

    /** attention.py SpatialTransformer.forward: norm, proj_in, each block (norm1, attn1, norm2, attn2, norm3, ff), proj_out. */
    static void ldmSpatial(Forward f, String p, int layers) {
        f.group(p).m(p, "norm", "proj_in");
        for (int k = 0; k < layers; k++) {
            String b = p + ".transformer_blocks." + k;
            f.m(b, "norm1", "attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0", "norm2", "attn2.to_q", "attn2.to_k", "attn2.to_v", "attn2.to_out.0",
                    "norm3", "ff.net.0.proj", "ff.net.2");
        }
        f.m(p, "proj_out");
    }

    /** UNetModel.forward: time_embed, label_emb, input_blocks in order, middle_block, output_blocks in order, out. */
    void ldmUnet(String fixture, int[] depth, int middleDepth) {
        Forward f = new Forward(PresetFixtures.load(fixture).names()).group("head").m("", "time_embed.0", "time_embed.2", "label_emb.0.0", "label_emb.0.2", "input_blocks.0.0");
        f.preset = "SD/SDXL UNet (original single file)";
        int idx = 1, levels = depth.length;
        for (int level = 0; level < levels; level++) {
            for (int j = 0; j < 2; j++, idx++) {
                ldmRes(f, "input_blocks." + idx + ".0");
                if (depth[level] > 0) ldmSpatial(f, "input_blocks." + idx + ".1", depth[level]);
            }
            if (level < levels - 1) f.group("input_blocks." + idx + ".0").m("input_blocks." + idx + ".0", "op");
            if (level < levels - 1) idx++;
        }
        ldmRes(f, "middle_block.0");
        ldmSpatial(f, "middle_block.1", middleDepth);
        ldmRes(f, "middle_block.2");
        idx = 0;
        for (int level = levels - 1; level >= 0; level--) {
            for (int j = 0; j < 3; j++, idx++) {
                ldmRes(f, "output_blocks." + idx + ".0");
                int k = 1;
                if (depth[level] > 0) ldmSpatial(f, "output_blocks." + idx + "." + k++, depth[level]);
                if (level > 0 && j == 2) f.group("output_blocks." + idx + "." + k).m("output_blocks." + idx + "." + k, "conv");
            }
        }
        check(fixture, false, f.group("tail").m("", "out.0", "out.2"));
    }

    @Test
    void sdxlUnetAsTheSingleFileHasIt() {
        ldmUnet("ldm-unet-sdxl", new int[] {0, 2, 10}, 10);
    }

    @Test
    void sd15UnetAsTheSingleFileHasIt() {
        ldmUnet("ldm-unet-sd15", new int[] {1, 1, 1, 0}, 1);
    }

    @Test
    void ldmVaeRunsTheDecoderUpBlocksFromTheHighestDown() {  // Encoder.forward, quant_conv, post_quant_conv, Decoder.forward (reversed(range(num_resolutions)))
        Forward f = new Forward(PresetFixtures.load("ldm-vae").names()).group("head").m("encoder", "conv_in");
        f.preset = "LDM VAE (original single file)";
        String[] res = {"norm1", "conv1", "norm2", "conv2", "nin_shortcut"};
        for (int l = 0; l < 4; l++) {
            f.group("encoder.down." + l);
            for (int j = 0; j < 2; j++) f.m("encoder.down." + l + ".block." + j, res);
            f.m("encoder.down." + l, "downsample.conv");
        }
        f.group("encoder.mid").m("encoder.mid.block_1", res).m("encoder.mid.attn_1", "norm", "q", "k", "v", "proj_out").m("encoder.mid.block_2", res);
        f.group("encoder.out").m("encoder", "norm_out", "conv_out");
        f.group("quant_conv").m("", "quant_conv").group("post_quant_conv").m("", "post_quant_conv");
        f.group("decoder.conv_in").m("decoder", "conv_in");
        f.group("decoder.mid").m("decoder.mid.block_1", res).m("decoder.mid.attn_1", "norm", "q", "k", "v", "proj_out").m("decoder.mid.block_2", res);
        for (int l = 3; l >= 0; l--) {
            f.group("decoder.up." + l);
            for (int j = 0; j < 3; j++) f.m("decoder.up." + l + ".block." + j, res);
            f.m("decoder.up." + l, "upsample.conv");
        }
        check("ldm-vae", false, f.group("tail").m("decoder", "norm_out", "conv_out"));
    }

    @Test
    void sdxlConditionerClipL() {  // FrozenCLIPEmbedder: CLIPTextModel's forward under transformer.
        Forward f = new Forward(PresetFixtures.load("ldm-clip-l").names()).group("head")
                .m("transformer.text_model.embeddings", "token_embedding", "position_embedding");
        f.preset = "CLIP text (original single file)";
        for (int i = 0; i < 12; i++) {
            String p = "transformer.text_model.encoder.layers." + i;
            f.group(p).m(p, "layer_norm1", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "layer_norm2", "mlp.fc1", "mlp.fc2");
        }
        check("ldm-clip-l", false, f.group("tail").m("transformer.text_model", "final_layer_norm"));
    }

    @Test
    void sdxlConditionerOpenClipBigG() {  // open_clip encode_text: token_embedding + positional_embedding, resblocks, ln_final, @ text_projection
        Forward f = new Forward(PresetFixtures.load("ldm-openclip-bigg").names()).group("head").m("model", "token_embedding").t("model.positional_embedding");
        f.preset = "OpenCLIP text (original single file)";
        for (int i = 0; i < 32; i++) {
            String p = "model.transformer.resblocks." + i;
            f.group(p).m(p, "ln_1").t(p + ".attn.in_proj_weight").t(p + ".attn.in_proj_bias").m(p, "attn.out_proj", "ln_2", "mlp.c_fc", "mlp.c_proj");
        }
        check("ldm-openclip-bigg", false, f.group("tail").m("model", "ln_final").t("model.text_projection").t("model.logit_scale"));
    }
}
