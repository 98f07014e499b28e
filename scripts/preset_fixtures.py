#!/usr/bin/env python3
"""Writes tests/resources/presets/*.json: the parameter names each model's module tree has at its real
config, names only (no weights), sorted as a safetensors header lists them. Written from the module
sources named in each fixture's "source" (read, not imported: nothing of diffusers or transformers is
copied here). Run from the repository root: python3 scripts/preset_fixtures.py"""
import json, os

DIFFUSERS = "huggingface/diffusers@58eb52c0803ea9af3abec60841c2a093bdf1f951"
OUT = "tests/resources/presets"

def lin(names, p, bias=True):
    names.append(p + ".weight")
    if bias: names.append(p + ".bias")

def resnet(n, p, temb, shortcut):
    for m in ["norm1", "conv1", "norm2", "conv2"]: lin(n, p + "." + m)
    if temb: lin(n, p + ".time_emb_proj")
    if shortcut: lin(n, p + ".conv_shortcut")

def transformer2d(n, p, layers):
    lin(n, p + ".norm"); lin(n, p + ".proj_in"); lin(n, p + ".proj_out")
    for i in range(layers):
        b = f"{p}.transformer_blocks.{i}"
        for k in ["norm1", "norm2", "norm3"]: lin(n, b + "." + k)
        for a in ["attn1", "attn2"]:
            for q in ["to_q", "to_k", "to_v"]: lin(n, f"{b}.{a}.{q}", bias=False)
            lin(n, f"{b}.{a}.to_out.0")
        lin(n, b + ".ff.net.0.proj"); lin(n, b + ".ff.net.2")

def unet(chans, down, up, tlayers, addemb, lpb=2):
    n = []
    lin(n, "conv_in"); lin(n, "time_embedding.linear_1"); lin(n, "time_embedding.linear_2")
    if addemb: lin(n, "add_embedding.linear_1"); lin(n, "add_embedding.linear_2")
    out = chans[0]
    for i, t in enumerate(down):
        inp, out = out, chans[i]
        for j in range(lpb):
            resnet(n, f"down_blocks.{i}.resnets.{j}", True, (inp if j == 0 else out) != out)
            if t.startswith("CrossAttn"): transformer2d(n, f"down_blocks.{i}.attentions.{j}", tlayers[i])
        if i < len(down) - 1: lin(n, f"down_blocks.{i}.downsamplers.0.conv")
    resnet(n, "mid_block.resnets.0", True, False); resnet(n, "mid_block.resnets.1", True, False)
    transformer2d(n, "mid_block.attentions.0", tlayers[-1])
    rch = list(reversed(chans)); rtl = list(reversed(tlayers)); prev = rch[0]
    for i, t in enumerate(up):
        out = rch[i]; inp = rch[min(i + 1, len(chans) - 1)]
        for j in range(lpb + 1):
            skip = inp if j == lpb else out
            resin = prev if j == 0 else out
            resnet(n, f"up_blocks.{i}.resnets.{j}", True, resin + skip != out)
            if t.startswith("CrossAttn"): transformer2d(n, f"up_blocks.{i}.attentions.{j}", rtl[i])
        if i < len(up) - 1: lin(n, f"up_blocks.{i}.upsamplers.0.conv")
        prev = out
    lin(n, "conv_norm_out"); lin(n, "conv_out")
    return n

def vae(chans, lpb=2):
    n = []
    def mid(p):
        resnet(n, p + ".resnets.0", False, False); resnet(n, p + ".resnets.1", False, False)
        for m in ["group_norm", "to_q", "to_k", "to_v", "to_out.0"]: lin(n, p + ".attentions.0." + m)
    lin(n, "encoder.conv_in"); out = chans[0]
    for i in range(len(chans)):
        inp, out = out, chans[i]
        for j in range(lpb): resnet(n, f"encoder.down_blocks.{i}.resnets.{j}", False, (inp if j == 0 else out) != out)
        if i < len(chans) - 1: lin(n, f"encoder.down_blocks.{i}.downsamplers.0.conv")
    mid("encoder.mid_block"); lin(n, "encoder.conv_norm_out"); lin(n, "encoder.conv_out")
    lin(n, "quant_conv"); lin(n, "post_quant_conv")
    lin(n, "decoder.conv_in"); mid("decoder.mid_block")
    rch = list(reversed(chans)); prev = rch[0]
    for i in range(len(chans)):
        out = rch[i]
        for j in range(lpb + 1): resnet(n, f"decoder.up_blocks.{i}.resnets.{j}", False, (prev if j == 0 else out) != out)
        if i < len(chans) - 1: lin(n, f"decoder.up_blocks.{i}.upsamplers.0.conv")
        prev = out
    lin(n, "decoder.conv_norm_out"); lin(n, "decoder.conv_out")
    return n

