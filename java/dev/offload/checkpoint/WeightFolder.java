package dev.offload.checkpoint;

import dev.offload.OffloadException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Which of a folder's safetensors files form its one checkpoint.
 *
 * <p>Names are read the way diffusers and transformers write them ({@code _add_variant} and
 * {@code variant_compatible_siblings} in diffusers): a weights file is
 * {@code BASE[.VARIANT][-00001-of-00003].safetensors} or the legacy
 * {@code BASE-00001-of-00003.VARIANT.safetensors}; an index is
 * {@code BASE.safetensors.index[.VARIANT].json} or the legacy {@code BASE.safetensors.VARIANT.index.json}.
 * A variant is the last dot-separated segment of the stem when it starts with a letter ({@code fp16},
 * {@code bf16}, {@code fp8_e4m3fn}, {@code non_ema}); {@code sd_xl_base_1.0} has none.
 *
 * <p>Rules, in order:
 * <ol>
 *   <li>Files are grouped by variant (the plain files are one group). A requested variant opens its
 *       group (in a pipeline, a component without it falls back to its plain files, as diffusers
 *       does); without one the plain group is chosen, else the only variant, else the folder is
 *       refused with the variants found. Two variants are never merged.</li>
 *   <li>In the chosen group an index decides (files it does not name are ignored: Mistral releases
 *       keep a {@code consolidated.safetensors} beside the indexed shards); two indexes are refused.
 *       Without an index, one file is the checkpoint, and so is one complete shard set
 *       ({@code model-00001-of-00003} ... {@code model-00003-of-00003}); anything else (a release root
 *       with the transformer and the VAE side by side, unrelated files, a shard missing) is refused
 *       with the files found and how to choose.</li>
 * </ol>
 * Names come from the directory listing, never from resolved links: a Hugging Face cache snapshot's
 * files are symlinks into {@code blobs/}, mapped through the link and named by it.
 */
final class WeightFolder {
    private static final String VARIANT = "[A-Za-z][A-Za-z0-9_]*";
    private static final Pattern INDEX = Pattern.compile(
            "(.+)\\.safetensors(?:\\.(" + VARIANT + "))?\\.index(?:\\.(" + VARIANT + "))?\\.json");
    private static final Pattern LEGACY_SHARD = Pattern.compile("(.+)-(\\d+)-of-(\\d+)\\.(" + VARIANT + ")");
    private static final Pattern SHARD = Pattern.compile("(.+)-(\\d+)-of-(\\d+)");
    private static final Pattern STEM_VARIANT = Pattern.compile("(.+)\\.(" + VARIANT + ")");

    /** One weights file or index, as its name reads. shard and shards are 0 for a file that is no shard. */
    record Entry(Path path, String base, String variant, int shard, int shards, boolean index) {
        String fileName() {
            return path.getFileName().toString();
        }
    }

    private WeightFolder() {}

    /** The entry a file name describes, or null when it is neither a .safetensors file nor an index. */
    static Entry parse(Path path) {
        String name = path.getFileName().toString();
        Matcher m = INDEX.matcher(name);
        if (m.matches()) {
            if (m.group(2) != null && m.group(3) != null) return null;
            return new Entry(path, m.group(1), m.group(2) != null ? m.group(2) : m.group(3), 0, 0, true);
        }
        if (!name.endsWith(".safetensors") || name.length() == ".safetensors".length()) return null;
        String stem = name.substring(0, name.length() - ".safetensors".length());
        m = LEGACY_SHARD.matcher(stem);
        if (m.matches()) return shard(path, m.group(1), m.group(4), m.group(2), m.group(3));
        m = SHARD.matcher(stem);
        if (m.matches()) {
            Matcher v = STEM_VARIANT.matcher(m.group(1));
            return v.matches() ? shard(path, v.group(1), v.group(2), m.group(2), m.group(3)) : shard(path, m.group(1), null, m.group(2), m.group(3));
        }
        Matcher v = STEM_VARIANT.matcher(stem);
        return v.matches() ? new Entry(path, v.group(1), v.group(2), 0, 0, false) : new Entry(path, stem, null, 0, 0, false);
    }

    private static Entry shard(Path path, String base, String variant, String i, String n) {
        try {
            int shard = Integer.parseInt(i), shards = Integer.parseInt(n);
            if (shard >= 1 && shard <= shards) return new Entry(path, base, variant, shard, shards, false);
        } catch (NumberFormatException ignored) {
            // too many digits: not a shard number
        }
        return new Entry(path, base + "-" + i + "-of-" + n, variant, 0, 0, false);
    }

