package dev.offload.graph;

import dev.offload.OffloadException;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.ComponentConfig;
import dev.offload.checkpoint.TensorInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

/**
 * Which order a checkpoint's graph takes: the model's own description first, discovery as the fallback.
 *
 * <ol>
 *   <li>The class its folder's {@code config.json} names ({@link ComponentConfig}) picks the preset
 *       serving it: the user's (registered, or read from the folder below) before the built-in ones
 *       ({@link BuiltinPresets}).</li>
 *   <li>Without a config, a preset whose {@code names} all begin some tensor's name serves
 *       (original single-file layouts).</li>
 *   <li>Otherwise {@link BlockDiscovery} finds the graph from names. A class no preset serves is said
 *       once per class and process (INFO, naming it); a preset that does not fit its checkpoint
 *       (a tensor outside its modules) is a WARNING naming the tensor, once per class.</li>
 * </ol>
 * User presets: {@link #register(BlockGraphPreset)} (first), or JSON files ({@link BlockGraphPreset}'s
 * form) in the folder the system property {@value #FOLDER_PROPERTY} names (then), read at first use
 * and again when the property changes; a file that is no preset is refused naming it.
 */
public final class BlockGraphPresets {
    public static final String FOLDER_PROPERTY = "offload.presets";
    private static final System.Logger LOG = System.getLogger("dev.offload.graph");
    private static final List<BlockGraphPreset> USER = new CopyOnWriteArrayList<>();
    private static final Set<String> SAID = ConcurrentHashMap.newKeySet();
    private static volatile List<BlockGraphPreset> builtin;
    private static volatile List<BlockGraphPreset> fromFolder = List.of();
    private static volatile String folderRead;

    private BlockGraphPresets() {}

    /** Adds a preset; it serves its classes before any preset registered earlier or built in. */
    public static void register(BlockGraphPreset preset) {
        USER.add(0, preset);
    }

    /** Removes a preset {@link #register}ed before; whether it was there. */
    public static boolean unregister(BlockGraphPreset preset) {
        return USER.remove(preset);
    }

    /** The preset serving this class, or null. */
    public static BlockGraphPreset forClass(String className) {
        for (BlockGraphPreset p : all()) if (p.classes().contains(className)) return p;
        return null;
    }

    /** Every preset, the user's first. */
    public static List<BlockGraphPreset> all() {
        readFolder();
        List<BlockGraphPreset> out = new ArrayList<>(USER);
        out.addAll(fromFolder);
        if (builtin == null) builtin = BuiltinPresets.load();
        out.addAll(builtin);
        return out;
    }

    /** The checkpoint's graph by the rules above. */
    public static BlockGraph graphOf(Checkpoint checkpoint) {
        if (checkpoint.tensors().isEmpty()) return new BlockDiscovery().discover(checkpoint);
        List<TensorRef> tensors = new ArrayList<>();
        for (TensorInfo info : checkpoint.tensors()) tensors.add(new TensorRef(info.name(), info.dtype(), info.shape(), checkpoint.data(info)));
        String className = ComponentConfig.of(checkpoint).map(ComponentConfig::className).orElse(null);
        return graphOf(checkpoint.name(), className, tensors);
    }

    /** The graph of these tensors for a model of this class (null: unknown). */
    public static BlockGraph graphOf(String what, String className, List<TensorRef> tensors) {
        BlockGraphPreset preset = null;
        if (className != null) {
            preset = forClass(className);
            if (preset == null && SAID.add("class " + className)) {
                LOG.log(System.Logger.Level.INFO, "{0}: no block graph preset for class {1}; its graph is discovered from tensor names", what, className);
            }
        } else {
            for (BlockGraphPreset p : all()) {
                if (p.recognises(tensors)) {
                    preset = p;
                    break;
                }
            }
        }
        if (preset != null) {
            try {
                return preset.apply(what, tensors, className != null ? className : preset.name());
            } catch (BlockGraphPreset.Mismatch e) {
                if (SAID.add("mismatch " + preset.name())) {
                    LOG.log(System.Logger.Level.WARNING, "{0}; its graph is discovered from tensor names instead", e.getMessage());
                }
            }
        }
        return new BlockDiscovery().discover(what, tensors);
    }

    /** Reads the folder the property names, again whenever the property names another one. */
    private static void readFolder() {
        String folder = System.getProperty(FOLDER_PROPERTY, "");
        if (folder.equals(folderRead)) return;
        synchronized (BlockGraphPresets.class) {
            if (folder.equals(folderRead)) return;
            List<BlockGraphPreset> read = new ArrayList<>();
            if (!folder.isBlank()) {
                Path dir = Path.of(folder);
                if (!Files.isDirectory(dir)) throw OffloadException.invalid(dir + " (-D" + FOLDER_PROPERTY + "): not a folder of block graph presets");
                List<Path> files;
                try (Stream<Path> list = Files.list(dir)) {
                    files = list.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList();
                } catch (IOException e) {
                    throw OffloadException.io(dir + " (-D" + FOLDER_PROPERTY + "): cannot list it", e);
                }
                for (Path f : files) {
                    try {
                        read.add(BlockGraphPreset.parse(f.toString(), Files.readString(f)));
                    } catch (IOException e) {
                        throw OffloadException.io(f + ": cannot read the block graph preset", e);
                    }
                }
            }
            fromFolder = List.copyOf(read);
            folderRead = folder;
        }
    }
}