def clip(layers, projection):
    n = ["text_model.embeddings.token_embedding.weight", "text_model.embeddings.position_embedding.weight"]
    for i in range(layers):
        p = f"text_model.encoder.layers.{i}"
        for m in ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "layer_norm1", "layer_norm2", "mlp.fc1", "mlp.fc2"]:
            lin(n, p + "." + m)
    lin(n, "text_model.final_layer_norm")
    if projection: n.append("text_projection.weight")
    return n

def flux():
    n = []
    lin(n, "x_embedder"); lin(n, "context_embedder"); lin(n, "norm_out.linear"); lin(n, "proj_out")
    for e in ["timestep_embedder", "guidance_embedder", "text_embedder"]:
        lin(n, f"time_text_embed.{e}.linear_1"); lin(n, f"time_text_embed.{e}.linear_2")
    for i in range(19):
        p = f"transformer_blocks.{i}"
        lin(n, p + ".norm1.linear"); lin(n, p + ".norm1_context.linear")
        for a in ["to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj", "to_out.0", "to_add_out"]: lin(n, f"{p}.attn.{a}")
        for a in ["norm_q", "norm_k", "norm_added_q", "norm_added_k"]: n.append(f"{p}.attn.{a}.weight")
        for f in ["ff", "ff_context"]: lin(n, f"{p}.{f}.net.0.proj"); lin(n, f"{p}.{f}.net.2")
    for i in range(38):
        p = f"single_transformer_blocks.{i}"
        lin(n, p + ".norm.linear"); lin(n, p + ".proj_mlp"); lin(n, p + ".proj_out")
        for a in ["to_q", "to_k", "to_v"]: lin(n, f"{p}.attn.{a}")
        for a in ["norm_q", "norm_k"]: n.append(f"{p}.attn.{a}.weight")
    return n

def decoder_lm(layers, qkv_bias, qk_norm, tied=False):
    n = ["model.embed_tokens.weight", "model.norm.weight"]
    if not tied: n.append("lm_head.weight")
    for i in range(layers):
        p = f"model.layers.{i}"
        n += [p + ".input_layernorm.weight", p + ".post_attention_layernorm.weight"]
        for q in ["q_proj", "k_proj", "v_proj"]: lin(n, f"{p}.self_attn.{q}", bias=qkv_bias)
        n.append(p + ".self_attn.o_proj.weight")
        if qk_norm: n += [p + ".self_attn.q_norm.weight", p + ".self_attn.k_norm.weight"]
        for m in ["gate_proj", "up_proj", "down_proj"]: n.append(f"{p}.mlp.{m}.weight")
    return n

def t5(blocks, every_block_bias):
    n = ["shared.weight", "encoder.final_layer_norm.weight"]
    for i in range(blocks):
        p = f"encoder.block.{i}.layer"
        for q in ["q", "k", "v", "o"]: n.append(f"{p}.0.SelfAttention.{q}.weight")
        if i == 0 or every_block_bias: n.append(f"{p}.0.SelfAttention.relative_attention_bias.weight")
        n += [f"{p}.0.layer_norm.weight", f"{p}.1.layer_norm.weight"]
        for w in ["wi_0", "wi_1", "wo"]: n.append(f"{p}.1.DenseReluDense.{w}.weight")
    return n

