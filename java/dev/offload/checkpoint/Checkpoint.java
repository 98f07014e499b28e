package dev.offload.checkpoint;

import dev.offload.OffloadException;
import dev.offload.Status;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Named tensors mapped from safetensors files: one file, or a sharded checkpoint (a directory, a
 * {@code model.safetensors.index.json}, or several files) opened as one.
 *
 * <p>{@link #tensors()} lists tensors in a stable order: files in order, and within a file by data
 * offset. Tensor bytes are read-only mapped segments, valid until the checkpoint is closed.
 */
public interface Checkpoint extends AutoCloseable {
    /** A .safetensors file, a model.safetensors.index.json, or a directory holding either. */
    static Checkpoint open(Path path) {
        if (Files.isDirectory(path)) {
            Path index = path.resolve("model.safetensors.index.json");
            if (Files.isRegularFile(index)) return ShardedCheckpoint.fromIndex(index);
            return ShardedCheckpoint.fromDirectory(path);
        }
        if (!Files.exists(path)) throw new OffloadException(Status.IO, path + ": no such file or directory");
        if (path.getFileName().toString().endsWith(".index.json")) return ShardedCheckpoint.fromIndex(path);
        return SafetensorsFile.open(path);
    }

    /** Several paths as one checkpoint; one path as {@link #open(Path)}. */
    static Checkpoint open(List<Path> paths) {
        if (paths.isEmpty()) throw OffloadException.invalid("no checkpoint path given");
        if (paths.size() == 1) return open(paths.get(0));
        return ShardedCheckpoint.fromFiles(paths);
    }

    /** What this checkpoint was opened from, for messages. */
    String name();

    List<TensorInfo> tensors();

    /** The tensor of that name; an INVALID_ARGUMENT exception names the checkpoint when absent. */
    TensorInfo tensor(String name);

    /** The tensor's bytes (read-only). */
    MemorySegment data(TensorInfo tensor);

    Map<String, String> metadata();

    default long totalBytes() {
        long sum = 0;
        for (TensorInfo t : tensors()) sum += t.byteSize();
        return sum;
    }

    @Override
    void close();
}
