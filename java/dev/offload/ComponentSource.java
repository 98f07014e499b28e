package dev.offload;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.graph.BlockGraph;
import java.util.ArrayList;
import java.util.List;

/**
 * What a component was registered from, for sharing: a checkpoint's files (real paths, sizes,
 * modification times) and tensor layout, or a graph instance.
 */
record ComponentSource(List<String> files, long tensors, long bytes, Object graph) {
    static ComponentSource of(Checkpoint checkpoint) {
        List<String> files = new ArrayList<>();
        for (java.nio.file.Path p : checkpoint.files()) {
            try {
                java.nio.file.Path real = p.toRealPath();
                files.add(real + ":" + java.nio.file.Files.size(real) + ":" + java.nio.file.Files.getLastModifiedTime(real).toMillis());
            } catch (java.io.IOException e) {
                files.add(p.toString());
            }
        }
        if (files.isEmpty()) return new ComponentSource(List.of(), checkpoint.tensors().size(), checkpoint.totalBytes(), checkpoint);
        return new ComponentSource(List.copyOf(files), checkpoint.tensors().size(), checkpoint.totalBytes(), null);
    }

    static ComponentSource of(BlockGraph graph) {
        return new ComponentSource(List.of(), graph.tensors().size(), graph.totalBytes(), graph);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ComponentSource k && files.equals(k.files) && tensors == k.tensors && bytes == k.bytes && graph == k.graph;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(files, tensors, bytes, System.identityHashCode(graph));
    }

    /** Why {@code other} is not this source, in words (the same files changed since, other files, other tensors). */
    String differenceFrom(ComponentSource other) {
        if (!files.isEmpty() && !other.files.isEmpty()) {
            if (paths().equals(other.paths()) && !files.equals(other.files)) {
                return "the same file(s), changed since (size or modification time differs)";
            }
        }
        return null;
    }

    /** The files' paths alone (each entry is path:size:modified). */
    private List<String> paths() {
        return files.stream().map(f -> f.indexOf(':') < 0 ? f : f.substring(0, f.indexOf(':'))).toList();
    }

    String describe() {
        return files.isEmpty() ? "a block graph of " + tensors + " tensors" : files.size() + " file(s) (" + paths().get(0)
                + (files.size() > 1 ? ", ..." : "") + ")";
    }
}