def gpt2(layers):
    n = ["transformer.wte.weight", "transformer.wpe.weight"]
    for i in range(layers):
        p = f"transformer.h.{i}"
        for m in ["ln_1", "attn.c_attn", "attn.c_proj", "ln_2", "mlp.c_fc", "mlp.c_proj"]: lin(n, p + "." + m)
    lin(n, "transformer.ln_f")
    return n

def sd3(layers):
    n = ["pos_embed.pos_embed"]
    lin(n, "pos_embed.proj"); lin(n, "context_embedder"); lin(n, "norm_out.linear"); lin(n, "proj_out")
    for e in ["timestep_embedder", "text_embedder"]:
        lin(n, f"time_text_embed.{e}.linear_1"); lin(n, f"time_text_embed.{e}.linear_2")
    for i in range(layers):
        p = f"transformer_blocks.{i}"; last = i == layers - 1
        lin(n, p + ".norm1.linear"); lin(n, p + ".norm1_context.linear")
        for a in ["to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj", "to_out.0"] + ([] if last else ["to_add_out"]): lin(n, f"{p}.attn.{a}")
        for a in ["norm_q", "norm_k", "norm_added_q", "norm_added_k"]: n.append(f"{p}.attn.{a}.weight")
        lin(n, p + ".ff.net.0.proj"); lin(n, p + ".ff.net.2")
        if not last: lin(n, p + ".ff_context.net.0.proj"); lin(n, p + ".ff_context.net.2")
    return n

def qwen_image(layers):
    n = []
    lin(n, "img_in"); lin(n, "txt_in"); n.append("txt_norm.weight"); lin(n, "norm_out.linear"); lin(n, "proj_out")
    lin(n, "time_text_embed.timestep_embedder.linear_1"); lin(n, "time_text_embed.timestep_embedder.linear_2")
    for i in range(layers):
        p = f"transformer_blocks.{i}"
        lin(n, p + ".img_mod.1"); lin(n, p + ".txt_mod.1")
        for a in ["to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj", "to_out.0", "to_add_out"]: lin(n, f"{p}.attn.{a}")
        for a in ["norm_q", "norm_k", "norm_added_q", "norm_added_k"]: n.append(f"{p}.attn.{a}.weight")
        for m in ["img_mlp", "txt_mlp"]: lin(n, f"{p}.{m}.net.0.proj"); lin(n, f"{p}.{m}.net.2")
    return n

def wan(layers, image):
    n = ["scale_shift_table"]
    lin(n, "patch_embedding"); lin(n, "proj_out")
    for m in ["time_embedder.linear_1", "time_embedder.linear_2", "time_proj", "text_embedder.linear_1", "text_embedder.linear_2"]:
        lin(n, "condition_embedder." + m)
    if image:
        for m in ["norm1", "ff.net.0.proj", "ff.net.2", "norm2"]: lin(n, "condition_embedder.image_embedder." + m)
    for i in range(layers):
        p = f"blocks.{i}"
        n.append(p + ".scale_shift_table"); lin(n, p + ".norm2"); lin(n, p + ".ffn.net.0.proj"); lin(n, p + ".ffn.net.2")
        for a in ["attn1", "attn2"]:
            for q in ["to_q", "to_k", "to_v", "to_out.0"]: lin(n, f"{p}.{a}.{q}")
            n += [f"{p}.{a}.norm_q.weight", f"{p}.{a}.norm_k.weight"]
        if image:
            lin(n, p + ".attn2.add_k_proj"); lin(n, p + ".attn2.add_v_proj"); n.append(p + ".attn2.norm_added_k.weight")
    return n

def flux_bfl():
    n = []
    lin(n, "img_in"); lin(n, "txt_in")
    for e in ["time_in", "vector_in", "guidance_in"]: lin(n, e + ".in_layer"); lin(n, e + ".out_layer")
    for i in range(19):
        for side in ["img", "txt"]:
            p = f"double_blocks.{i}.{side}_"
            lin(n, p + "mod.lin"); lin(n, p + "attn.qkv"); lin(n, p + "attn.proj"); lin(n, p + "mlp.0"); lin(n, p + "mlp.2")
            n += [p + "attn.norm.query_norm.scale", p + "attn.norm.key_norm.scale"]
    for i in range(38):
        p = f"single_blocks.{i}."
        lin(n, p + "linear1"); lin(n, p + "linear2"); lin(n, p + "modulation.lin")
        n += [p + "norm.query_norm.scale", p + "norm.key_norm.scale"]
    lin(n, "final_layer.linear"); lin(n, "final_layer.adaLN_modulation.1")
    return n

