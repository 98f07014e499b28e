package dev.offload.checkpoint;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.offload.OffloadException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Several safetensors files opened as one checkpoint: from a {@code model.safetensors.index.json}
 * (its {@code weight_map} names each tensor's shard, and must agree with the shards exactly), from
 * a folder's shard set ({@link WeightFolder} decides which files), or from a list of files. A tensor name
 * may appear in one shard only. Metadata is the index's {@code metadata} strings, else the first
 * shard's.
 */
public final class ShardedCheckpoint implements Checkpoint {
    private final String name;
    private final List<SafetensorsFile> shards;
    private final List<TensorInfo> tensors = new ArrayList<>();
    private final Map<String, TensorInfo> byName = new HashMap<>();
    private final Map<Path, SafetensorsFile> byFile = new HashMap<>();
    private final Map<String, String> metadata;

    private ShardedCheckpoint(String name, List<SafetensorsFile> shards, Map<String, String> metadata) {
        this.name = name;
        this.shards = shards;
        for (SafetensorsFile shard : shards) {
            byFile.put(shard.path(), shard);
            for (TensorInfo t : shard.tensors()) {
                TensorInfo previous = byName.put(t.name(), t);
                if (previous != null) {
                    close();
                    throw OffloadException.invalid(name + ": tensor '" + t.name() + "' appears in both " + previous.file()
                            + " and " + t.file() + " (a tensor may live in one shard only)");
                }
                tensors.add(t);
            }
        }
        this.metadata = metadata != null ? metadata : shards.isEmpty() ? Map.of() : shards.get(0).metadata();
    }

    static ShardedCheckpoint fromFiles(List<Path> files) {
        return new ShardedCheckpoint(files.toString(), openAll(files), null);
    }

    /** A shard set a folder's names make one checkpoint ({@link WeightFolder}), named by the folder. */
    static ShardedCheckpoint fromFiles(String name, List<Path> files) {
        return new ShardedCheckpoint(name, openAll(files), null);
    }

    static ShardedCheckpoint fromIndex(Path index) {
        JsonObject root;
        try {
            JsonElement parsed = JsonParser.parseString(Files.readString(index));
            if (!parsed.isJsonObject()) throw OffloadException.invalid(index + ": the index is not a JSON object");
            root = parsed.getAsJsonObject();
        } catch (IOException e) {
            throw OffloadException.io(index + ": cannot read", e);
        } catch (com.google.gson.JsonParseException e) {
            throw OffloadException.invalid(index + ": not valid JSON: " + e.getMessage());
        }
        if (!root.has("weight_map") || !root.get("weight_map").isJsonObject()) {
            throw OffloadException.invalid(index + ": weight_map: missing or not an object");
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (var e : root.getAsJsonObject("weight_map").entrySet()) {
            if (!e.getValue().isJsonPrimitive() || !e.getValue().getAsJsonPrimitive().isString()) {
                throw OffloadException.invalid(index + ": weight_map: the shard of '" + e.getKey() + "' is not a file name");
            }
            weightMap.put(e.getKey(), e.getValue().getAsString());
        }
        Path dir = index.toAbsolutePath().getParent();
        List<Path> files = new TreeSet<>(weightMap.values()).stream().map(dir::resolve).toList();
        for (Path f : files) {
            if (!f.normalize().startsWith(dir.normalize())) {
                throw OffloadException.invalid(index + ": weight_map names a shard outside the index's folder: " + f);
            }
        }
        Map<String, String> metadata = null;
        if (root.has("metadata") && root.get("metadata").isJsonObject()) {
            metadata = new LinkedHashMap<>();
            for (var e : root.getAsJsonObject("metadata").entrySet()) {
                if (e.getValue().isJsonPrimitive()) metadata.put(e.getKey(), e.getValue().getAsString());
            }
            metadata = Collections.unmodifiableMap(metadata);
        }
        ShardedCheckpoint checkpoint = new ShardedCheckpoint(index.toString(), openAll(files), metadata);
        for (var e : weightMap.entrySet()) {
            TensorInfo t = checkpoint.byName.get(e.getKey());
            Path expected = dir.resolve(e.getValue());
            if (t == null || !t.file().equals(expected)) {
                checkpoint.close();
                throw OffloadException.invalid(index + ": weight_map puts '" + e.getKey() + "' in " + e.getValue()
                        + " but that shard does not hold it");
            }
        }
        for (TensorInfo t : checkpoint.tensors) {
            if (!weightMap.containsKey(t.name())) {
                checkpoint.close();
                throw OffloadException.invalid(index + ": " + t.file() + " holds '" + t.name() + "', which weight_map does not list");
            }
        }
        return checkpoint;
    }

    private static List<SafetensorsFile> openAll(List<Path> files) {
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            for (Path f : files) opened.add(SafetensorsFile.open(f.toAbsolutePath()));
            return opened;
        } catch (RuntimeException e) {
            opened.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<TensorInfo> tensors() {
        return Collections.unmodifiableList(tensors);
    }

    @Override
    public TensorInfo tensor(String tensorName) {
        TensorInfo t = byName.get(tensorName);
        if (t == null) throw OffloadException.invalid(name + ": no tensor named '" + tensorName + "'");
        return t;
    }

    @Override
    public MemorySegment data(TensorInfo tensor) {
        SafetensorsFile shard = byFile.get(tensor.file());
        if (shard == null) throw OffloadException.invalid(name + ": tensor '" + tensor.name() + "' is not from this checkpoint");
        return shard.data(tensor);
    }

    @Override
    public List<Path> files() {
        return shards.stream().map(SafetensorsFile::path).toList();
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public void close() {
        shards.forEach(SafetensorsFile::close);
    }
}
