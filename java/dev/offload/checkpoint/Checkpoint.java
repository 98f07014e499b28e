package dev.offload.checkpoint;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Named tensors mapped from safetensors files: one model's weights (one component).
 *
 * <p>{@link #open(Path)} takes a path as users have it and expects it to hold one component: a
 * {@code .safetensors} file, an index ({@code model.safetensors.index.json},
 * {@code diffusion_pytorch_model.safetensors.index.json}, variants), a folder holding one checkpoint
 * (the variant and shard rules of {@link WeightFolder}), a pipeline folder or a bundle with one
 * component. A path holding several components (a pipeline folder, a bundle file) is refused with
 * their names: choose one with {@link OpenOptions#component}, or open them all with
 * {@link Pipeline#open}. {@link Pipeline} documents the layouts.
 *
 * <p>{@link #tensors()} lists tensors in a stable order: files in order, and within a file by data
 * offset. Tensor bytes are read-only mapped segments, valid until the checkpoint is closed.
 */
public interface Checkpoint extends AutoCloseable {
    /** The one component at {@code path}, with the default {@link OpenOptions}. */
    static Checkpoint open(Path path) {
        return open(path, OpenOptions.defaults());
    }

    /** The one component at {@code path} (or the one {@code options} names). */
    static Checkpoint open(Path path, OpenOptions options) {
        return Pipeline.open(path, options).single();
    }

    /** Several files merged into one checkpoint; one path as {@link #open(Path)}. */
    static Checkpoint open(List<Path> paths) {
        return open(paths, OpenOptions.defaults());
    }

    static Checkpoint open(List<Path> paths, OpenOptions options) {
        return Pipeline.open(paths, options).single();
    }

    /** What this checkpoint was opened from, for messages. */
    String name();

    List<TensorInfo> tensors();

    /** The tensor of that name; an INVALID_ARGUMENT exception names the checkpoint when absent. */
    TensorInfo tensor(String name);

    /** The tensor's bytes (read-only). */
    MemorySegment data(TensorInfo tensor);

    Map<String, String> metadata();

    /** The files this checkpoint reads, as they were named (a symlink's name, not its target's). */
    List<Path> files();

    default long totalBytes() {
        long sum = 0;
        for (TensorInfo t : tensors()) sum += t.byteSize();
        return sum;
    }

    @Override
    void close();
}
