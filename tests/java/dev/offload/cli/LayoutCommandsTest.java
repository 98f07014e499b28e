package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.offload.checkpoint.Layouts;
import dev.offload.checkpoint.ModelZoo;
import dev.offload.checkpoint.SafetensorsWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** inspect and run on pipeline folders, bundles, variants and an empty checkpoint: the components contract. */
class LayoutCommandsTest {
    @TempDir
    static Path dir;
    static Path pipeline, bundle, variants, empty;

    @BeforeAll
    static void writeLayouts() {
        pipeline = dir.resolve("FLUX.1-dev");
        Layouts.fluxPipeline(pipeline);
        bundle = dir.resolve("bundle.safetensors");
        Layouts.write(bundle, new dev.offload.checkpoint.ModelZoo.Specs().prefixed("model.diffusion_model.", ModelZoo.fluxOriginal())
                .prefixed("text_encoders.clip_l.transformer.", ModelZoo.clipL()).prefixed("vae.", ModelZoo.vaeLdm()).list);
        variants = dir.resolve("variants");
        Layouts.write(variants.resolve("model.safetensors"), ModelZoo.gpt2());
        Layouts.writeShards(variants, ModelZoo.gpt2(), 2, Layouts.shards("model", "bf16", 2), "model.safetensors.index.bf16.json");
        empty = dir.resolve("empty.safetensors");
        SafetensorsWriter.write(empty, List.of(), Map.of(), (s, t) -> {});
    }

    static JsonObject json(String... argv) {
        InfoCommandTest.Result r = InfoCommandTest.run(argv);
        assertEquals(0, r.exit(), r.err());
        return JsonParser.parseString(r.out()).getAsJsonObject();
    }

    static List<String> strings(JsonArray a, String field) {
        List<String> out = new ArrayList<>();
        a.forEach(e -> out.add(e.getAsJsonObject().get(field).getAsString()));
        return out;
    }

    @Test
    void inspectListsAPipelinesComponentsAndTheirTensors() {
        JsonObject j = json("inspect", pipeline.toString(), "--json", "--tensors");
        assertEquals("pipeline", j.get("layout").getAsString());
        JsonArray components = j.getAsJsonArray("components");
        assertEquals(List.of("text_encoder", "text_encoder_2", "transformer", "vae"), strings(components, "name"));
        int tensors = 0;
        long bytes = 0;
        for (var c : components) {
            tensors += c.getAsJsonObject().get("tensors").getAsInt();
            bytes += c.getAsJsonObject().get("total_bytes").getAsLong();
        }
        assertEquals(tensors, j.get("tensors").getAsInt());
        assertEquals(bytes, j.get("total_bytes").getAsLong());
        JsonObject transformer = components.get(2).getAsJsonObject();
        assertEquals(3, transformer.getAsJsonArray("files").size());
        assertTrue(transformer.getAsJsonArray("files").get(0).getAsString().endsWith("diffusion_pytorch_model-00001-of-00003.safetensors"));
        JsonArray lists = transformer.getAsJsonArray("block_lists");
        assertEquals(List.of("transformer_blocks", "single_transformer_blocks"), strings(lists, "prefix"));
        assertEquals(19, lists.get(0).getAsJsonObject().get("count").getAsInt());
        assertEquals(38, lists.get(1).getAsJsonObject().get("count").getAsInt());
        // the totals' block lists: every component's, each naming its component
        JsonArray all = j.getAsJsonArray("block_lists");
        assertEquals(1 + 1 + 2 + 4, all.size());
        assertEquals("transformer", all.get(2).getAsJsonObject().get("component").getAsString());
        JsonArray list = j.getAsJsonArray("tensor_list");
        assertEquals(tensors, list.size());
        JsonObject first = list.get(0).getAsJsonObject();
        assertEquals("text_model.embeddings.token_embedding.weight", first.get("name").getAsString());
        assertEquals("F16", first.get("dtype").getAsString());
        assertEquals(List.of(64L, (long) ModelZoo.D), first.getAsJsonArray("shape").asList().stream().map(e -> e.getAsLong()).toList());
        assertEquals("text_encoder", first.get("component").getAsString());

        String text = InfoCommandTest.run("inspect", pipeline.toString()).out();
        assertTrue(text.contains("component transformer: " + ModelZoo.fluxDiffusers().size() + " tensors"), text);
        assertTrue(text.contains("block list single_transformer_blocks"), text);
    }

