package dev.offload.graph;

import java.util.ArrayList;
import java.util.List;

/**
 * The block graph presets that ship with the library, as data ({@link BlockGraphPreset}'s JSON form),
 * each written from the model's module source (diffusers at 58eb52c0, transformers' modeling files)
 * and checked by a names-only fixture of the real model (tests/resources/presets).
 *
 * <p>Grouping choices: a UNet's blocks are the modules its forward calls one after another (each
 * resnet, attention and sampler of a down, mid or up block), since a whole SDXL up block is a third
 * of the model; a VAE's are its down, mid and up blocks; transformers' are their layers.
 */
final class BuiltinPresets {
    private BuiltinPresets() {}

    static final String UNET_2D_CONDITION = """
        {"classes": ["UNet2DConditionModel"],
         "defs": {
           "resnet": ["norm1", "conv1", "time_emb_proj", "norm2", "conv2", "conv_shortcut"],
           "attention": ["to_q", "to_k", "to_v", "to_out"],
           "transformer": ["norm", "proj_in", {"at": "transformer_blocks.#", "order": [
               "norm1", {"at": "attn1", "order": "@attention"}, "norm2", {"at": "attn2", "order": "@attention"},
               "norm3", {"at": "ff", "order": ["net.0", "net.2"]}]}, "proj_out"],
           "sampler": ["conv"]},
         "order": [
           "time_embedding", "class_embedding", "add_embedding", "encoder_hid_proj", "conv_in", "position_net",
           {"at": "down_blocks.#", "order": [
             {"zip": [{"at": "resnets.#", "unit": "down_blocks", "order": "@resnet"},
                      {"at": "attentions.#", "unit": "down_blocks", "order": "@transformer"}]},
             {"at": "downsamplers.#", "unit": "down_blocks", "order": "@sampler"}]},
           {"at": "mid_block", "order": [
             {"zip": [{"at": "resnets.#", "unit": "mid_block", "order": "@resnet"},
                      {"at": "attentions.#", "unit": "mid_block", "order": "@transformer"}]}]},
           {"at": "up_blocks.#", "order": [
             {"zip": [{"at": "resnets.#", "unit": "up_blocks", "order": "@resnet"},
                      {"at": "attentions.#", "unit": "up_blocks", "order": "@transformer"}]},
             {"at": "upsamplers.#", "unit": "up_blocks", "order": "@sampler"}]},
           "conv_norm_out", "conv_out"]}
        """;

    static final String AUTOENCODER_KL = """
        {"classes": ["AutoencoderKL"],
         "defs": {
           "resnet": ["norm1", "conv1", "norm2", "conv2", "conv_shortcut"],
           "mid": [{"zip": [{"at": "resnets.#", "order": "@resnet"},
                            {"at": "attentions.#", "order": ["group_norm", "to_q", "to_k", "to_v", "to_out"]}]}]},
         "order": [
           {"at": "encoder", "order": [
             "conv_in",
             {"at": "down_blocks.#", "unit": "encoder", "order": [{"at": "resnets.#", "order": "@resnet"}, {"at": "downsamplers.#", "order": ["conv"]}]},
             {"at": "mid_block", "unit": "encoder", "order": "@mid"},
             {"at": "conv_norm_out", "unit": "encoder", "name": "encoder.out"},
             {"at": "conv_out", "unit": "encoder", "name": "encoder.out"}]},
           {"at": "quant_conv", "unit": "quant_conv"},
           {"at": "post_quant_conv", "unit": "post_quant_conv"},
           {"at": "decoder", "order": [
             {"at": "conv_in", "unit": "decoder"},
             {"at": "mid_block", "unit": "decoder", "order": "@mid"},
             {"at": "up_blocks.#", "unit": "decoder", "order": [{"at": "resnets.#", "order": "@resnet"}, {"at": "upsamplers.#", "order": ["conv"]}]},
             "conv_norm_out", "conv_out"]}]}
        """;

