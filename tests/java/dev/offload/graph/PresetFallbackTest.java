package dev.offload.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.OffloadException;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.DType;
import dev.offload.checkpoint.SafetensorsWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Discovery stays the fallback: unknown classes said once, user presets (registered or from a folder), presets that do not fit. */
class PresetFallbackTest {
    @TempDir
    Path dir;
    final List<LogRecord> logged = new ArrayList<>();
    final Logger jul = Logger.getLogger("dev.offload.graph");
    final Handler handler = new Handler() {
        @Override public void publish(LogRecord r) { synchronized (logged) { logged.add(r); } }
        @Override public void flush() {}
        @Override public void close() {}
    };

    @BeforeEach
    void listen() {
        jul.addHandler(handler);
    }

    @AfterEach
    void stop() {
        jul.removeHandler(handler);
        System.clearProperty(BlockGraphPresets.FOLDER_PROPERTY);
    }

    static final List<String> NAMES = List.of("in_proj.weight", "layers.0.mlp.weight", "layers.0.attn.weight", "layers.1.mlp.weight",
            "layers.1.attn.weight", "out_proj.weight");

    Path folder(String name, String config, List<String> names) throws Exception {
        Path d = Files.createDirectories(dir.resolve(name));
        if (config != null) Files.writeString(d.resolve("config.json"), config);
        SafetensorsWriter.write(d.resolve("model.safetensors"), names.stream().map(n -> new SafetensorsWriter.Spec(n, DType.F16, new long[] {2})).toList(),
                Map.of(), (s, t) -> t.fill((byte) 1));
        return d;
    }

    static List<String> order(BlockGraph g) {
        return g.tensors().stream().map(TensorRef::name).toList();
    }

    List<String> messages(Level level) {
        synchronized (logged) {
            return logged.stream().filter(r -> r.getLevel() == level)
                    .map(r -> java.text.MessageFormat.format(r.getMessage(), r.getParameters())).toList();
        }
    }

    @Test
    void anUnknownClassIsDiscoveredAndSaidOnce() throws Exception {
        Path a = folder("a", "{\"_class_name\": \"MyVeryOwnModel\"}", NAMES), b = folder("b", "{\"_class_name\": \"MyVeryOwnModel\"}", NAMES);
        for (Path p : List.of(a, b)) {
            try (Checkpoint c = Checkpoint.open(p)) {
                BlockGraph g = BlockGraph.discover(c);
                assertEquals("discovered", g.source().toString());
                assertEquals(List.of("layers"), g.blockLists().stream().map(BlockList::prefix).toList());
            }
        }
        List<String> said = messages(Level.INFO).stream().filter(m -> m.contains("MyVeryOwnModel")).toList();
        assertEquals(1, said.size(), said.toString());
        assertTrue(said.get(0).contains("no block graph preset for class MyVeryOwnModel"), said.get(0));
    }

    @Test
    void noConfigMeansDiscoveryAsBeforeAndNothingSaid() throws Exception {
        try (Checkpoint c = Checkpoint.open(folder("plain", null, NAMES))) {
            BlockGraph g = BlockGraph.discover(c);
            assertEquals(BlockGraph.Source.DISCOVERED, g.source());
            assertEquals(order(BlockGraph.discover("same", g.tensors())), order(g));
        }
        assertEquals(List.of(), messages(Level.INFO));
    }

    static final String MINE = """
            {"classes": ["MyRegisteredModel"], "order": ["in_proj",
              {"at": "layers.#", "unit": "layers", "order": ["attn", "mlp"]}, "out_proj"]}""";