    /** The folder's weights files and indexes, by variant ("" for the plain ones), in name order. */
    static Map<String, List<Entry>> scan(Path dir) {
        List<Path> listed;
        try (Stream<Path> list = Files.list(dir)) {
            listed = list.sorted().toList();
        } catch (IOException e) {
            throw OffloadException.io(dir + ": cannot list", e);
        }
        Map<String, List<Entry>> byVariant = new TreeMap<>();
        for (Path p : listed) {
            Entry e = parse(p);
            if (e != null && !Files.isDirectory(p)) byVariant.computeIfAbsent(e.variant() == null ? "" : e.variant(), k -> new ArrayList<>()).add(e);
        }
        return byVariant;
    }

    /** True when the folder holds any safetensors weights or index. */
    static boolean holdsWeights(Path dir) {
        return Files.isDirectory(dir) && !scan(dir).isEmpty();
    }

    /**
     * Opens the folder's one checkpoint. {@code fallBackToPlain}: a requested variant the folder lacks
     * opens the plain files instead (pipeline components, as diffusers does) rather than being refused.
     */
    static Checkpoint open(Path dir, String variant, boolean fallBackToPlain) {
        Map<String, List<Entry>> byVariant = scan(dir);
        if (byVariant.isEmpty()) throw OffloadException.invalid(dir + ": no .safetensors files and no safetensors index" + subfolderHint(dir));
        String chosen;
        if (variant != null) {
            if (byVariant.containsKey(variant)) chosen = variant;
            else if (fallBackToPlain && byVariant.containsKey("")) chosen = "";
            else throw OffloadException.invalid(dir + ": no files of variant '" + variant + "'; found " + describe(byVariant)
                    + "; " + howToChoose(byVariant));
        } else if (byVariant.containsKey("")) {
            chosen = "";
        } else if (byVariant.size() == 1) {
            chosen = byVariant.keySet().iterator().next();
        } else {
            throw OffloadException.invalid(dir + ": several variants and no plain files: " + describe(byVariant) + "; "
                    + howToChoose(byVariant));
        }
        return openGroup(dir, byVariant.get(chosen), byVariant);
    }

    private static Checkpoint openGroup(Path dir, List<Entry> group, Map<String, List<Entry>> all) {
        List<Entry> indexes = group.stream().filter(Entry::index).toList();
        if (indexes.size() > 1) {
            throw OffloadException.invalid(dir + ": several indexes: " + names(indexes) + "; open the one you mean directly");
        }
        if (indexes.size() == 1) return ShardedCheckpoint.fromIndex(indexes.get(0).path());
        if (group.size() == 1) return SafetensorsFile.open(group.get(0).path());
        Entry first = group.get(0);
        boolean oneSet = first.shards() > 0 && group.stream().allMatch(e -> e.shards() == first.shards() && e.base().equals(first.base()));
        if (oneSet && group.size() == first.shards()) {
            return ShardedCheckpoint.fromFiles(dir.toString(), group.stream().map(Entry::path).toList());
        }
        String why = oneSet ? "shards of " + first.shards() + " are missing (found " + group.size() + ")"
                : "they do not form one checkpoint";
        throw OffloadException.invalid(dir + ": " + names(group) + ": " + why + "; open one file directly, or give the files to open"
                + (all.size() > 1 ? "; " + howToChoose(all) : ""));
    }

    private static String names(List<Entry> entries) {
        return entries.stream().map(Entry::fileName).collect(Collectors.joining(", "));
    }

    /** "plain: a, b; fp16: c" */
    static String describe(Map<String, List<Entry>> byVariant) {
        return byVariant.entrySet().stream().map(e -> (e.getKey().isEmpty() ? "plain" : e.getKey()) + ": " + names(e.getValue()))
                .collect(Collectors.joining("; "));
    }

    private static String howToChoose(Map<String, List<Entry>> byVariant) {
        List<String> variants = byVariant.keySet().stream().filter(k -> !k.isEmpty()).toList();
        if (variants.isEmpty()) return "open one file directly";
        return "choose with --variant " + String.join("|", variants) + " (OpenOptions.variant)"
                + (byVariant.containsKey("") ? ", or none for the plain files" : "");
    }

    private static String subfolderHint(Path dir) {
        try (Stream<Path> list = Files.list(dir)) {
            List<String> withWeights = list.filter(WeightFolder::holdsWeights).map(p -> p.getFileName().toString()).sorted().toList();
            if (withWeights.isEmpty()) return "";
            return " (subfolders holding weights: " + String.join(", ", withWeights)
                    + "; a pipeline folder needs its model_index.json, or open a subfolder)";
        } catch (IOException e) {
            return "";
        }
    }
}