    /**
     * diffusers autoencoder_kl_wan.py: the encoder's down_blocks is one flat list (residual blocks and
     * resamplers, each its own block); a residual block runs its shortcut first; a downsampler its 2-D
     * conv then its time conv, an upsampler the other way round. The is_residual layout (Wan 2.2's
     * resnets/downsampler/upsampler) is named too, from the same source, but no fixture checks it.
     */
    static final String AUTOENCODER_KL_WAN = """
        {"classes": ["AutoencoderKLWan"],
         "defs": {
           "resnet": ["conv_shortcut", "norm1", "conv1", "norm2", "conv2"],
           "attention": ["norm", "to_qkv", "proj"],
           "mid": [{"zip": [{"at": "resnets.#", "order": "@resnet"}, {"at": "attentions.#", "order": "@attention"}]}],
           "up": ["time_conv", "resample"]},
         "order": [
           {"at": "encoder", "order": [
             "conv_in",
             {"at": "down_blocks.#", "unit": "encoder", "order": [
               "conv_shortcut", "norm1", "conv1", "norm2", "conv2", "norm", "to_qkv", "proj", "resample", "time_conv",
               {"at": "resnets.#", "order": "@resnet"}, {"at": "downsampler", "order": ["resample", "time_conv"]}]},
             {"at": "mid_block", "unit": "encoder", "order": "@mid"},
             {"at": "norm_out", "unit": "encoder", "name": "encoder.out"},
             {"at": "conv_out", "unit": "encoder", "name": "encoder.out"}]},
           {"at": "quant_conv", "unit": "quant_conv"},
           {"at": "post_quant_conv", "unit": "post_quant_conv"},
           {"at": "decoder", "order": [
             {"at": "conv_in", "unit": "decoder"},
             {"at": "mid_block", "unit": "decoder", "order": "@mid"},
             {"at": "up_blocks.#", "unit": "decoder", "order": [
               {"at": "resnets.#", "order": "@resnet"}, {"at": "upsamplers.#", "order": "@up"}, {"at": "upsampler", "order": "@up"}]},
             "norm_out", "conv_out"]}]}
        """;

    static final String CLIP_TEXT = """
        {"classes": ["CLIPTextModel", "CLIPTextModelWithProjection"],
         "order": [
           {"at": "text_model", "order": [
             {"at": "embeddings", "order": ["token_embedding", "position_embedding"]},
             {"at": "encoder.layers.#", "unit": "text_model.encoder.layers", "order": [
               "layer_norm1", {"at": "self_attn", "order": ["q_proj", "k_proj", "v_proj", "out_proj"]},
               "layer_norm2", {"at": "mlp", "order": ["fc1", "fc2"]}]},
             "final_layer_norm"]},
           "text_projection"]}
        """;

    static final String FLUX = """
        {"classes": ["FluxTransformer2DModel"],
         "defs": {"attention": ["to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj", "norm_q", "norm_k",
                                "norm_added_q", "norm_added_k", "to_out", "to_add_out"]},
         "order": [
           "x_embedder",
           {"at": "time_text_embed", "order": ["timestep_embedder", "guidance_embedder", "text_embedder"]},
           "context_embedder",
           {"at": "transformer_blocks.#", "unit": "transformer_blocks", "order": [
             "norm1", "norm1_context", {"at": "attn", "order": "@attention"}, "ff", "ff_context"]},
           {"at": "single_transformer_blocks.#", "unit": "single_transformer_blocks", "order": [
             "norm", "proj_mlp", {"at": "attn", "order": "@attention"}, "proj_out"]},
           "norm_out", "proj_out"]}
        """;

    static final String DECODER_LM = """
        {"classes": ["LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"],
         "order": [
           {"at": "model", "order": [
             "embed_tokens",
             {"at": "layers.#", "unit": "model.layers", "order": [
               "input_layernorm",
               {"at": "self_attn", "order": ["q_proj", "q_norm", "k_proj", "k_norm", "v_proj", "o_proj"]},
               "post_attention_layernorm",
               {"at": "mlp", "order": ["gate_proj", "up_proj", "down_proj"]}]},
             "norm"]},
           "lm_head"]}
        """;