def wan_original(layers):
    n = []
    lin(n, "patch_embedding"); lin(n, "text_embedding.0"); lin(n, "text_embedding.2"); lin(n, "time_embedding.0"); lin(n, "time_embedding.2")
    lin(n, "time_projection.1"); lin(n, "head.head"); n.append("head.modulation")
    for i in range(layers):
        p = f"blocks.{i}."
        for a in ["self_attn", "cross_attn"]:
            for x in ["q", "k", "v", "o"]: lin(n, p + a + "." + x)
            n += [p + a + ".norm_q.weight", p + a + ".norm_k.weight"]
        lin(n, p + "norm3"); lin(n, p + "ffn.0"); lin(n, p + "ffn.2"); n.append(p + "modulation")
    return n

def wan_vae(base=96, mult=(1, 2, 4, 4), nres=2, tdown=(False, True, True)):
    """AutoencoderKLWan (not is_residual): the encoder's down_blocks is one flat list of residual blocks and resamplers."""
    n = []
    def resnet(p, shortcut):
        n.extend([p + ".norm1.gamma", p + ".norm2.gamma"]); lin(n, p + ".conv1"); lin(n, p + ".conv2")
        if shortcut: lin(n, p + ".conv_shortcut")
    def mid(p):
        resnet(p + ".resnets.0", False); resnet(p + ".resnets.1", False)
        n.append(p + ".attentions.0.norm.gamma"); lin(n, p + ".attentions.0.to_qkv"); lin(n, p + ".attentions.0.proj")
    dims = [base * u for u in [1] + list(mult)]
    lin(n, "encoder.conv_in"); k = 0
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        for _ in range(nres):
            resnet(f"encoder.down_blocks.{k}", a != b); k += 1; a = b
        if i != len(mult) - 1:
            lin(n, f"encoder.down_blocks.{k}.resample.1")
            if tdown[i]: lin(n, f"encoder.down_blocks.{k}.time_conv")
            k += 1
    mid("encoder.mid_block"); n.append("encoder.norm_out.gamma"); lin(n, "encoder.conv_out")
    lin(n, "quant_conv"); lin(n, "post_quant_conv")
    tup = list(tdown)[::-1]; dims = [base * u for u in [mult[-1]] + list(mult)[::-1]]
    lin(n, "decoder.conv_in"); mid("decoder.mid_block")
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        if i > 0: a //= 2
        for j in range(nres + 1):
            resnet(f"decoder.up_blocks.{i}.resnets.{j}", a != b); a = b
        if i != len(mult) - 1:
            lin(n, f"decoder.up_blocks.{i}.upsamplers.0.resample.1")
            if tup[i]: lin(n, f"decoder.up_blocks.{i}.upsamplers.0.time_conv")
    n.append("decoder.norm_out.gamma"); lin(n, "decoder.conv_out")
    return n

def qwen25_vl(layers, vision_blocks, text, visual):
    """Qwen2_5_VLForConditionalGeneration: the text model's names under `text`, the vision tower's under `visual`, lm_head untied."""
    n = [text + ".embed_tokens.weight", text + ".norm.weight", "lm_head.weight"]
    for i in range(layers):
        p = f"{text}.layers.{i}"
        n += [p + ".input_layernorm.weight", p + ".post_attention_layernorm.weight"]
        for q in ["q_proj", "k_proj", "v_proj"]: lin(n, f"{p}.self_attn.{q}")
        n.append(p + ".self_attn.o_proj.weight")
        for m in ["gate_proj", "up_proj", "down_proj"]: n.append(f"{p}.mlp.{m}.weight")
    n.append(visual + ".patch_embed.proj.weight")
    for i in range(vision_blocks):
        p = f"{visual}.blocks.{i}"
        n += [p + ".norm1.weight", p + ".norm2.weight"]; lin(n, p + ".attn.qkv"); lin(n, p + ".attn.proj")
        for m in ["gate_proj", "up_proj", "down_proj"]: lin(n, f"{p}.mlp.{m}")
    n.append(visual + ".merger.ln_q.weight"); lin(n, visual + ".merger.mlp.0"); lin(n, visual + ".merger.mlp.2")
    return n

