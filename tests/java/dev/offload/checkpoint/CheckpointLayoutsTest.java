package dev.offload.checkpoint;

import static dev.offload.checkpoint.Layouts.lists;
import static dev.offload.checkpoint.Layouts.shards;
import static dev.offload.checkpoint.Layouts.streamsBitExactly;
import static dev.offload.checkpoint.Layouts.write;
import static dev.offload.checkpoint.Layouts.writeShards;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.Component;
import dev.offload.Group;
import dev.offload.OffloadConfig;
import dev.offload.OffloadException;
import dev.offload.Offloader;
import dev.offload.Step;
import dev.offload.Strategy;
import dev.offload.graph.BlockGraph;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoints as they sit on users' disks, with the real parameter names and block counts: single
 * files of every model, a diffusers pipeline folder, variant folders, a ComfyUI-style bundle, shard
 * sets under both index names, a Hugging Face cache snapshot of symlinks. Each is inspected (its
 * components and block lists) and streamed bit for bit under a budget below its size.
 */
class CheckpointLayoutsTest {
    @TempDir
    Path dir;

    static OffloadException refused(Runnable open) {
        return assertThrows(OffloadException.class, open::run);
    }

    static void assertContains(String text, String... parts) {
        for (String p : parts) assertTrue(text.contains(p), "expected '" + p + "' in: " + text);
    }

    @Test
    void everyModelFileDiscoversItsBlocksAndStreams() {
        record Case(String file, List<SafetensorsWriter.Spec> specs, Map<String, Integer> lists, int head, int tail) {}
        List<Case> cases = List.of(
                new Case("flux1-dev-diffusers.safetensors", ModelZoo.fluxDiffusers(),
                        Map.of("transformer_blocks", 19, "single_transformer_blocks", 38), 16, 4),
                new Case("flux1-dev.safetensors", ModelZoo.fluxOriginal(), Map.of("double_blocks", 19, "single_blocks", 38), 16, 4),
                new Case("wan2.1_t2v_1.3B.safetensors", ModelZoo.wan(30), Map.of("blocks", 30), 12, 3),
                new Case("wan2.1_t2v_14B.safetensors", ModelZoo.wan(40), Map.of("blocks", 40), 12, 3),
                new Case("qwen_image.safetensors", ModelZoo.qwenImage(), Map.of("transformer_blocks", 60), 9, 4),
                new Case("sd3.5_large.safetensors", ModelZoo.sd35(), Map.of("transformer_blocks", 38), 12, 4),
                new Case("llama.safetensors", ModelZoo.llama(32, ModelZoo.D), Map.of("model.layers", 32), 1, 2),
                new Case("mistral.safetensors", ModelZoo.llama(32, ModelZoo.D / 4), Map.of("model.layers", 32), 1, 2),
                new Case("gpt2.safetensors", ModelZoo.gpt2(), Map.of("transformer.h", 12), 2, 2));
        for (Case c : cases) {
            Path file = dir.resolve(c.file());
            write(file, c.specs());
            try (Pipeline p = Pipeline.open(file)) {
                assertEquals(Pipeline.Layout.SINGLE, p.layout(), c.file());
                assertEquals(List.of(Pipeline.SINGLE_COMPONENT), List.copyOf(p.components().keySet()), c.file());
            }
            try (Checkpoint ckpt = Checkpoint.open(file)) {
                assertTrue(ckpt instanceof SafetensorsFile, c.file());
                Map<String, Integer> found = lists(ckpt);
                assertEquals(c.lists(), found, c.file());
                if (found.size() == 2) assertEquals(List.copyOf(c.lists().keySet()).stream().sorted(
                        (a, b) -> Boolean.compare(a.startsWith("single"), b.startsWith("single"))).toList(), List.copyOf(found.keySet()));
                BlockGraph g = BlockGraph.discover(ckpt);
                assertEquals(c.head(), g.head().size(), c.file() + " head " + g.head().stream().map(t -> t.name()).toList());
                assertEquals(c.tail(), g.tail().size(), c.file() + " tail " + g.tail().stream().map(t -> t.name()).toList());
                streamsBitExactly(ckpt);
            }
        }
    }

