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
 *
 * <p>Index consistency (the rules transformers' {@code load_sharded_checkpoint} relies on): a
 * {@code weight_map} with no entries while {@code .safetensors} files sit beside the index is refused
 * (an index that lists nothing cannot be the description of those shards: most often a truncated
 * download or a hand-edited file); a tensor the map puts in a shard that does not hold it is refused;
 * a shard tensor the map does not list is refused. Each refusal is INVALID_ARGUMENT naming the index
 * and the rule. {@code metadata.total_size} is only compared: when it differs from the shards' tensor
 * bytes a WARNING is logged (System.Logger {@code dev.offload.checkpoint}), since the reference tools
 * never check it and released indexes are sometimes off (some count the headers).
 */
public final class ShardedCheckpoint implements Checkpoint {
    private static final System.Logger LOG = System.getLogger("dev.offload.checkpoint");
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
        if (weightMap.isEmpty()) {
            List<String> beside = shardsBeside(dir);
            if (!beside.isEmpty()) {
                throw OffloadException.invalid(index + ": weight_map is empty while " + String.join(", ", beside)
                        + " sit beside it (rule: an index must list every tensor of its shards; regenerate the index or open the shard files themselves)");
            }
        }
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
                        + " but that shard does not hold it (rule: every tensor the index names must be in the shard it names)");
            }
        }
        for (TensorInfo t : checkpoint.tensors) {
            if (!weightMap.containsKey(t.name())) {
                checkpoint.close();
                throw OffloadException.invalid(index + ": " + t.file() + " holds '" + t.name() + "', which weight_map does not list");
            }
        }
        checkTotalSize(index, root, checkpoint.totalBytes());
        return checkpoint;
    }

    /** The .safetensors files in {@code dir}, by name (none when it cannot be listed). */
    private static List<String> shardsBeside(Path dir) {
        try (var list = Files.list(dir)) {
            return list.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".safetensors")).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** A WARNING when the index's metadata.total_size is a number other than the shards' tensor bytes. */
    static void checkTotalSize(Path index, JsonObject root, long tensorBytes) {
        if (!root.has("metadata") || !root.get("metadata").isJsonObject()) return;
        JsonElement size = root.getAsJsonObject("metadata").get("total_size");
        if (size == null || !size.isJsonPrimitive()) return;
        long declared;
        try {
            declared = size.getAsJsonPrimitive().getAsBigDecimal().longValueExact();
        } catch (NumberFormatException | ArithmeticException e) {
            return;  // not a whole number: nothing to compare (the reference tools ignore it too)
        }
        if (declared != tensorBytes) {
            LOG.log(System.Logger.Level.WARNING, "{0}: metadata.total_size is {1} but the shards'' tensors hold {2} bytes (only a warning: "
                    + "the reference tools do not check total_size)", index, Long.toString(declared), Long.toString(tensorBytes));
        }
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