    @Test
    void inspectSplitsABundleAndKeepsNamesAsInTheFile() {
        JsonObject j = json("inspect", bundle.toString(), "--json", "--tensors");
        assertEquals("bundle", j.get("layout").getAsString());
        JsonArray components = j.getAsJsonArray("components");
        assertEquals(List.of("diffusion_model", "clip_l", "vae"), strings(components, "name"));
        assertEquals("model.diffusion_model.", components.get(0).getAsJsonObject().getAsJsonArray("bundle_prefixes").get(0).getAsString());
        assertEquals(List.of("double_blocks", "single_blocks"), strings(components.get(0).getAsJsonObject().getAsJsonArray("block_lists"), "prefix"));
        JsonObject t = j.getAsJsonArray("tensor_list").get(0).getAsJsonObject();
        assertTrue(t.get("name").getAsString().startsWith("model.diffusion_model."), t.toString());
        assertEquals("diffusion_model", t.get("component").getAsString());
    }

    @Test
    void variantAndComponentChooseWhatRuns() {
        JsonObject plain = json("inspect", variants.toString(), "--json");
        assertTrue(plain.getAsJsonArray("components").get(0).getAsJsonObject().getAsJsonArray("files").get(0).getAsString()
                .endsWith("model.safetensors"));
        JsonObject bf16 = json("inspect", variants.toString(), "--variant", "bf16", "--json");
        assertEquals(2, bf16.getAsJsonArray("components").get(0).getAsJsonObject().getAsJsonArray("files").size());
        var missing = InfoCommandTest.run("inspect", variants.toString(), "--variant", "fp8");
        assertEquals(2, missing.exit());
        assertTrue(missing.err().contains("no files of variant 'fp8'") && missing.err().contains("--variant bf16"), missing.err());

        // without --component, every component runs in turn
        JsonObject several = json("run", pipeline.toString(), "--device", "host", "--steps", "1", "--hidden", "16", "--verify", "--json");
        assertTrue(several.get("verified").getAsBoolean(), several.toString());
        assertEquals(List.of("text_encoder", "text_encoder_2", "transformer", "vae"), strings(several.getAsJsonArray("components"), "name"));
        JsonObject run = json("run", pipeline.toString(), "--component", "text_encoder", "--device", "host", "--budget", "12KiB",
                "--steps", "2", "--hidden", "16", "--verify", "--json");
        assertTrue(run.get("verified").getAsBoolean(), run.toString());
        assertTrue(run.get("budget_bytes").getAsLong() < run.get("model_bytes").getAsLong(), run.toString());
        JsonObject fromBundle = json("run", bundle.toString(), "--component", "vae", "--device", "host", "--steps", "1", "--verify", "--json");
        assertTrue(fromBundle.get("verified").getAsBoolean(), fromBundle.toString());
    }

    @Test
    void anEmptyCheckpointInspectsAsZeroTensorsAndDoesNotRun() {
        JsonObject j = json("inspect", empty.toString(), "--json", "--tensors");
        assertEquals(0, j.get("tensors").getAsInt());
        assertEquals(0, j.get("total_bytes").getAsLong());
        assertEquals(0, j.getAsJsonArray("block_lists").size());
        assertEquals(0, j.getAsJsonArray("tensor_list").size());
        JsonObject c = j.getAsJsonArray("components").get(0).getAsJsonObject();
        assertEquals(0, c.get("tensors").getAsInt());
        assertEquals(empty.toString(), c.getAsJsonArray("files").get(0).getAsString());
        assertTrue(InfoCommandTest.run("inspect", empty.toString()).out().contains("0 tensors"));
        var r = InfoCommandTest.run("run", empty.toString(), "--device", "host");
        assertEquals(2, r.exit());
        assertTrue(r.err().startsWith("offload: " + empty) && r.err().contains("no tensors"), r.err());
        assertEquals(1, r.err().strip().lines().count());
    }
}