    /**
     * transformers modeling_qwen2_5_vl.py: the token embeddings, then (when the prompt has images or
     * video) the vision tower (patch_embed, blocks, merger), then the decoder layers, norm, lm_head;
     * the Hub checkpoint's names (visual.*, model.*) and transformers 4.52+'s (model.visual.*,
     * model.language_model.*). The vision blocks and merger are a block list of their own, so a
     * text-only engine skips those groups.
     */
    static final String QWEN2_5_VL = """
        {"classes": ["Qwen2_5_VLForConditionalGeneration"],
         "defs": {
           "vision": [
             "patch_embed",
             {"at": "blocks.#", "unit": "visual", "order": [
               "norm1", {"at": "attn", "order": ["qkv", "proj"]}, "norm2", {"at": "mlp", "order": ["gate_proj", "up_proj", "down_proj"]}]},
             {"at": "merger", "unit": "visual", "order": ["ln_q", "mlp.0", "mlp.2"]}],
           "layer": [
             "input_layernorm", {"at": "self_attn", "order": ["q_proj", "k_proj", "v_proj", "o_proj"]},
             "post_attention_layernorm", {"at": "mlp", "order": ["gate_proj", "up_proj", "down_proj"]}]},
         "order": [
           "model.embed_tokens", "model.language_model.embed_tokens",
           {"at": "visual", "order": "@vision"}, {"at": "model.visual", "order": "@vision"},
           {"at": "model.layers.#", "unit": "model.layers", "order": "@layer"},
           {"at": "model.language_model.layers.#", "unit": "model.language_model.layers", "order": "@layer"},
           "model.norm", "model.language_model.norm", "lm_head"]}
        """;

    static final String T5_ENCODER = """
        {"classes": ["T5EncoderModel", "UMT5EncoderModel"],
         "order": [
           "shared",
           {"at": "encoder", "order": [
             "embed_tokens",
             {"at": "block.#", "unit": "encoder.block", "order": [
               {"at": "layer.0", "order": ["layer_norm", {"at": "SelfAttention", "order": ["q", "k", "v", "relative_attention_bias", "o"]}]},
               {"at": "layer.1", "order": ["layer_norm", {"at": "DenseReluDense", "order": ["wi", "wi_0", "wi_1", "wo"]}]}]},
             "final_layer_norm"]}]}
        """;

    static final String GPT2 = """
        {"classes": ["GPT2LMHeadModel"],
         "defs": {"block": ["ln_1", {"at": "attn", "order": ["c_attn", "c_proj"]}, "ln_2", {"at": "mlp", "order": ["c_fc", "c_proj"]}]},
         "order": [
           "transformer.wte", "transformer.wpe", "wte", "wpe",
           {"at": "transformer.h.#", "unit": "transformer.h", "order": "@block"},
           {"at": "h.#", "unit": "h", "order": "@block"},
           "transformer.ln_f", "ln_f", "lm_head"]}
        """;

    static final String SD3 = """
        {"classes": ["SD3Transformer2DModel"],
         "defs": {"attention": ["to_q", "to_k", "to_v", "norm_q", "norm_k", "add_q_proj", "add_k_proj", "add_v_proj",
                                "norm_added_q", "norm_added_k", "to_add_out", "to_out"]},
         "order": [
           {"at": "pos_embed", "order": ["proj", "pos_embed"]},
           {"at": "time_text_embed", "order": ["timestep_embedder", "text_embedder"]},
           "context_embedder",
           {"at": "transformer_blocks.#", "unit": "transformer_blocks", "order": [
             "norm1", "norm1_context", {"at": "attn", "order": "@attention"}, {"at": "attn2", "order": "@attention"},
             "ff", "ff_context"]},
           "norm_out", "proj_out"]}
        """;

    static final String QWEN_IMAGE = """
        {"classes": ["QwenImageTransformer2DModel"],
         "order": [
           "img_in", "txt_norm", "txt_in", "time_text_embed",
           {"at": "transformer_blocks.#", "unit": "transformer_blocks", "order": [
             "img_mod", "txt_mod",
             {"at": "attn", "order": ["to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj", "norm_q", "norm_k",
                                      "norm_added_q", "norm_added_k", "to_out", "to_add_out"]},
             "img_mlp", "txt_mlp"]},
           "norm_out", "proj_out"]}
        """;

    static final String WAN = """
        {"classes": ["WanTransformer3DModel"],
         "defs": {"attention": ["to_q", "to_k", "to_v", "norm_q", "norm_k", "add_k_proj", "add_v_proj", "norm_added_k", "to_out"]},
         "order": [
           "patch_embedding",
           {"at": "condition_embedder", "order": ["time_embedder", "time_proj", "text_embedder",
             {"at": "image_embedder", "order": ["norm1", "ff", "norm2"]}]},
           {"at": "blocks.#", "unit": "blocks", "order": [
             "scale_shift_table", {"at": "attn1", "order": "@attention"}, "norm2", {"at": "attn2", "order": "@attention"}, "ffn"]},
           "scale_shift_table", "norm_out", "proj_out"]}
        """;

