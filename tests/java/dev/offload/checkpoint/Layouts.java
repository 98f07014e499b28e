package dev.offload.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.OffloadConfig;
import dev.offload.Strategy;
import dev.offload.graph.BlockGraph;
import dev.offload.graph.BlockList;
import dev.offload.graph.Grouping;
import dev.offload.plan.PackedGroup;
import dev.offload.workload.ReferenceWorkload;
import dev.offload.workload.WorkloadRun;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntFunction;

/** Writes models in the layouts users have on disk, and checks a checkpoint streams bit for bit. */
public final class Layouts {
    static final int TOKENS = 2, HIDDEN = 16, STEPS = 2;

    private Layouts() {}

    /** One file; each tensor's bytes are random, seeded by its name. */
    public static void write(Path file, List<SafetensorsWriter.Spec> specs) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        SafetensorsWriter.write(file, specs, Map.of("format", "pt"), (spec, target) -> {
            SplittableRandom random = new SplittableRandom(spec.name().hashCode());
            for (long i = 0; i < target.byteSize(); i++) target.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
        });
    }

    /** {@code n} shards named by {@code shardName} (1-based), and an index named {@code index} unless null. */
    public static void writeShards(Path folder, List<SafetensorsWriter.Spec> specs, int n, IntFunction<String> shardName, String index) {
        StringBuilder map = new StringBuilder();
        int per = (specs.size() + n - 1) / n;
        for (int s = 0; s < n; s++) {
            List<SafetensorsWriter.Spec> part = specs.subList(s * per, Math.min(specs.size(), (s + 1) * per));
            write(folder.resolve(shardName.apply(s + 1)), part);
            for (SafetensorsWriter.Spec spec : part) {
                map.append(map.isEmpty() ? "" : ",\n").append("    \"").append(spec.name()).append("\": \"").append(shardName.apply(s + 1)).append('"');
            }
        }
        if (index != null) text(folder.resolve(index), "{\"metadata\": {\"total_size\": 0},\n  \"weight_map\": {\n" + map + "\n  }\n}\n");
    }

    /** transformers' and diffusers' shard names: {@code base-00001-of-00003.safetensors}, or with a variant infix. */
    public static IntFunction<String> shards(String base, String variant, int n) {
        return i -> String.format("%s%s-%05d-of-%05d.safetensors", base, variant == null ? "" : "." + variant, i, n);
    }

    public static void text(Path file, String content) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.writeString(file, content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A diffusers FLUX.1-dev pipeline folder: the transformer in 3 shards under
     * diffusion_pytorch_model.safetensors.index.json, CLIP-L in one model.safetensors, T5 in 2 shards
     * under model.safetensors.index.json, the VAE in one diffusion_pytorch_model.safetensors, and
     * scheduler and tokenizer folders with no weights.
     */
    public static void fluxPipeline(Path root) {
        text(root.resolve("model_index.json"), """
                {"_class_name": "FluxPipeline", "_diffusers_version": "0.30.0.dev0",
                 "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
                 "text_encoder": ["transformers", "CLIPTextModel"], "text_encoder_2": ["transformers", "T5EncoderModel"],
                 "tokenizer": ["transformers", "CLIPTokenizer"], "tokenizer_2": ["transformers", "T5TokenizerFast"],
                 "transformer": ["diffusers", "FluxTransformer2DModel"], "vae": ["diffusers", "AutoencoderKL"]}
                """);
        text(root.resolve("scheduler/scheduler_config.json"), "{}");
        text(root.resolve("tokenizer/vocab.json"), "{}");
        text(root.resolve("tokenizer_2/tokenizer.json"), "{}");
        text(root.resolve("transformer/config.json"), "{}");
        writeShards(root.resolve("transformer"), ModelZoo.fluxDiffusers(), 3, shards("diffusion_pytorch_model", null, 3),
                "diffusion_pytorch_model.safetensors.index.json");
        write(root.resolve("text_encoder/model.safetensors"), ModelZoo.clipL());
        writeShards(root.resolve("text_encoder_2"), ModelZoo.t5Encoder(), 2, shards("model", null, 2), "model.safetensors.index.json");
        write(root.resolve("vae/diffusion_pytorch_model.safetensors"), ModelZoo.vaeDiffusers());
    }

    /** Block lists as prefix -> block count, in execution order. */
    public static Map<String, Integer> lists(Checkpoint c) {
        Map<String, Integer> out = new LinkedHashMap<>();
        for (BlockList l : BlockGraph.discover(c).blockLists()) out.put(l.prefix(), l.blocks().size());
        return out;
    }

    public static List<String> names(Checkpoint c) {
        List<String> out = new ArrayList<>();
        c.tensors().forEach(t -> out.add(t.name()));
        return out;
    }

    /**
     * Streams the checkpoint with the mix workload on the host backend, one block per group, under
     * the smallest legal budget (one slot of the largest group plus the workload's state), which must
     * be below the checkpoint's size; every step must equal the unoffloaded reference bit for bit.
     */
    public static void streamsBitExactly(Checkpoint c) {
        long slot = BlockGraph.discover(c).groups(Grouping.blocks(1)).stream()
                .mapToLong(g -> PackedGroup.alignUp(PackedGroup.of(g).bytes())).max().orElseThrow();
        long budget = slot + ReferenceWorkload.deviceBytes(TOKENS, HIDDEN);
        assertTrue(budget < c.totalBytes(), c.name() + ": budget " + budget + " is not below the model's " + c.totalBytes() + " bytes");
        OffloadConfig config = OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).grouping(Grouping.blocks(1))
                .deviceBudget(budget).build();
        WorkloadRun.Result r = WorkloadRun.run(c, config, STEPS, TOKENS, HIDDEN, true, null);
        assertEquals(Boolean.TRUE, r.verified(), c.name() + ": " + r.verifyNote());
        assertTrue(r.peakDeviceBytes() <= budget, c.name() + ": peak " + r.peakDeviceBytes() + " > budget " + budget);
        assertTrue(r.h2dBytes() > 0, c.name());
    }
}