    @Test
    void aDiffusersPipelineFolderOpensAsNamedComponents() {
        Path root = dir.resolve("FLUX.1-dev");
        Layouts.fluxPipeline(root);
        try (Pipeline p = Pipeline.open(root)) {
            checkFluxPipeline(p, root);
            streamsBitExactly(p.component("transformer"));
            streamsBitExactly(p.component("text_encoder_2"));
            try (Offloader off = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD)
                    .deviceBudget(2 * p.totalBytes()).build())) {
                Map<String, Component> registered = off.registerAll(p);
                assertEquals(List.copyOf(p.components().keySet()), List.copyOf(registered.keySet()));
                for (var e : registered.entrySet()) {
                    int groups = 0;
                    try (Step s = off.step(e.getKey())) {
                        for (Group g : s) groups++;
                    }
                    assertEquals(e.getValue().groupCount(), groups, e.getKey());
                    assertEquals(p.component(e.getKey()).totalBytes(), e.getValue().graph().totalBytes(), e.getKey());
                }
            }
        }
        assertContains(refused(() -> Checkpoint.open(root)).getMessage(), root.toString(), "holds 4 components: text_encoder (",
                "transformer (", "vae (", "--component NAME", "Pipeline.open");
        try (Checkpoint vae = Checkpoint.open(root, OpenOptions.defaults().component("vae"))) {
            assertEquals(ModelZoo.vaeDiffusers().size(), vae.tensors().size());
        }
        try (Checkpoint transformer = Checkpoint.open(root.resolve("transformer"))) {
            assertEquals(3, transformer.files().size());
            assertEquals(Map.of("transformer_blocks", 19, "single_transformer_blocks", 38), lists(transformer));
        }
        try (Pipeline one = Pipeline.open(root.resolve("model_index.json"), OpenOptions.defaults().component("text_encoder"))) {
            assertEquals(List.of("text_encoder"), List.copyOf(one.components().keySet()));
        }
        assertContains(refused(() -> Pipeline.open(root, OpenOptions.defaults().component("scheduler"))).getMessage(),
                "no component named 'scheduler'", "text_encoder, text_encoder_2, transformer, vae");
    }

    static void checkFluxPipeline(Pipeline p, Path root) {
        assertEquals(Pipeline.Layout.PIPELINE, p.layout());
        assertEquals(List.of("text_encoder", "text_encoder_2", "transformer", "vae"), List.copyOf(p.components().keySet()));
        assertEquals(Map.of("transformer_blocks", 19, "single_transformer_blocks", 38), lists(p.component("transformer")));
        assertEquals(Map.of("text_model.encoder.layers", 12), lists(p.component("text_encoder")));
        assertEquals(Map.of("encoder.block", 24), lists(p.component("text_encoder_2")));
        assertEquals(List.of("encoder.down_blocks", "encoder.mid_block.resnets", "decoder.mid_block.resnets", "decoder.up_blocks"),
                List.copyOf(lists(p.component("vae")).keySet()));
        assertEquals(List.of(4, 2, 2, 4), List.copyOf(lists(p.component("vae")).values()));
        List<Path> files = p.component("transformer").files();
        assertEquals(3, files.size());
        for (int i = 0; i < 3; i++) {
            assertTrue(files.get(i).startsWith(root.toAbsolutePath()), files.get(i).toString());
            assertEquals(String.format("diffusion_pytorch_model-%05d-of-00003.safetensors", i + 1), files.get(i).getFileName().toString());
        }
        assertEquals(ModelZoo.fluxDiffusers().size() + ModelZoo.clipL().size() + ModelZoo.t5Encoder().size() + ModelZoo.vaeDiffusers().size(),
                p.tensorCount());
    }

    @Test
    void variantsAreChosenAndNeverMerged() throws IOException {
        Path t = dir.resolve("transformer");
        List<SafetensorsWriter.Spec> specs = ModelZoo.sd35();
        write(t.resolve("diffusion_pytorch_model.safetensors"), specs);
        writeShards(t, specs, 2, shards("diffusion_pytorch_model", "fp16", 2), "diffusion_pytorch_model.safetensors.index.fp16.json");
        write(t.resolve("diffusion_pytorch_model.bf16.safetensors"), specs);
        try (Checkpoint plain = Checkpoint.open(t)) {
            assertEquals(List.of(t.resolve("diffusion_pytorch_model.safetensors")), plain.files());
        }
        try (Checkpoint fp16 = Checkpoint.open(t, OpenOptions.defaults().variant("fp16"))) {
            assertEquals(List.of("diffusion_pytorch_model.fp16-00001-of-00002.safetensors", "diffusion_pytorch_model.fp16-00002-of-00002.safetensors"),
                    fp16.files().stream().map(f -> f.getFileName().toString()).toList());
            assertEquals(specs.size(), fp16.tensors().size());
            assertEquals(Map.of("transformer_blocks", 38), lists(fp16));
            streamsBitExactly(fp16);
        }
        try (Checkpoint bf16 = Checkpoint.open(t, OpenOptions.defaults().variant("bf16"))) {
            assertEquals(List.of(t.resolve("diffusion_pytorch_model.bf16.safetensors")), bf16.files());
        }
        assertContains(refused(() -> Checkpoint.open(t, OpenOptions.defaults().variant("fp8"))).getMessage(),
                t.toString(), "no files of variant 'fp8'", "--variant bf16|fp16", "or none for the plain files");
        assertContains(refused(() -> Checkpoint.open(t.resolve("diffusion_pytorch_model.safetensors"), OpenOptions.defaults().variant("fp16")))
                .getMessage(), "this is one file");

        Files.delete(t.resolve("diffusion_pytorch_model.safetensors"));
        assertContains(refused(() -> Checkpoint.open(t)).getMessage(), "several variants and no plain files",
                "bf16: diffusion_pytorch_model.bf16.safetensors", "fp16: diffusion_pytorch_model.fp16-00001-of-00002.safetensors",
                "diffusion_pytorch_model.safetensors.index.fp16.json", "--variant bf16|fp16");

        // the legacy names (shard number before the variant, variant before .index), the only variant present
        Path legacy = dir.resolve("legacy");
        writeShards(legacy, ModelZoo.llama(32, 2), 2, i -> String.format("model-%05d-of-00002.fp16.safetensors", i),
                "model.safetensors.fp16.index.json");
        for (OpenOptions o : List.of(OpenOptions.defaults(), OpenOptions.defaults().variant("fp16"))) {
            try (Checkpoint c = Checkpoint.open(legacy, o)) {
                assertEquals(2, c.files().size());
                assertEquals(Map.of("model.layers", 32), lists(c));
            }
        }

        // a release root with the transformer and the VAE side by side, and a shard set missing a shard
        Path release = dir.resolve("FLUX.1-dev-release");
        write(release.resolve("flux1-dev.safetensors"), ModelZoo.fluxOriginal());
        write(release.resolve("ae.safetensors"), ModelZoo.vaeLdm());
        assertContains(refused(() -> Checkpoint.open(release)).getMessage(), release.toString(),
                "ae.safetensors, flux1-dev.safetensors: they do not form one checkpoint; open one file directly");
        Path partial = dir.resolve("partial");
        writeShards(partial, ModelZoo.gpt2(), 3, shards("model", null, 3), null);
        Files.delete(partial.resolve("model-00002-of-00003.safetensors"));
        assertContains(refused(() -> Checkpoint.open(partial)).getMessage(), "shards of 3 are missing (found 2)");
        assertContains(refused(() -> Checkpoint.open(dir.resolve("nowhere"))).getMessage(), "no such file");
        Files.createDirectory(dir.resolve("e"));
        assertContains(refused(() -> Checkpoint.open(dir.resolve("e"))).getMessage(), "no .safetensors files");
    }

    @Test
    void aPipelineVariantFallsBackToPlainFilesPerComponentLikeDiffusers() {
        Path root = dir.resolve("sd3.5");
        Layouts.text(root.resolve("model_index.json"), """
                {"_class_name": "StableDiffusion3Pipeline", "transformer": ["diffusers", "SD3Transformer2DModel"],
                 "vae": ["diffusers", "AutoencoderKL"], "text_encoder": [null, null]}
                """);
        write(root.resolve("transformer/diffusion_pytorch_model.safetensors"), ModelZoo.sd35());
        write(root.resolve("transformer/diffusion_pytorch_model.fp16.safetensors"), ModelZoo.sd35());
        write(root.resolve("vae/diffusion_pytorch_model.safetensors"), ModelZoo.vaeDiffusers());
        try (Pipeline p = Pipeline.open(root, OpenOptions.defaults().variant("fp16"))) {
            assertEquals(List.of("transformer", "vae"), List.copyOf(p.components().keySet()));
            assertEquals("diffusion_pytorch_model.fp16.safetensors", p.component("transformer").files().get(0).getFileName().toString());
            assertEquals("diffusion_pytorch_model.safetensors", p.component("vae").files().get(0).getFileName().toString());
        }
        try (Pipeline p = Pipeline.open(root)) {
            assertEquals("diffusion_pytorch_model.safetensors", p.component("transformer").files().get(0).getFileName().toString());
        }
        assertContains(refused(() -> Pipeline.open(root, OpenOptions.defaults().variant("bf16"))).getMessage(),
                "no component has variant 'bf16'", "transformer=plain: diffusion_pytorch_model.safetensors; fp16:");
    }

    @Test
    void aBundleSplitsIntoComponentsByPrefix() {
        Path file = dir.resolve("flux1-dev-fp8-comfyui.safetensors");
        List<SafetensorsWriter.Spec> specs = new ModelZoo.Specs()
                .prefixed("vae.", ModelZoo.vaeLdm())
                .prefixed("text_encoders.t5xxl.transformer.", ModelZoo.t5Encoder())
                .prefixed("model.diffusion_model.", ModelZoo.fluxOriginal())
                .prefixed("text_encoders.clip_l.transformer.", ModelZoo.clipL()).list;
        write(file, specs);
        try (Pipeline p = Pipeline.open(file)) {
            assertEquals(Pipeline.Layout.BUNDLE, p.layout());
            assertEquals(List.of("diffusion_model", "clip_l", "t5xxl", "vae"), List.copyOf(p.components().keySet()));
            assertEquals(Map.of("double_blocks", 19, "single_blocks", 38), lists(p.component("diffusion_model")));
            assertEquals(List.of("double_blocks", "single_blocks"), List.copyOf(lists(p.component("diffusion_model")).keySet()));
            assertEquals(Map.of("transformer.text_model.encoder.layers", 12), lists(p.component("clip_l")));
            assertEquals(Map.of("transformer.encoder.block", 24), lists(p.component("t5xxl")));
            assertEquals(List.of("encoder.down", "decoder.up"), List.copyOf(lists(p.component("vae")).keySet()));
            assertEquals(List.of("text_encoders.clip_l."), p.bundlePrefixes("clip_l"));
            assertEquals(specs.size(), p.tensorCount());
            Checkpoint vae = p.component("vae");
            Checkpoint dit = p.component("diffusion_model");
            TensorInfo conv = vae.tensor("encoder.conv_in.weight");
            TensorInfo img = dit.tensor("img_in.weight");
            assertEquals("vae.encoder.conv_in.weight", p.nameInFile("vae", conv));
            assertEquals(List.of(file), vae.files());
            // zero-copy: both views are slices of the one mapping, at their offsets in the file
            assertEquals(img.begin() - conv.begin(), dit.data(img).address() - vae.data(conv).address());
            assertEquals(ModelZoo.fluxOriginal().size(), dit.tensors().size());
            streamsBitExactly(dit);
            streamsBitExactly(p.component("t5xxl"));
        }
        assertContains(refused(() -> Checkpoint.open(file)).getMessage(), file.toString(),
                "holds 4 components: diffusion_model (", "clip_l (", "t5xxl (", "vae (", "--component NAME");
        try (Checkpoint clip = Checkpoint.open(file, OpenOptions.defaults().component("clip_l"))) {
            assertEquals(ModelZoo.clipL().size(), clip.tensors().size());
            assertTrue(clip.tensors().get(0).name().startsWith("transformer.text_model."), clip.tensors().get(0).name());
        }
        // rules overridden: only the diffusion model is split off; the rest keeps its names in "other"
        try (Pipeline p = Pipeline.open(file, OpenOptions.defaults().bundleRules(List.of(new BundleRule("model.diffusion_model.", "transformer"))))) {
            assertEquals(List.of("transformer", "other"), List.copyOf(p.components().keySet()));
            assertTrue(p.component("other").tensors().stream().allMatch(t -> t.name().startsWith("vae.") || t.name().startsWith("text_encoders.")));
        }
        try (Pipeline p = Pipeline.open(file, OpenOptions.defaults().bundleRules(List.of()))) {
            assertEquals(Pipeline.Layout.SINGLE, p.layout());
            assertEquals(specs.size(), p.component("model").tensors().size());
        }
    }

    @Test
    void anOriginalStableDiffusionFileKeepsItsSchedulerBuffersApart() {
        Path file = dir.resolve("v1-5-pruned-emaonly.safetensors");
        List<SafetensorsWriter.Spec> specs = new ModelZoo.Specs()
                .w("alphas_cumprod", 1000).w("betas", 1000)
                .prefixed("first_stage_model.", ModelZoo.vaeLdm())
                .prefixed("cond_stage_model.transformer.", ModelZoo.clipL())
                .prefixed("model.diffusion_model.", ModelZoo.sd35()).list;
        write(file, specs);
        try (Pipeline p = Pipeline.open(file)) {
            assertEquals(List.of("diffusion_model", "cond_stage_model", "vae", "other"), List.copyOf(p.components().keySet()));
            assertEquals(List.of("alphas_cumprod", "betas"), Layouts.names(p.component("other")));
            assertEquals(List.of("first_stage_model."), p.bundlePrefixes("vae"));
        }
        assertContains(refused(() -> new BundleRule("vae", "x")).getMessage(), "end with a dot");
        assertContains(refused(() -> new BundleRule("a.b*.", "x")).getMessage(), "whole segment");
        assertEquals(new BundleRule.Match("t5xxl", "text_encoders.t5xxl.", "shared.weight"),
                BundleRule.DEFAULTS.get(1).match("text_encoders.t5xxl.shared.weight"));
        assertEquals(null, BundleRule.DEFAULTS.get(7).match("vae."));
    }

    @Test
    void sdxlsConditionerIsItsTwoTextEncoders() {  // sd_xl_base_1.0.safetensors: conditioner.embedders.0 (CLIP-L), .1 (OpenCLIP bigG)
        Path file = dir.resolve("sd_xl_base_1.0.safetensors");
        ModelZoo.Specs bigG = new ModelZoo.Specs().w("model.token_embedding.weight", 64, 8).w("model.positional_embedding", 16, 8);
        for (int i = 0; i < 2; i++) {
            String r = "model.transformer.resblocks." + i + ".";
            bigG.w(r + "ln_1.weight", 8).w(r + "ln_1.bias", 8).w(r + "attn.in_proj_weight", 24, 8).w(r + "attn.in_proj_bias", 24)
                    .w(r + "attn.out_proj.weight", 8, 8).w(r + "attn.out_proj.bias", 8).w(r + "ln_2.weight", 8).w(r + "ln_2.bias", 8)
                    .w(r + "mlp.c_fc.weight", 32, 8).w(r + "mlp.c_fc.bias", 32).w(r + "mlp.c_proj.weight", 8, 32).w(r + "mlp.c_proj.bias", 8);
        }
        bigG.w("model.ln_final.weight", 8).w("model.ln_final.bias", 8).w("model.text_projection", 8, 8).w("model.logit_scale");
        write(file, new ModelZoo.Specs().prefixed("conditioner.embedders.0.transformer.", ModelZoo.clipL())
                .prefixed("conditioner.embedders.1.", bigG.list).prefixed("first_stage_model.", ModelZoo.vaeLdm()).list);
        try (Pipeline p = Pipeline.open(file)) {
            assertEquals(List.of("text_encoder", "text_encoder_2", "vae"), List.copyOf(p.components().keySet()));
            assertEquals(List.of("conditioner.embedders.0."), p.bundlePrefixes("text_encoder"));
            BlockGraph clip = BlockGraph.discover(p.component("text_encoder"));
            assertEquals("preset CLIP text (original single file)", clip.source().toString());
            assertEquals(List.of("transformer.text_model.embeddings.token_embedding.weight", "transformer.text_model.embeddings.position_embedding.weight"),
                    clip.head().stream().map(t -> t.name()).toList());
            assertEquals(12, clip.blockLists().get(0).blocks().size());
            assertEquals(List.of("transformer.text_model.final_layer_norm.weight", "transformer.text_model.final_layer_norm.bias"),
                    clip.tail().stream().map(t -> t.name()).toList());
            BlockGraph open = BlockGraph.discover(p.component("text_encoder_2"));
            assertEquals("preset OpenCLIP text (original single file)", open.source().toString());
            assertEquals(List.of("model.token_embedding.weight", "model.positional_embedding"), open.head().stream().map(t -> t.name()).toList());
            assertEquals(List.of("model.ln_final.weight", "model.ln_final.bias", "model.text_projection", "model.logit_scale"),
                    open.tail().stream().map(t -> t.name()).toList());
        }
    }

    @Test
    void shardedIndexesUnderBothNames() {
        Path llama = dir.resolve("Llama-3.1-8B");
        writeShards(llama, ModelZoo.llama(32, ModelZoo.D / 2), 4, shards("model", null, 4), "model.safetensors.index.json");
        Path wan = dir.resolve("Wan2.1-T2V-14B");
        writeShards(wan, ModelZoo.wan(40), 6, shards("diffusion_pytorch_model", null, 6), "diffusion_pytorch_model.safetensors.index.json");
        for (Path p : List.of(llama, llama.resolve("model.safetensors.index.json"))) {
            try (Checkpoint c = Checkpoint.open(p)) {
                assertEquals(4, c.files().size());
                assertEquals(Map.of("model.layers", 32), lists(c));
            }
        }
        try (Checkpoint c = Checkpoint.open(llama)) {
            streamsBitExactly(c);
        }
        try (Checkpoint c = Checkpoint.open(wan)) {
            assertEquals(6, c.files().size());
            assertEquals(Map.of("blocks", 40), lists(c));
            streamsBitExactly(c);
        }
        // a Mistral release: consolidated.safetensors beside the indexed shards; the index decides
        Path mistral = dir.resolve("Mistral-7B-v0.3");
        writeShards(mistral, ModelZoo.llama(32, 2), 3, shards("model", null, 3), "model.safetensors.index.json");
        write(mistral.resolve("consolidated.safetensors"), ModelZoo.gpt2());
        try (Checkpoint c = Checkpoint.open(mistral)) {
            assertTrue(c.files().stream().noneMatch(f -> f.getFileName().toString().equals("consolidated.safetensors")));
            assertEquals(Map.of("model.layers", 32), lists(c));
        }
        // two indexes in one folder
        writeShards(dir.resolve("two"), ModelZoo.gpt2(), 1, i -> "model.safetensors", "model.safetensors.index.json");
        writeShards(dir.resolve("two"), ModelZoo.gpt2(), 1, i -> "diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.safetensors.index.json");
        assertContains(refused(() -> Checkpoint.open(dir.resolve("two"))).getMessage(), "several indexes");
    }

    @Test
    void aHubCacheSnapshotOfSymlinks() throws Exception {
        Path staging = dir.resolve("staging");
        Layouts.fluxPipeline(staging);
        Path repo = dir.resolve("hub/models--black-forest-labs--FLUX.1-dev");
        String hash = "0ef5fff789c832c5c7f4e127f94c8b54bbcced44";
        Path snapshot = repo.resolve("snapshots").resolve(hash);
        Files.createDirectories(repo.resolve("blobs"));
        Layouts.text(repo.resolve("refs/main"), hash);
        List<Path> files;
        try (Stream<Path> walk = Files.walk(staging)) {
            files = walk.filter(Files::isRegularFile).toList();
        }
        for (Path f : files) {
            Path rel = staging.relativize(f);
            String blob = String.format("%064x", new java.math.BigInteger(1, java.security.MessageDigest.getInstance("SHA-256").digest(
                    rel.toString().getBytes())));
            Files.move(f, repo.resolve("blobs").resolve(blob));
            Path link = snapshot.resolve(rel);
            Files.createDirectories(link.getParent());
            Files.createSymbolicLink(link, link.getParent().relativize(repo.resolve("blobs").resolve(blob)));
        }
        assertTrue(Files.isSymbolicLink(snapshot.resolve("transformer/diffusion_pytorch_model-00001-of-00003.safetensors")));
        for (Path p : List.of(snapshot, repo)) {
            try (Pipeline pipeline = Pipeline.open(p)) {
                checkFluxPipeline(pipeline, snapshot);
                for (Path f : pipeline.component("transformer").files()) assertTrue(Files.isSymbolicLink(f), f.toString());
                if (p == repo) streamsBitExactly(pipeline.component("transformer"));
            }
        }
        try (Checkpoint t5 = Checkpoint.open(repo, OpenOptions.defaults().component("text_encoder_2"))) {
            assertEquals(Map.of("encoder.block", 24), lists(t5));
        }
        Files.createDirectories(repo.resolve("snapshots/1111111111111111111111111111111111111111"));
        Files.delete(repo.resolve("refs/main"));
        assertContains(refused(() -> Pipeline.open(repo)).getMessage(), "2 snapshots", "open one snapshot folder");
    }

    @Test
    void anEmptyCheckpointHasNoComponentsToStream() {
        Path file = dir.resolve("empty.safetensors");
        SafetensorsWriter.write(file, List.of(), Map.of(), (s, t) -> {});
        try (Pipeline p = Pipeline.open(file)) {
            assertEquals(0, p.tensorCount());
            assertEquals(List.of("model"), new ArrayList<>(p.components().keySet()));
        }
        try (Checkpoint c = Checkpoint.open(file);
             Offloader off = Offloader.open(OffloadConfig.builder().device("host").build())) {
            assertContains(refused(() -> off.register("model", c)).getMessage(), file.toString(), "no tensors");
        }
    }
}
