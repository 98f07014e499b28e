package dev.offload.checkpoint;

import dev.offload.OffloadException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * One component of a bundle: the tensors of a larger checkpoint that {@link BundleRule}s put in it,
 * under their names with the bundle prefix stripped. A view: the bytes are the larger checkpoint's
 * mapped segments (zero-copy), valid while it is open; closing a view does nothing (the
 * {@link Pipeline} that made it closes the checkpoint underneath).
 */
final class BundleComponent implements Checkpoint {
    private final Checkpoint base;
    private final String component;
    private final List<String> prefixes;
    private final List<TensorInfo> tensors = new ArrayList<>();
    private final Map<String, TensorInfo> original = new HashMap<>();
    private final Map<String, TensorInfo> byName = new HashMap<>();

    /** {@code matches.get(i)} says where {@code of.get(i)}, a tensor of {@code base}, goes; in base order. */
    BundleComponent(Checkpoint base, String component, List<BundleRule.Match> matches, List<TensorInfo> of) {
        this.base = base;
        this.component = component;
        LinkedHashSet<String> seen = new LinkedHashSet<>();
        for (int i = 0; i < matches.size(); i++) {
            BundleRule.Match m = matches.get(i);
            TensorInfo t = of.get(i);
            seen.add(m.prefix());
            TensorInfo renamed = new TensorInfo(m.name(), t.dtype(), t.shape(), t.file(), t.begin(), t.end());
            TensorInfo previous = original.put(m.name(), t);
            if (previous != null) {
                throw OffloadException.invalid(base.name() + ": component '" + component + "' would hold '" + m.name() + "' twice ('"
                        + previous.name() + "' and '" + t.name() + "'); give bundle rules that tell them apart");
            }
            tensors.add(renamed);
            byName.put(m.name(), renamed);
        }
        this.prefixes = List.copyOf(seen);
    }

    /** The bundle prefixes stripped from this component's names ("" for tensors matching no rule). */
    List<String> prefixes() {
        return prefixes;
    }

    @Override
    public String name() {
        return base.name() + " (component " + component + ")";
    }

    @Override
    public List<TensorInfo> tensors() {
        return Collections.unmodifiableList(tensors);
    }

    @Override
    public TensorInfo tensor(String tensorName) {
        TensorInfo t = byName.get(tensorName);
        if (t == null) throw OffloadException.invalid(name() + ": no tensor named '" + tensorName + "'");
        return t;
    }

    @Override
    public MemorySegment data(TensorInfo tensor) {
        TensorInfo t = original.get(tensor.name());
        if (t == null || !t.file().equals(tensor.file()) || t.begin() != tensor.begin()) {
            throw OffloadException.invalid(name() + ": tensor '" + tensor.name() + "' is not from this component");
        }
        return base.data(t);
    }

    /** The tensor's name in the file it comes from. */
    String nameInFile(TensorInfo tensor) {
        TensorInfo t = original.get(tensor.name());
        return t != null ? t.name() : tensor.name();
    }

    @Override
    public List<Path> files() {
        return base.files();
    }

    @Override
    public Map<String, String> metadata() {
        return base.metadata();
    }

    @Override
    public void close() {
        // a view: the pipeline closes the checkpoint underneath
    }
}