    /** The original BFL file (flux1-dev.safetensors), recognised by its names: black-forest-labs/flux src/flux/model.py, modules/layers.py. */
    static final String FLUX_BFL = """
        {"name": "Flux (BFL single file)", "names": ["img_in", "double_blocks", "single_blocks", "final_layer"],
         "order": [
           "img_in", "time_in", "guidance_in", "vector_in", "txt_in",
           {"at": "double_blocks.#", "unit": "double_blocks", "order": [
             "img_mod", "txt_mod", "img_attn.qkv", {"at": "img_attn.norm", "order": ["query_norm", "key_norm"]},
             "txt_attn.qkv", {"at": "txt_attn.norm", "order": ["query_norm", "key_norm"]},
             "img_attn.proj", "img_mlp", "txt_attn.proj", "txt_mlp"]},
           {"at": "single_blocks.#", "unit": "single_blocks", "order": [
             "modulation", "linear1", {"at": "norm", "order": ["query_norm", "key_norm"]}, "linear2"]},
           {"at": "final_layer", "order": ["adaLN_modulation", "linear"]}]}
        """;

    /** Wan as Wan-AI ships it, recognised by its names: Wan-Video/Wan2.1 wan/modules/model.py (WanModel, WanAttentionBlock). */
    static final String WAN_ORIGINAL = """
        {"name": "Wan (original single file)", "names": ["patch_embedding", "time_projection", "blocks", "head.head"],
         "order": [
           "patch_embedding", "time_embedding", "time_projection", "text_embedding", "img_emb",
           {"at": "blocks.#", "unit": "blocks", "order": [
             "modulation", {"at": "self_attn", "order": ["q", "norm_q", "k", "norm_k", "v", "o"]}, "norm3",
             {"at": "cross_attn", "order": ["q", "norm_q", "k", "norm_k", "v", "k_img", "norm_k_img", "v_img", "o"]}, "ffn"]},
           {"at": "head", "order": ["modulation", "head"]}]}
        """;

    /**
     * The original SD/SDXL UNet as a single file has it (model.diffusion_model.* with the bundle prefix
     * stripped), recognised by its names: Stability-AI/generative-models sgm/modules/diffusionmodules/
     * openaimodel.py (UNetModel, ResBlock, Downsample, Upsample) and attention.py (SpatialTransformer,
     * BasicTransformerBlock), the ldm tree the same. input_blocks.0 is conv_in (head); each further
     * input_blocks.N.M, middle_block.M and output_blocks.N.M (a ResBlock, SpatialTransformer or
     * sampler) is one block; out.0 (norm) and out.2 (conv) are the tail.
     */
    static final String LDM_UNET = """
        {"name": "SD/SDXL UNet (original single file)", "names": ["time_embed", "input_blocks", "middle_block", "output_blocks", "out"],
         "defs": {
           "attention": ["to_q", "to_k", "to_v", "to_out"],
           "module": ["in_layers", "emb_layers", "out_layers", "skip_connection",
             "norm", "proj_in", {"at": "transformer_blocks.#", "order": [
               "norm1", {"at": "attn1", "order": "@attention"}, "norm2", {"at": "attn2", "order": "@attention"},
               "norm3", {"at": "ff", "order": ["net.0", "net.2"]}]}, "proj_out",
             "op", "conv"]},
         "order": [
           "time_embed", "label_emb", "input_blocks.0",
           {"at": "input_blocks.#.#", "unit": "input_blocks", "order": "@module"},
           {"at": "middle_block.#", "unit": "middle_block", "order": "@module"},
           {"at": "output_blocks.#.#", "unit": "output_blocks", "order": "@module"},
           "out"]}
        """;