    @Test
    void aRegisteredPresetServesItsClass() throws Exception {
        BlockGraphPreset mine = BlockGraphPreset.parse("test preset", MINE);
        BlockGraphPresets.register(mine);
        try (Checkpoint c = Checkpoint.open(folder("mine", "{\"architectures\": [\"MyRegisteredModel\"]}", NAMES))) {
            BlockGraph g = BlockGraph.discover(c);
            assertEquals("preset MyRegisteredModel", g.source().toString());
            // attn before mlp in each layer, as the preset says (discovery orders by name: attn, mlp too, so check the head and tail)
            assertEquals(List.of("in_proj.weight", "layers.0.attn.weight", "layers.0.mlp.weight", "layers.1.attn.weight", "layers.1.mlp.weight",
                    "out_proj.weight"), order(g));
            assertEquals(List.of("in_proj.weight"), g.head().stream().map(TensorRef::name).toList());
            assertEquals(List.of("out_proj.weight"), g.tail().stream().map(TensorRef::name).toList());
        } finally {
            assertTrue(BlockGraphPresets.unregister(mine));
        }
    }

    @Test
    void aPresetFolderNamedByTheSystemPropertyServes() throws Exception {
        Path presets = Files.createDirectories(dir.resolve("presets"));
        Files.writeString(presets.resolve("mine.json"), """
                {"classes": ["MyFolderModel"], "order": ["out_proj", {"at": "layers.#", "unit": "layers", "order": ["mlp", "attn"]}, "in_proj"]}""");
        System.setProperty(BlockGraphPresets.FOLDER_PROPERTY, presets.toString());
        try (Checkpoint c = Checkpoint.open(folder("folder", "{\"_class_name\": \"MyFolderModel\"}", NAMES))) {
            BlockGraph g = BlockGraph.discover(c);
            assertEquals("preset MyFolderModel", g.source().toString());
            assertEquals(List.of("out_proj.weight", "layers.0.mlp.weight", "layers.0.attn.weight", "layers.1.mlp.weight", "layers.1.attn.weight",
                    "in_proj.weight"), order(g));
        }
        Files.writeString(presets.resolve("broken.json"), "{\"classes\": [\"X\"]}");
        System.setProperty(BlockGraphPresets.FOLDER_PROPERTY, dir.toString());  // another folder: read again
        System.setProperty(BlockGraphPresets.FOLDER_PROPERTY, presets.toString() + "/");
        OffloadException e = assertThrows(OffloadException.class, () -> BlockGraphPresets.forClass("X"));
        assertTrue(e.getMessage().contains("broken.json") && e.getMessage().contains("'order'"), e.getMessage());
    }

    @Test
    void aPresetThatDoesNotFitFallsBackNamingTheTensor() throws Exception {
        List<String> names = new ArrayList<>(PresetFixtures.load("clip-l").names());
        names.add("visual_projection.weight");
        try (Checkpoint c = Checkpoint.open(folder("odd", "{\"architectures\": [\"CLIPTextModel\"]}", names))) {
            BlockGraph g = BlockGraph.discover(c);
            assertEquals("discovered", g.source().toString());
            assertEquals(names.size(), g.tensors().size());
        }
        List<String> warned = messages(Level.WARNING);
        assertTrue(warned.stream().anyMatch(m -> m.contains("visual_projection.weight") && m.contains("CLIPTextModel")), warned.toString());
    }

    @Test
    void aConfigThatIsNoJsonObjectIsWarnedAboutAndTheGraphDiscovered() throws Exception {
        Logger checkpointLog = Logger.getLogger("dev.offload.checkpoint");
        checkpointLog.addHandler(handler);
        try {
            Path broken = folder("broken", "{\"_class_name\": ", NAMES), array = folder("array", "[\"LlamaForCausalLM\"]", NAMES);
            for (Path p : List.of(broken, array)) {
                try (Checkpoint c = Checkpoint.open(p)) {
                    assertEquals("discovered", BlockGraph.discover(c).source().toString());
                }
                String config = p.resolve("config.json").toString();
                assertTrue(messages(Level.WARNING).stream().anyMatch(m -> m.contains(config) && m.contains("model class is unknown")),
                        messages(Level.WARNING).toString());
            }
        } finally {
            checkpointLog.removeHandler(handler);
        }
    }
}
