package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.offload.graph.PresetFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code inspect --groups} on a diffusers SDXL pipeline folder built from the real models' names
 * (tests/resources/presets): every component's graph comes from its class's preset, and its groups
 * run in the model's forward order.
 */
class InspectGroupsTest {
    @TempDir
    static Path dir;
    static Path sdxl;

    @BeforeAll
    static void writeSdxl() throws Exception {
        sdxl = dir.resolve("stable-diffusion-xl-base-1.0");
        Files.createDirectories(sdxl);
        Files.writeString(sdxl.resolve("model_index.json"), """
                {"_class_name": "StableDiffusionXLPipeline", "_diffusers_version": "0.19.0.dev0",
                 "scheduler": ["diffusers", "EulerDiscreteScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
                 "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"], "tokenizer": ["transformers", "CLIPTokenizer"],
                 "tokenizer_2": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
                 "vae": ["diffusers", "AutoencoderKL"], "force_zeros_for_empty_prompt": true}""");
        PresetFixtures.folder(sdxl.resolve("unet"), PresetFixtures.load("unet-sdxl"), true);
        PresetFixtures.folder(sdxl.resolve("vae"), PresetFixtures.load("vae-sdxl"), true);
        PresetFixtures.folder(sdxl.resolve("text_encoder"), PresetFixtures.load("clip-l"), false);
        PresetFixtures.folder(sdxl.resolve("text_encoder_2"), PresetFixtures.load("clip-bigg"), false);
    }

    static JsonObject component(JsonObject j, String name) {
        for (JsonElement c : j.getAsJsonArray("components")) {
            if (c.getAsJsonObject().get("name").getAsString().equals(name)) return c.getAsJsonObject();
        }
        throw new AssertionError("no component " + name);
    }

    static List<String> groupNames(JsonObject component) {
        List<String> out = new ArrayList<>();
        component.getAsJsonArray("groups").forEach(g -> out.add(g.getAsJsonObject().get("name").getAsString()));
        return out;
    }

    static List<String> tensors(JsonObject component, String group) {
        for (JsonElement g : component.getAsJsonArray("groups")) {
            if (g.getAsJsonObject().get("name").getAsString().equals(group)) {
                List<String> out = new ArrayList<>();
                g.getAsJsonObject().getAsJsonArray("tensors").forEach(t -> out.add(t.getAsString()));
                return out;
            }
        }
        throw new AssertionError("no group " + group + " in " + groupNames(component));
    }

