package dev.offload.checkpoint;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The {@code config.json} beside a component's weights, as diffusers and transformers write it, and
 * the model class it names: diffusers' {@code _class_name}, else transformers' first
 * {@code architectures} entry, else its {@code model_type}.
 *
 * <p>The folder is the one every file of the checkpoint sits in; a bundle's component (a part of a
 * larger file) and a checkpoint whose files sit in several folders have none. A config that cannot
 * be read or is not a JSON object is a WARNING naming the file, and the component is treated as
 * having none: the weights open either way, only the class is unknown.
 */
public record ComponentConfig(Path file, JsonObject json, String className) {
    private static final System.Logger LOG = System.getLogger("dev.offload.checkpoint");

    /** The config of this checkpoint's folder, when it has one. */
    public static Optional<ComponentConfig> of(Checkpoint checkpoint) {
        if (checkpoint instanceof BundleComponent || Pipeline.isBundleView(checkpoint)) return Optional.empty();
        Path folder = null;
        for (Path f : checkpoint.files()) {
            Path parent = f.toAbsolutePath().getParent();
            if (parent == null || (folder != null && !folder.equals(parent))) return Optional.empty();
            folder = parent;
        }
        if (folder == null) return Optional.empty();
        return read(folder.resolve("config.json"));
    }

    /** The config in this file; empty when there is none or it cannot be read (a WARNING says why). */
    public static Optional<ComponentConfig> read(Path file) {
        if (!Files.isRegularFile(file)) return Optional.empty();
        try {
            JsonElement parsed = JsonParser.parseString(Files.readString(file));
            if (!parsed.isJsonObject()) {
                LOG.log(System.Logger.Level.WARNING, "{0}: not a JSON object; the model class is unknown", file);
                return Optional.empty();
            }
            JsonObject json = parsed.getAsJsonObject();
            return Optional.of(new ComponentConfig(file, json, className(json)));
        } catch (JsonParseException e) {
            LOG.log(System.Logger.Level.WARNING, "{0}: not valid JSON ({1}); the model class is unknown", file, e.getMessage());
            return Optional.empty();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "{0}: cannot read it ({1}); the model class is unknown", file, e.getMessage());
            return Optional.empty();
        }
    }

    private static String className(JsonObject json) {
        String diffusers = string(json.get("_class_name"));
        if (diffusers != null) return diffusers;
        JsonElement archs = json.get("architectures");
        if (archs != null && archs.isJsonArray() && !archs.getAsJsonArray().isEmpty()) {
            String first = string(archs.getAsJsonArray().get(0));
            if (first != null) return first;
        }
        return string(json.get("model_type"));
    }

    private static String string(JsonElement e) {
        return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isString() && !e.getAsString().isBlank() ? e.getAsString() : null;
    }
}
