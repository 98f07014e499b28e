package dev.offload.engine;


import dev.offload.checkpoint.Checkpoint;
import dev.offload.graph.BlockGraph;
import dev.offload.memory.FileStamp;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What a component was registered from, for sharing: a checkpoint's files (real paths and their
 * {@link FileStamp}s: device, inode, size, modification and change time) and tensor layout, or a
 * graph instance. A file replaced by another of the same size and times (cp -p, rsync -a) is another
 * inode and change time, so a second registration does not share the first one's packed copy.
 * A file whose stamp cannot be read keeps a null stamp (and shares only with itself unreadable).
 */
record ComponentSource(List<Path> files, List<FileStamp> stamps, long tensors, long bytes, Object graph) {
    static ComponentSource of(Checkpoint checkpoint) {
        List<Path> files = new ArrayList<>();
        List<FileStamp> stamps = new ArrayList<>();
        for (Path p : checkpoint.files()) {
            Path real;
            try {
                real = p.toRealPath();
            } catch (java.io.IOException e) {
                real = p.toAbsolutePath();
            }
            FileStamp stamp;
            try {
                stamp = FileStamp.of(real);
            } catch (java.io.IOException e) {
                stamp = null;
            }
            files.add(real);
            stamps.add(stamp);
        }
        if (files.isEmpty()) return new ComponentSource(List.of(), List.of(), checkpoint.tensors().size(), checkpoint.totalBytes(), checkpoint);
        return new ComponentSource(List.copyOf(files), java.util.Collections.unmodifiableList(stamps), checkpoint.tensors().size(),
                checkpoint.totalBytes(), null);
    }

    static ComponentSource of(BlockGraph graph) {
        return new ComponentSource(List.of(), List.of(), graph.tensors().size(), graph.totalBytes(), graph);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ComponentSource k && files.equals(k.files) && stamps.equals(k.stamps) && tensors == k.tensors
                && bytes == k.bytes && graph == k.graph;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(files, stamps, tensors, bytes, System.identityHashCode(graph));
    }

    /** Why {@code other} is not this source, in words (the same files changed since: which, and how), or null. */
    String differenceFrom(ComponentSource other) {
        if (files.isEmpty() || !files.equals(other.files) || stamps.equals(other.stamps)) return null;
        for (int i = 0; i < files.size(); i++) {
            FileStamp was = stamps.get(i), now = other.stamps.get(i);
            if (java.util.Objects.equals(was, now)) continue;
            String how = was == null || now == null ? "readable then, not now (or the reverse)" : now.changeFrom(was);
            return "the same file(s), changed since (" + files.get(i) + ": " + how + ")";
        }
        return null;
    }

    String describe() {
        return files.isEmpty() ? "a block graph of " + tensors + " tensors" : files.size() + " file(s) (" + files.get(0)
                + (files.size() > 1 ? ", ..." : "") + ")";
    }
}