TF = "huggingface/transformers src/transformers/models/"
def ldm_resblock(n, p, skip):
    for m in ["in_layers.0", "in_layers.2", "emb_layers.1", "out_layers.0", "out_layers.3"]: lin(n, p + "." + m)
    if skip: lin(n, p + ".skip_connection")

def ldm_spatial(n, p, layers):
    lin(n, p + ".norm"); lin(n, p + ".proj_in"); lin(n, p + ".proj_out")
    for i in range(layers):
        b = f"{p}.transformer_blocks.{i}"
        for k in ["norm1", "norm2", "norm3"]: lin(n, b + "." + k)
        for a in ["attn1", "attn2"]:
            for q in ["to_q", "to_k", "to_v"]: lin(n, f"{b}.{a}.{q}", bias=False)
            lin(n, f"{b}.{a}.to_out.0")
        lin(n, b + ".ff.net.0.proj"); lin(n, b + ".ff.net.2")

def ldm_unet(mult, depth, middle_depth, adm, ch=320, nres=2):
    """openaimodel.py UNetModel.__init__: input_blocks, middle_block, output_blocks, out."""
    n = []
    lin(n, "time_embed.0"); lin(n, "time_embed.2")
    if adm: lin(n, "label_emb.0.0"); lin(n, "label_emb.0.2")
    lin(n, "input_blocks.0.0")
    idx, cur, skips = 1, ch, [ch]
    for level, m in enumerate(mult):
        for _ in range(nres):
            ldm_resblock(n, f"input_blocks.{idx}.0", cur != ch * m); cur = ch * m
            if depth[level]: ldm_spatial(n, f"input_blocks.{idx}.1", depth[level])
            skips.append(cur); idx += 1
        if level != len(mult) - 1:
            lin(n, f"input_blocks.{idx}.0.op"); skips.append(cur); idx += 1
    ldm_resblock(n, "middle_block.0", False); ldm_spatial(n, "middle_block.1", middle_depth); ldm_resblock(n, "middle_block.2", False)
    idx = 0
    for level in reversed(range(len(mult))):
        for j in range(nres + 1):
            ldm_resblock(n, f"output_blocks.{idx}.0", cur + skips.pop() != ch * mult[level]); cur = ch * mult[level]
            k = 1
            if depth[level]: ldm_spatial(n, f"output_blocks.{idx}.1", depth[level]); k = 2
            if level and j == nres: lin(n, f"output_blocks.{idx}.{k}.conv")
            idx += 1
    lin(n, "out.0"); lin(n, "out.2")
    return n

def ldm_vae(ch=128, mult=(1, 2, 4, 4), nres=2):
    """ldm/modules/diffusionmodules/model.py Encoder, Decoder (attn_resolutions []), quant convs."""
    def res(n, p, cin, cout):
        for m in ["norm1", "conv1", "norm2", "conv2"]: lin(n, p + "." + m)
        if cin != cout: lin(n, p + ".nin_shortcut")
    def mid(n, p, c):
        res(n, p + ".block_1", c, c); res(n, p + ".block_2", c, c)
        for m in ["norm", "q", "k", "v", "proj_out"]: lin(n, f"{p}.attn_1.{m}")
    n = []
    lin(n, "encoder.conv_in"); cur = ch
    for level, m in enumerate(mult):
        for j in range(nres): res(n, f"encoder.down.{level}.block.{j}", cur, ch * m); cur = ch * m
        if level != len(mult) - 1: lin(n, f"encoder.down.{level}.downsample.conv")
    mid(n, "encoder.mid", cur); lin(n, "encoder.norm_out"); lin(n, "encoder.conv_out")
    lin(n, "quant_conv"); lin(n, "post_quant_conv")
    lin(n, "decoder.conv_in"); mid(n, "decoder.mid", cur)
    for level in reversed(range(len(mult))):
        for j in range(nres + 1): res(n, f"decoder.up.{level}.block.{j}", cur, ch * mult[level]); cur = ch * mult[level]
        if level: lin(n, f"decoder.up.{level}.upsample.conv")
    lin(n, "decoder.norm_out"); lin(n, "decoder.conv_out")
    return n