    @Test
    void everySdxlComponentRunsInItsModelsForwardOrder() {
        JsonObject j = LayoutCommandsTest.json("inspect", sdxl.toString(), "--groups", "--json");
        assertEquals(List.of("text_encoder", "text_encoder_2", "unet", "vae"), LayoutCommandsTest.strings(j.getAsJsonArray("components"), "name"));
        for (String c : List.of("text_encoder", "text_encoder_2", "unet", "vae")) {
            assertTrue(component(j, c).get("graph_source").getAsString().startsWith("preset "), c);
        }
        assertEquals("preset UNet2DConditionModel", component(j, "unet").get("graph_source").getAsString());
        assertEquals("preset CLIPTextModelWithProjection", component(j, "text_encoder_2").get("graph_source").getAsString());

        JsonObject unet = component(j, "unet");
        List<String> groups = groupNames(unet);
        assertEquals(List.of("time_embedding.linear_1.weight", "time_embedding.linear_1.bias", "time_embedding.linear_2.weight",
                "time_embedding.linear_2.bias", "add_embedding.linear_1.weight", "add_embedding.linear_1.bias", "add_embedding.linear_2.weight",
                "add_embedding.linear_2.bias", "conv_in.weight", "conv_in.bias"), tensors(unet, "head"));
        assertEquals("head", groups.get(0));
        assertEquals(List.of("down_blocks.0.resnets.0", "down_blocks.0.resnets.1", "down_blocks.0.downsamplers.0", "down_blocks.1.resnets.0",
                "down_blocks.1.attentions.0", "down_blocks.1.resnets.1", "down_blocks.1.attentions.1"), groups.subList(1, 8));
        int mid = groups.indexOf("mid_block.resnets.0");
        assertEquals(List.of("down_blocks.2.attentions.1", "mid_block.resnets.0", "mid_block.attentions.0", "mid_block.resnets.1",
                "up_blocks.0.resnets.0", "up_blocks.0.attentions.0"), groups.subList(mid - 1, mid + 5));
        assertEquals(List.of("up_blocks.2.resnets.1", "up_blocks.2.resnets.2", "tail"), groups.subList(groups.size() - 3, groups.size()));
        assertEquals(List.of("conv_norm_out.weight", "conv_norm_out.bias", "conv_out.weight", "conv_out.bias"), tensors(unet, "tail"));
        assertEquals(List.of("mid_block.attentions.0.norm.weight", "mid_block.attentions.0.norm.bias", "mid_block.attentions.0.proj_in.weight",
                "mid_block.attentions.0.proj_in.bias", "mid_block.attentions.0.transformer_blocks.0.norm1.weight"),
                tensors(unet, "mid_block.attentions.0").subList(0, 5));
        // head; down blocks 3 + 5 + 4 (resnets, attentions, downsamplers); mid 3; up blocks 7 + 7 + 3; tail
        assertEquals(1 + 12 + 3 + 17 + 1, groups.size());

        JsonObject vae = component(j, "vae");
        assertEquals(List.of("head", "encoder.down_blocks.0", "encoder.down_blocks.1", "encoder.down_blocks.2", "encoder.down_blocks.3",
                "encoder.mid_block", "encoder.out", "quant_conv", "post_quant_conv", "decoder.conv_in", "decoder.mid_block",
                "decoder.up_blocks.0", "decoder.up_blocks.1", "decoder.up_blocks.2", "decoder.up_blocks.3", "tail"), groupNames(vae));
        assertEquals(List.of("encoder.conv_in.weight", "encoder.conv_in.bias"), tensors(vae, "head"));
        assertEquals(List.of("quant_conv.weight", "quant_conv.bias"), tensors(vae, "quant_conv"));
        assertEquals(List.of("decoder.conv_norm_out.weight", "decoder.conv_norm_out.bias", "decoder.conv_out.weight", "decoder.conv_out.bias"),
                tensors(vae, "tail"));
        List<String> midVae = tensors(vae, "decoder.mid_block");
        assertEquals("decoder.mid_block.resnets.0.norm1.weight", midVae.get(0));
        assertEquals("decoder.mid_block.attentions.0.group_norm.weight", midVae.get(8));
        assertEquals("decoder.mid_block.resnets.1.conv2.bias", midVae.get(midVae.size() - 1));

        for (String clip : List.of("text_encoder", "text_encoder_2")) {
            JsonObject c = component(j, clip);
            List<String> names = groupNames(c);
            assertEquals(List.of("text_model.embeddings.token_embedding.weight", "text_model.embeddings.position_embedding.weight"),
                    tensors(c, "head"), clip);
            assertEquals("text_model.encoder.layers.0", names.get(1), clip);
            assertEquals("tail", names.get(names.size() - 1), clip);
        }
        assertEquals(List.of("text_model.final_layer_norm.weight", "text_model.final_layer_norm.bias"), tensors(component(j, "text_encoder"), "tail"));
        assertEquals(List.of("text_model.final_layer_norm.weight", "text_model.final_layer_norm.bias", "text_projection.weight"),
                tensors(component(j, "text_encoder_2"), "tail"));
        assertEquals(1 + 32 + 1, groupNames(component(j, "text_encoder_2")).size());
    }

    @Test
    void theTextSaysWhereEachGraphCameFromAndListsTheGroups() {
        InfoCommandTest.Result r = InfoCommandTest.run("inspect", sdxl.toString(), "--groups");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("component unet: 1680 tensors"), r.out());
        assertTrue(r.out().contains("  graph: preset UNet2DConditionModel\n"), r.out());
        assertTrue(r.out().contains("  graph: preset AutoencoderKL\n"), r.out());
        assertTrue(r.out().contains("  group mid_block.attentions.0: "), r.out());
        int resnet = r.out().indexOf("  group mid_block.resnets.0: "), attention = r.out().indexOf("  group mid_block.attentions.0: ");
        assertTrue(resnet > 0 && attention > resnet, "mid block resnet before its attention");
        assertTrue(r.out().contains("\n    conv_out.bias\n"), "tensor lines");
        InfoCommandTest.Result plain = InfoCommandTest.run("inspect", sdxl.resolve("unet").toString());
        assertTrue(plain.out().contains("  graph: preset UNet2DConditionModel"), plain.out());
        assertTrue(!plain.out().contains("  group "), "groups only with --groups");
    }

    @Test
    void aComponentWithoutAConfigIsDiscovered() throws Exception {
        Path bare = dir.resolve("bare");
        Files.createDirectories(bare);
        PresetFixtures.folder(bare, PresetFixtures.load("llama-3.1-8b"), false);
        Files.delete(bare.resolve("config.json"));
        JsonObject j = LayoutCommandsTest.json("inspect", bare.toString(), "--json");
        assertEquals("discovered", component(j, "model").get("graph_source").getAsString());
        assertTrue(!component(j, "model").has("groups"), "groups only with --groups");
    }
}