    /**
     * The LDM VAE as a single file has it (first_stage_model.* stripped), recognised by its names:
     * CompVis/stable-diffusion ldm/modules/diffusionmodules/model.py (Encoder, Decoder, ResnetBlock,
     * AttnBlock). The decoder runs its up blocks from the highest index down (reversed(range(...))).
     */
    static final String LDM_VAE = """
        {"name": "LDM VAE (original single file)", "names": ["encoder.down", "decoder.up", "quant_conv", "post_quant_conv"],
         "defs": {
           "resnet": ["norm1", "conv1", "temb_proj", "norm2", "conv2", "nin_shortcut"],
           "attention": ["norm", "q", "k", "v", "proj_out"],
           "mid": [{"at": "block_1", "order": "@resnet"}, {"at": "attn_1", "order": "@attention"}, {"at": "block_2", "order": "@resnet"}]},
         "order": [
           {"at": "encoder", "order": [
             "conv_in",
             {"at": "down.#", "unit": "encoder", "order": [
               {"zip": [{"at": "block.#", "order": "@resnet"}, {"at": "attn.#", "order": "@attention"}]}, "downsample"]},
             {"at": "mid", "unit": "encoder", "order": "@mid"},
             {"at": "norm_out", "unit": "encoder", "name": "encoder.out"},
             {"at": "conv_out", "unit": "encoder", "name": "encoder.out"}]},
           {"at": "quant_conv", "unit": "quant_conv"},
           {"at": "post_quant_conv", "unit": "post_quant_conv"},
           {"at": "decoder", "order": [
             {"at": "conv_in", "unit": "decoder"},
             {"at": "mid", "unit": "decoder", "order": "@mid"},
             {"at": "up.#", "unit": "decoder", "descending": true, "order": [
               {"zip": [{"at": "block.#", "order": "@resnet"}, {"at": "attn.#", "order": "@attention"}]}, "upsample"]},
             "norm_out", "conv_out"]}]}
        """;

    /** SDXL's conditioner.embedders.0 (and SD 1.x's cond_stage_model): sgm encoders/modules.py FrozenCLIPEmbedder, a transformers CLIPTextModel under "transformer.". */
    static final String CLIP_TEXT_EMBEDDER = """
        {"name": "CLIP text (original single file)", "names": ["transformer.text_model.embeddings", "transformer.text_model.encoder.layers"],
         "order": [
           {"at": "transformer.text_model", "order": [
             {"at": "embeddings", "order": ["token_embedding", "position_embedding"]},
             {"at": "encoder.layers.#", "unit": "transformer.text_model.encoder.layers", "order": [
               "layer_norm1", {"at": "self_attn", "order": ["q_proj", "k_proj", "v_proj", "out_proj"]},
               "layer_norm2", {"at": "mlp", "order": ["fc1", "fc2"]}]},
             "final_layer_norm"]}]}
        """;

    /**
     * SDXL's conditioner.embedders.1: sgm encoders/modules.py FrozenOpenCLIPEmbedder2 (open_clip's
     * CLIP text tower, visual deleted): token_embedding, + positional_embedding, transformer.resblocks
     * (ln_1, attn in_proj then out_proj, ln_2, mlp c_fc, c_proj), ln_final, text_projection;
     * logit_scale (unused by the text forward) last.
     */
    static final String OPEN_CLIP_TEXT = """
        {"name": "OpenCLIP text (original single file)", "names": ["model.token_embedding", "model.transformer.resblocks", "model.ln_final"],
         "order": [
           {"at": "model", "order": [
             "token_embedding", "positional_embedding",
             {"at": "transformer.resblocks.#", "unit": "model.transformer.resblocks", "order": [
               "ln_1", {"at": "attn", "order": ["in_proj_weight", "in_proj_bias", "out_proj"]}, "ln_2", {"at": "mlp", "order": ["c_fc", "c_proj"]}]},
             "ln_final", "text_projection", "logit_scale"]}]}
        """;

    static List<BlockGraphPreset> load() {
        List<BlockGraphPreset> out = new ArrayList<>();
        String[][] all = {{"UNet2DConditionModel", UNET_2D_CONDITION}, {"AutoencoderKL", AUTOENCODER_KL}, {"AutoencoderKLWan", AUTOENCODER_KL_WAN}, {"CLIPTextModel", CLIP_TEXT},
                {"FluxTransformer2DModel", FLUX}, {"LlamaForCausalLM", DECODER_LM}, {"T5EncoderModel", T5_ENCODER}, {"Qwen2_5_VLForConditionalGeneration", QWEN2_5_VL}, {"GPT2LMHeadModel", GPT2},
                {"SD3Transformer2DModel", SD3}, {"QwenImageTransformer2DModel", QWEN_IMAGE}, {"WanTransformer3DModel", WAN},
                {"Flux (BFL single file)", FLUX_BFL}, {"Wan (original single file)", WAN_ORIGINAL},
                {"SD/SDXL UNet (original single file)", LDM_UNET}, {"LDM VAE (original single file)", LDM_VAE},
                {"CLIP text (original single file)", CLIP_TEXT_EMBEDDER}, {"OpenCLIP text (original single file)", OPEN_CLIP_TEXT}};
        for (String[] p : all) out.add(BlockGraphPreset.parse("built-in preset " + p[0], p[1]));
        return out;
    }
}
