package dev.offload.checkpoint;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.offload.OffloadException;
import dev.offload.Status;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A model as it sits on a user's disk, opened as named components in a stable order.
 *
 * <ul>
 *   <li><b>Pipeline folder</b> ({@link Layout#PIPELINE}): a folder with a diffusers
 *       {@code model_index.json}. Each entry {@code "name": [library, class]} whose subfolder holds
 *       safetensors weights is a component, in the index's order; the others (scheduler, tokenizer,
 *       folders with only .bin files) are not. Each subfolder opens by {@link WeightFolder}'s rules
 *       (one file, one shard set, or an index under any base name, e.g.
 *       {@code diffusion_pytorch_model.safetensors.index.json} or {@code model.safetensors.index.json});
 *       a requested variant a component lacks falls back to its plain files, as in diffusers, but
 *       one no component has is refused. An entry naming a class ({@code [library, class]}, not
 *       diffusers' {@code [null, null]} for an optional component left out) whose folder is missing
 *       is a WARNING naming each such component, and the others open; none left is INVALID_ARGUMENT
 *       naming the index file, as is {@code --component} choosing a missing one. Bundle rules do not apply inside pipelines.</li>
 *   <li><b>Bundle</b> ({@link Layout#BUNDLE}): any other path opens as one checkpoint (a
 *       {@code .safetensors} file, an index, a folder by {@link WeightFolder}'s rules, or several files
 *       merged), which {@link BundleRule}s then split when at least one of its tensors matches one:
 *       components in rule order (a {@code *} rule's by name), then {@code other} for the tensors no
 *       rule matched, under their full names. Components are {@link BundleComponent} views: names
 *       with the bundle prefix stripped, bytes the one mapped file's.</li>
 *   <li><b>Single</b> ({@link Layout#SINGLE}): no rule matched; one component named {@code model}.</li>
 * </ul>
 * A Hugging Face cache folder ({@code models--org--name}) opens its {@code refs/main} snapshot (or its
 * only one); snapshot files are symlinks into {@code blobs/}, mapped through the link and named by it.
 * {@link OpenOptions#component} opens one component only (a pipeline's other folders are not opened).
 *
 * <p>The pipeline owns every checkpoint it opened; closing it unmaps them all and its components
 * become unusable. It is not thread-safe to close while others read.
 */
public final class Pipeline implements AutoCloseable {
    /** How the path's components were found. */
    public enum Layout { SINGLE, PIPELINE, BUNDLE }

    /** The component of a checkpoint no bundle rule splits, and the component of a bundle's unmatched tensors. */
    public static final String SINGLE_COMPONENT = "model", OTHER_COMPONENT = "other";

    private static final System.Logger LOG = System.getLogger("dev.offload.checkpoint");
    private final String name;
    private final Layout layout;
    private final Map<String, Checkpoint> components;
    private final List<Checkpoint> owned;
    private boolean closed;

    private Pipeline(String name, Layout layout, Map<String, Checkpoint> components, List<Checkpoint> owned) {
        this.name = name;
        this.layout = layout;
        this.components = Collections.unmodifiableMap(components);
        this.owned = owned;
    }

    public static Pipeline open(Path path) {
        return open(path, OpenOptions.defaults());
    }

    public static Pipeline open(Path path, OpenOptions options) {
        if (!Files.exists(path)) throw new OffloadException(Status.IO, path + ": no such file or directory");
        if (Files.isDirectory(path)) {
            Path dir = hubSnapshot(path);
            Path index = dir.resolve("model_index.json");
            if (Files.isRegularFile(index)) return openPipeline(dir, index, options);
            return split(dir.toString(), WeightFolder.open(dir, options.variant(), false), options);
        }
        String file = path.getFileName().toString();
        if (file.equals("model_index.json")) return open(path.toAbsolutePath().getParent(), options);
        if (options.variant() != null) {
            throw OffloadException.invalid(path + ": a variant chooses among a folder's files; this is one file (open its folder, or drop the variant)");
        }
        return split(path.toString(), file.endsWith(".json") ? ShardedCheckpoint.fromIndex(path) : SafetensorsFile.open(path), options);
    }

    /** Several files merged into one checkpoint (then split by the bundle rules); one path as {@link #open(Path, OpenOptions)}. */
    public static Pipeline open(List<Path> paths, OpenOptions options) {
        if (paths.isEmpty()) throw OffloadException.invalid("no checkpoint path given");
        if (paths.size() == 1) return open(paths.get(0), options);
        if (options.variant() != null) throw OffloadException.invalid(paths + ": a variant chooses among a folder's files, not among files given by name");
        for (Path p : paths) {
            if (!Files.exists(p)) throw new OffloadException(Status.IO, p + ": no such file or directory");
        }
        return split(paths.toString(), ShardedCheckpoint.fromFiles(paths), options);
    }

    /** What was opened, for messages. */
    public String name() {
        return name;
    }

    public Layout layout() {
        return layout;
    }

    /** The components by name, in order. */
    public Map<String, Checkpoint> components() {
        ensureOpen();
        return components;
    }

    public Checkpoint component(String componentName) {
        ensureOpen();
        Checkpoint c = components.get(componentName);
        if (c == null) throw OffloadException.invalid(name + ": no component named '" + componentName + "'; components: " + describe());
        return c;
    }

    /** The bundle prefixes stripped from a component's tensor names (empty unless {@link Layout#BUNDLE}). */
    public List<String> bundlePrefixes(String componentName) {
        return component(componentName) instanceof BundleComponent b ? b.prefixes() : List.of();
    }

    /** A component tensor's name in the file that holds it (the bundle prefix put back). */
    public String nameInFile(String componentName, TensorInfo tensor) {
        return component(componentName) instanceof BundleComponent b ? b.nameInFile(tensor) : tensor.name();
    }

    public int tensorCount() {
        return components().values().stream().mapToInt(c -> c.tensors().size()).sum();
    }

    public long totalBytes() {
        return components().values().stream().mapToLong(Checkpoint::totalBytes).sum();
    }

    /** "transformer (1290 tensors), vae (244 tensors)" */
    String describe() {
        return components.entrySet().stream().map(e -> e.getKey() + " (" + e.getValue().tensors().size() + " tensors)")
                .collect(Collectors.joining(", "));
    }

    /**
     * The one component, owning what this pipeline opened (closing it closes them); several are
     * refused with their names and how to choose, and this pipeline is closed.
     */
    Checkpoint single() {
        if (components.size() != 1) {
            String message = name + " holds " + components.size() + " components: " + describe()
                    + "; open one with OpenOptions.component(NAME) (--component NAME), or all with Pipeline.open";
            close();
            throw OffloadException.invalid(message);
        }
        Checkpoint only = components.values().iterator().next();
        if (owned.size() == 1 && owned.get(0) == only) return only;
        return new Owning(only, this);
    }

    private void ensureOpen() {
        if (closed) throw new OffloadException(Status.CLOSED, name + " is closed");
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        owned.forEach(Checkpoint::close);
    }

    // ---- pipelines ----

    private static Pipeline openPipeline(Path dir, Path index, OpenOptions options) {
        JsonObject root;
        try {
            JsonElement parsed = JsonParser.parseString(Files.readString(index));
            if (!parsed.isJsonObject()) throw OffloadException.invalid(index + ": not a JSON object");
            root = parsed.getAsJsonObject();
        } catch (IOException e) {
            throw OffloadException.io(index + ": cannot read", e);
        } catch (JsonParseException e) {
            throw OffloadException.invalid(index + ": not valid JSON: " + e.getMessage());
        }
        List<String> withWeights = new ArrayList<>(), missing = new ArrayList<>();
        for (var e : root.entrySet()) {
            String key = e.getKey();
            if (key.startsWith("_") || !e.getValue().isJsonArray() || e.getValue().getAsJsonArray().size() != 2) continue;
            if (key.isEmpty() || key.equals(".") || key.equals("..") || key.contains("/") || key.contains("\\")) continue;
            if (WeightFolder.holdsWeights(dir.resolve(key))) withWeights.add(key);
            else if (listsAClass(e.getValue()) && !Files.exists(dir.resolve(key))) missing.add(key);
        }
        String missingText = missing.stream().map(k -> "'" + k + "' (" + dir.resolve(k) + ")").collect(Collectors.joining(", "));
        if (withWeights.isEmpty()) {
            throw OffloadException.invalid(index + ": names no component folder holding .safetensors weights"
                    + (missing.isEmpty() ? "" : "; the folders of " + missingText + " are missing"));
        }
        if (options.component() != null && missing.contains(options.component())) {
            throw OffloadException.invalid(index + ": lists component '" + options.component() + "' but its folder "
                    + dir.resolve(options.component()) + " is missing; components with weights: " + String.join(", ", withWeights));
        }
        if (!missing.isEmpty() && options.component() == null) {
            LOG.log(System.Logger.Level.WARNING, "{0} lists {1} component(s) whose folders are missing: {2}; opening the others ({3})",
                    index, missing.size(), missingText, String.join(", ", withWeights));
        }
        List<String> chosen = withWeights;
        if (options.component() != null) {
            if (!withWeights.contains(options.component())) {
                throw OffloadException.invalid(dir + ": no component named '" + options.component() + "'; components with weights: "
                        + String.join(", ", withWeights));
            }
            chosen = List.of(options.component());
        }
        if (options.variant() != null && chosen.stream().noneMatch(k -> WeightFolder.scan(dir.resolve(k)).containsKey(options.variant()))) {
            Map<String, String> found = new LinkedHashMap<>();
            for (String k : chosen) found.put(k, WeightFolder.describe(WeightFolder.scan(dir.resolve(k))));
            throw OffloadException.invalid(dir + ": no component has variant '" + options.variant() + "'; found " + found);
        }
        Map<String, Checkpoint> components = new LinkedHashMap<>();
        List<Checkpoint> owned = new ArrayList<>();
        try {
            for (String k : chosen) {
                Checkpoint c = WeightFolder.open(dir.resolve(k), options.variant(), true);
                owned.add(c);
                components.put(k, c);
            }
        } catch (RuntimeException e) {
            owned.forEach(Checkpoint::close);
            throw e;
        }
        return new Pipeline(dir.toString(), Layout.PIPELINE, components, owned);
    }

    /**
     * Whether an index entry names a component ({@code [library, class]}, both strings); diffusers
     * writes {@code [null, null]} for an optional component the pipeline does without.
     */
    private static boolean listsAClass(JsonElement entry) {
        for (JsonElement part : entry.getAsJsonArray()) {
            if (part == null || !part.isJsonPrimitive() || !part.getAsJsonPrimitive().isString()) return false;
        }
        return true;
    }

    /** A Hugging Face cache folder's snapshot: refs/main's, else the only one; other folders as they are. */
    private static Path hubSnapshot(Path dir) {
        Path name = dir.toAbsolutePath().normalize().getFileName();
        Path snapshots = dir.resolve("snapshots");
        if (name == null || !name.toString().startsWith("models--") || !Files.isDirectory(snapshots)) return dir;
        try {
            Path ref = dir.resolve("refs").resolve("main");
            if (Files.isRegularFile(ref)) {
                String hash = Files.readString(ref).strip();
                if (hash.matches("[0-9a-fA-F]{6,64}") && Files.isDirectory(snapshots.resolve(hash))) return snapshots.resolve(hash);
            }
            List<Path> all;
            try (Stream<Path> list = Files.list(snapshots)) {
                all = list.filter(Files::isDirectory).sorted().toList();
            }
            if (all.size() == 1) return all.get(0);
            throw OffloadException.invalid(dir + ": a Hugging Face cache folder with " + all.size() + " snapshots and no usable refs/main: "
                    + all.stream().map(p -> p.getFileName().toString()).toList() + "; open one snapshot folder");
        } catch (IOException e) {
            throw OffloadException.io(dir + ": cannot read the cache folder", e);
        }
    }

    // ---- bundles ----

    private static Pipeline split(String name, Checkpoint whole, OpenOptions options) {
        try {
            Pipeline p = splitBundle(name, whole, options.bundleRules());
            if (options.component() == null) return p;
            Checkpoint chosen = p.components.get(options.component());
            if (chosen == null) {
                throw OffloadException.invalid(name + ": no component named '" + options.component() + "'; components: " + p.describe());
            }
            return new Pipeline(name, p.layout, new LinkedHashMap<>(Map.of(options.component(), chosen)), p.owned);
        } catch (RuntimeException e) {
            whole.close();
            throw e;
        }
    }

    private static Pipeline splitBundle(String name, Checkpoint whole, List<BundleRule> rules) {
        record Part(int rank, List<BundleRule.Match> matches, List<TensorInfo> tensors) {}
        Map<String, Part> parts = new LinkedHashMap<>();
        boolean anyMatched = false;
        for (TensorInfo t : whole.tensors()) {
            BundleRule.Match match = null;
            int rank = rules.size();
            for (int i = 0; i < rules.size() && match == null; i++) {
                match = rules.get(i).match(t.name());
                rank = i;
            }
            if (match == null) {
                match = new BundleRule.Match(OTHER_COMPONENT, "", t.name());
                rank = Integer.MAX_VALUE;
            } else {
                anyMatched = true;
            }
            int r = rank;
            Part part = parts.computeIfAbsent(match.component(), k -> new Part(r, new ArrayList<>(), new ArrayList<>()));
            part.matches().add(match);
            part.tensors().add(t);
            if (r < part.rank()) parts.put(match.component(), new Part(r, part.matches(), part.tensors()));
        }
        Map<String, Checkpoint> components = new LinkedHashMap<>();
        if (!anyMatched) {
            components.put(SINGLE_COMPONENT, whole);
            return new Pipeline(name, Layout.SINGLE, components, List.of(whole));
        }
        parts.entrySet().stream()
                .sorted(Comparator.comparingInt((Map.Entry<String, Part> e) -> e.getValue().rank()).thenComparing(Map.Entry::getKey))
                .forEach(e -> components.put(e.getKey(), new BundleComponent(whole, e.getKey(), e.getValue().matches(), e.getValue().tensors())));
        return new Pipeline(name, Layout.BUNDLE, components, List.of(whole));
    }

    /** Whether this checkpoint is a bundle's component that {@link #single()} handed out. */
    static boolean isBundleView(Checkpoint c) {
        return c instanceof Owning o && o.component instanceof BundleComponent;
    }

    /** One component that owns its pipeline: closing it closes the pipeline. */
    private static final class Owning implements Checkpoint {
        private final Checkpoint component;
        private final Pipeline pipeline;

        Owning(Checkpoint component, Pipeline pipeline) {
            this.component = component;
            this.pipeline = pipeline;
        }

        @Override public String name() { return component.name(); }
        @Override public List<TensorInfo> tensors() { return component.tensors(); }
        @Override public TensorInfo tensor(String tensorName) { return component.tensor(tensorName); }
        @Override public MemorySegment data(TensorInfo tensor) { return component.data(tensor); }
        @Override public List<Path> files() { return component.files(); }
        @Override public Map<String, String> metadata() { return component.metadata(); }
        @Override public void close() { pipeline.close(); }
    }
}