def open_clip_text(layers):
    """open_clip model.py/transformer.py text tower (FrozenOpenCLIPEmbedder2 keeps model.* without visual)."""
    n = ["model.token_embedding.weight", "model.positional_embedding", "model.text_projection", "model.logit_scale"]
    lin(n, "model.ln_final")
    for i in range(layers):
        p = f"model.transformer.resblocks.{i}"
        n += [p + ".attn.in_proj_weight", p + ".attn.in_proj_bias"]
        for m in ["attn.out_proj", "ln_1", "ln_2", "mlp.c_fc", "mlp.c_proj"]: lin(n, p + "." + m)
    return n

FIXTURES = {
    "unet-sdxl": ("UNet2DConditionModel", DIFFUSERS + " src/diffusers/models/unets/unet_2d_condition.py, unet_2d_blocks.py, resnet.py, transformers/transformer_2d.py, attention.py; config of stabilityai/stable-diffusion-xl-base-1.0 unet/config.json: block_out_channels (320, 640, 1280), layers_per_block 2, transformer_layers_per_block (1, 2, 10), down (DownBlock2D, CrossAttnDownBlock2D x2), up (CrossAttnUpBlock2D x2, UpBlock2D), addition_embed_type text_time",
                  unet([320, 640, 1280], ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"], ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"], [1, 2, 10], True)),
    "unet-sd15": ("UNet2DConditionModel", DIFFUSERS + " (as above); config of stable-diffusion-v1-5 unet/config.json: block_out_channels (320, 640, 1280, 1280), layers_per_block 2, down (CrossAttnDownBlock2D x3, DownBlock2D), up (UpBlock2D, CrossAttnUpBlock2D x3), one transformer layer",
                  unet([320, 640, 1280, 1280], ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"], ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3, [1, 1, 1, 1], False)),
    "vae-sdxl": ("AutoencoderKL", DIFFUSERS + " src/diffusers/models/autoencoders/autoencoder_kl.py, vae.py, unets/unet_2d_blocks.py (DownEncoderBlock2D, UNetMidBlock2D, UpDecoderBlock2D); config of stable-diffusion-xl-base-1.0 vae/config.json: block_out_channels (128, 256, 512, 512), layers_per_block 2",
                 vae([128, 256, 512, 512])),
    "clip-l": ("CLIPTextModel", TF + "clip/modeling_clip.py (CLIPTextTransformer); openai/clip-vit-large-patch14 text config: 12 layers (SD 1.x text_encoder, SDXL text_encoder)", clip(12, False)),
    "clip-bigg": ("CLIPTextModelWithProjection", TF + "clip/modeling_clip.py; SDXL text_encoder_2/config.json (laion CLIP-ViT-bigG-14): 32 layers, text_projection without bias", clip(32, True)),
    "flux": ("FluxTransformer2DModel", DIFFUSERS + " src/diffusers/models/transformers/transformer_flux.py; black-forest-labs/FLUX.1-dev transformer/config.json: num_layers 19, num_single_layers 38, guidance_embeds true", flux()),
    "llama-3.1-8b": ("LlamaForCausalLM", TF + "llama/modeling_llama.py; meta-llama/Llama-3.1-8B config.json: 32 layers, no attention bias", decoder_lm(32, False, False)),
    "mistral-7b": ("MistralForCausalLM", TF + "mistral/modeling_mistral.py; mistralai/Mistral-7B-v0.1 config.json: 32 layers", decoder_lm(32, False, False)),
    "qwen2-7b": ("Qwen2ForCausalLM", TF + "qwen2/modeling_qwen2.py; Qwen/Qwen2-7B config.json: 28 layers, q/k/v biases", decoder_lm(28, True, False)),
    "qwen3-8b": ("Qwen3ForCausalLM", TF + "qwen3/modeling_qwen3.py; Qwen/Qwen3-8B config.json: 36 layers, q_norm and k_norm", decoder_lm(36, False, True)),
    "t5-xxl": ("T5EncoderModel", TF + "t5/modeling_t5.py (T5EncoderModel, gated-gelu v1.1); google/t5-v1_1-xxl: 24 blocks, relative attention bias in block 0; shared.weight saved, encoder.embed_tokens tied to it", t5(24, False)),
    "umt5-xxl": ("UMT5EncoderModel", TF + "umt5/modeling_umt5.py; google/umt5-xxl (Wan's text encoder): 24 blocks, relative attention bias in every block", t5(24, True)),
    "sd35-large": ("SD3Transformer2DModel", DIFFUSERS + " src/diffusers/models/transformers/transformer_sd3.py, attention.py (JointTransformerBlock), attention_processor.py (JointAttnProcessor2_0); stabilityai/stable-diffusion-3.5-large transformer/config.json: num_layers 38, qk_norm rms_norm, the last block context_pre_only", sd3(38)),
    "qwen-image": ("QwenImageTransformer2DModel", DIFFUSERS + " src/diffusers/models/transformers/transformer_qwenimage.py; Qwen/Qwen-Image transformer/config.json: num_layers 60", qwen_image(60)),
    "wan2.1-t2v-1.3b": ("WanTransformer3DModel", DIFFUSERS + " src/diffusers/models/transformers/transformer_wan.py; Wan-AI/Wan2.1-T2V-1.3B-Diffusers transformer/config.json: num_layers 30, cross_attn_norm true, no image embedder", wan(30, False)),
    "wan2.1-i2v-14b": ("WanTransformer3DModel", DIFFUSERS + " src/diffusers/models/transformers/transformer_wan.py; Wan-AI/Wan2.1-I2V-14B-480P-Diffusers transformer/config.json: num_layers 40, image_dim 1280 (image embedder, added k/v projections)", wan(40, True)),
    "flux-bfl": ("", "black-forest-labs/flux src/flux/model.py (Flux), src/flux/modules/layers.py (DoubleStreamBlock, SingleStreamBlock, LastLayer, MLPEmbedder); flux1-dev.safetensors: depth 19, depth_single_blocks 38, guidance_embed", flux_bfl()),
    "wan2.1-original-1.3b": ("", "Wan-Video/Wan2.1 wan/modules/model.py (WanModel, WanAttentionBlock, Head); Wan2.1-T2V-1.3B: num_layers 30, cross_attn_norm", wan_original(30)),
    "wan2.1-vae": ("AutoencoderKLWan", DIFFUSERS + " src/diffusers/models/autoencoders/autoencoder_kl_wan.py (AutoencoderKLWan, WanEncoder3d, WanDecoder3d, WanResidualBlock, WanResample, WanMidBlock, WanAttentionBlock, WanRMS_norm: gamma only); Wan-AI/Wan2.1-T2V-1.3B-Diffusers vae/config.json (the class defaults): base_dim 96, z_dim 16, dim_mult (1, 2, 4, 4), num_res_blocks 2, attn_scales [], temperal_downsample (False, True, True), is_residual false",
                   wan_vae()),
    "qwen2.5-vl-7b": ("Qwen2_5_VLForConditionalGeneration", TF + "qwen2_5_vl/modeling_qwen2_5_vl.py (Qwen2_5_VLForConditionalGeneration, Qwen2_5_VisionTransformerPretrainedModel, Qwen2_5_VLVisionBlock, Qwen2_5_VLPatchMerger); Qwen/Qwen2.5-VL-7B-Instruct config.json: 28 layers, q/k/v biases, lm_head untied, vision depth 32 (module tree as printed in acproject/duorou docs/qwen2.5vl_graph.md); names as the Hub checkpoint's index has them: visual.*, model.*, lm_head.* (the Qwen-VL family's layout, e.g. the Qwen2-VL-based index BrianYAU-NTEC/olmOCR model.safetensors.index.json)",
                      qwen25_vl(28, 32, "model", "visual")),
    "qwen2.5-vl-7b-v5": ("Qwen2_5_VLForConditionalGeneration", TF + "qwen2_5_vl/modeling_qwen2_5_vl.py (as qwen2.5-vl-7b); the same model as transformers >= 4.52 saves it (Qwen2_5_VLModel holds language_model and visual): model.language_model.*, model.visual.*, lm_head.*",
                         qwen25_vl(28, 32, "model.language_model", "model.visual")),
    "ldm-unet-sdxl": ("", "Stability-AI/generative-models sgm/modules/diffusionmodules/openaimodel.py (UNetModel, ResBlock, Downsample, Upsample), sgm/modules/attention.py (SpatialTransformer, BasicTransformerBlock); the names as " + DIFFUSERS + " src/diffusers/loaders/single_file_utils.py (convert_ldm_unet_checkpoint) and scripts/convert_original_stable_diffusion_to_diffusers.py map them; sgm configs/inference/sd_xl_base.yaml: model_channels 320, channel_mult [1, 2, 4], transformer_depth [0, 2, 10], context_dim 2048, adm_in_channels 2816 (label_emb), num_res_blocks 2; model.diffusion_model.* of sd_xl_base_1.0.safetensors, prefix stripped", ldm_unet([1, 2, 4], [0, 2, 10], 10, True)),
    "ldm-unet-sd15": ("", "CompVis/stable-diffusion ldm/modules/diffusionmodules/openaimodel.py, ldm/modules/attention.py (the same modules as sgm's); v1-inference.yaml: model_channels 320, channel_mult [1, 2, 4, 4], attention_resolutions [4, 2, 1] (a transformer of depth 1 at the first three levels and the middle), no label_emb; names as " + DIFFUSERS + " src/diffusers/loaders/single_file_utils.py map them; model.diffusion_model.* of v1-5-pruned.safetensors, prefix stripped", ldm_unet([1, 2, 4, 4], [1, 1, 1, 0], 1, False)),
    "ldm-vae": ("", "CompVis/stable-diffusion ldm/modules/diffusionmodules/model.py (Encoder, Decoder, ResnetBlock, AttnBlock), ldm/models/autoencoder.py (quant_conv, post_quant_conv); SD/SDXL first_stage_config: ch 128, ch_mult [1, 2, 4, 4], num_res_blocks 2, attn_resolutions []; names as " + DIFFUSERS + " src/diffusers/loaders/single_file_utils.py map them (convert_ldm_vae_checkpoint); first_stage_model.* prefix stripped", ldm_vae()),
    "ldm-clip-l": ("", "Stability-AI/generative-models sgm/modules/encoders/modules.py FrozenCLIPEmbedder (transformers CLIPTextModel under 'transformer.', openai/clip-vit-large-patch14: 12 layers); conditioner.embedders.0.* of sd_xl_base_1.0.safetensors, prefix stripped", ["transformer." + x for x in clip(12, False)]),
    "ldm-openclip-bigg": ("", "Stability-AI/generative-models sgm/modules/encoders/modules.py FrozenOpenCLIPEmbedder2 (open_clip ViT-bigG-14 text tower: 32 resblocks, visual deleted), mlfoundations/open_clip src/open_clip/model.py, transformer.py (ResidualAttentionBlock, nn.MultiheadAttention in_proj_weight/in_proj_bias); conditioner.embedders.1.* of sd_xl_base_1.0.safetensors, prefix stripped", open_clip_text(32)),
    "gpt2": ("GPT2LMHeadModel", TF + "gpt2/modeling_gpt2.py; openai-community/gpt2: 12 layers, lm_head tied to wte (not saved)", gpt2(12)),
}

os.makedirs(OUT, exist_ok=True)
for name, (cls, source, names) in FIXTURES.items():
    assert len(set(names)) == len(names), name
    with open(f"{OUT}/{name}.json", "w") as f:
        json.dump({"class": cls, "source": source, "names": sorted(names)}, f, indent=0)
        f.write("\n")
    print(name, cls, len(names))
