package dev.offload.graph;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.offload.checkpoint.DType;
import dev.offload.checkpoint.SafetensorsWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The names-only fixtures of tests/resources/presets (written by scripts/preset_fixtures.py from the
 * models' module sources, each citing its source), and component folders built from them: a
 * {@code config.json} naming the class and a safetensors file of one-element tensors, in name order
 * as a real header lists them.
 */
public final class PresetFixtures {
    public record Fixture(String className, String source, List<String> names) {}

    private PresetFixtures() {}

    public static Fixture load(String name) {
        try (InputStream in = PresetFixtures.class.getResourceAsStream("/presets/" + name + ".json")) {
            if (in == null) throw new IllegalArgumentException("no fixture presets/" + name + ".json");
            JsonObject o = JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
            List<String> names = new ArrayList<>();
            for (JsonElement e : o.getAsJsonArray("names")) names.add(e.getAsString());
            return new Fixture(o.get("class").getAsString(), o.get("source").getAsString(), names);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A component folder: config.json in diffusers' ({@code _class_name}) or transformers' ({@code architectures}) keys, and the
     * weights; an original single-file layout's fixture (no class) gets no config.
     */
    public static Path folder(Path dir, Fixture f, boolean diffusers) {
        try {
            Files.createDirectories(dir);
            if (!f.className().isEmpty()) Files.writeString(dir.resolve("config.json"), diffusers ? "{\"_class_name\": \"" + f.className() + "\", \"_diffusers_version\": \"0.35.0\"}"
                    : "{\"architectures\": [\"" + f.className() + "\"], \"model_type\": \"x\"}");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<SafetensorsWriter.Spec> specs = f.names().stream().sorted().map(n -> new SafetensorsWriter.Spec(n, DType.BF16, new long[] {1})).toList();
        SafetensorsWriter.write(dir.resolve(diffusers ? "diffusion_pytorch_model.safetensors" : "model.safetensors"), specs, Map.of(),
                (s, t) -> t.fill((byte) 1));
        return dir;
    }
}
