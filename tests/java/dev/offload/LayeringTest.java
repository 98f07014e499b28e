package dev.offload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The dependency table of docs/ARCHITECTURE.md, checked against the sources: every import and every
 * fully qualified name in code (comments and strings left out) of every hand-written file under
 * {@code java/}. A reference a layer may not make fails here with the file and the reference.
 *
 * <p>Layers, each using only those below it: files (writing files whole, temporaries, raw path
 * bytes: usable by every layer, using none), internal, runtime, checkpoint, graph, plan, then memory
 * and metrics (side by side: neither uses the other), engine, the face; cli and workload use the face
 * and checkpoint, graph, plan, metrics and runtime, never engine, memory or internal. Only internal and
 * runtime touch the generated bindings. The root package holds the face (its {@link #FACE} classes)
 * and the vocabulary, which every layer may use and which uses nothing above runtime.
 */
class LayeringTest {
    static final Path JAVA = Path.of(System.getProperty("offload.basedir", ".")).resolve("java/dev/offload");

    /** The face's classes in the root package; every other root class is vocabulary. */
    static final Set<String> FACE = Set.of("Offloader", "Component", "Step", "Group", "DeviceTensor", "OffloadConfig", "ArrangementScope");

    /** What each layer may use besides the vocabulary. */
    static final Map<String, Set<String>> ALLOWED = Map.ofEntries(
            Map.entry("vocabulary", Set.of("internal", "runtime")),
            Map.entry("files", Set.of()),
            Map.entry("internal", Set.of()),
            Map.entry("runtime", Set.of("internal")),
            Map.entry("checkpoint", Set.of("internal", "runtime")),
            Map.entry("graph", Set.of("internal", "runtime", "checkpoint")),
            Map.entry("plan", Set.of("internal", "runtime", "checkpoint", "graph")),
            Map.entry("memory", Set.of("internal", "runtime", "checkpoint", "graph", "plan")),
            Map.entry("metrics", Set.of("internal", "runtime", "checkpoint", "graph", "plan")),
            Map.entry("engine", Set.of("internal", "runtime", "checkpoint", "graph", "plan", "memory", "metrics")),
            Map.entry("face", Set.of("internal", "runtime", "checkpoint", "graph", "plan", "memory", "metrics", "engine")),
            Map.entry("cli", Set.of("face", "checkpoint", "graph", "plan", "metrics", "runtime", "workload")),
            Map.entry("workload", Set.of("face", "checkpoint", "graph", "plan", "metrics", "runtime")));

    private static final Pattern REFERENCE = Pattern.compile("\\bdev\\.offload\\.([A-Za-z_]\\w*|\\*)(\\.[A-Za-z_]\\w*)?");

    /** The layer a source file is in. */
    static String layerOf(Path rel) {
        if (rel.getNameCount() == 1) {
            String cls = rel.getFileName().toString().replace(".java", "");
            return FACE.contains(cls) ? "face" : "vocabulary";
        }
        return rel.getName(0).toString();
    }

    /** The layer a reference {@code dev.offload.X[.Y]} names. */
    static String layerOfReference(String first, String second) {
        if (first.equals("*")) return "face";  // import dev.offload.*: the face's names without further mention
        if (Character.isUpperCase(first.charAt(0))) return FACE.contains(first) ? "face" : "vocabulary";
        if (first.equals("internal") && ".ffi".equals(second)) return "bindings";
        return first;
    }

    /** The code with comments, strings and character literals blanked out (so a name in a comment is not a reference). */
    static String code(String source) {
        StringBuilder out = new StringBuilder(source.length());
        int i = 0, n = source.length();
        while (i < n) {
            char c = source.charAt(i);
            if (c == '/' && i + 1 < n && source.charAt(i + 1) == '/') {
                while (i < n && source.charAt(i) != '\n') i++;
            } else if (c == '/' && i + 1 < n && source.charAt(i + 1) == '*') {
                int end = source.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 2;
                out.append(' ');
            } else if (c == '"' || c == '\'') {
                boolean block = c == '"' && source.startsWith("\"\"\"", i);
                String close = block ? "\"\"\"" : String.valueOf(c);
                i += close.length();
                while (i < n && !source.startsWith(close, i)) i += source.charAt(i) == '\\' ? 2 : 1;
                i += close.length();
                out.append("\"\"");
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }

    /** Each offending reference under {@code root} (laid out as java/dev/offload) as "FILE: layer L uses M (dev.offload.X...)". */
    static List<String> violations(Path root) throws IOException {
        List<String> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java") && !p.toString().contains("/internal/ffi/")).sorted().toList()) {
                Path rel = root.relativize(f);
                String layer = layerOf(rel);
                String code = code(Files.readString(f));
                Set<String> seen = new TreeSet<>();
                Matcher m = REFERENCE.matcher(code);
                while (m.find()) {
                    String target = layerOfReference(m.group(1), m.group(2));
                    if (target.equals(layer) || target.equals("vocabulary") || target.equals("files")) continue;
                    boolean ok = target.equals("bindings") ? layer.equals("internal") || layer.equals("runtime")
                            : ALLOWED.getOrDefault(layer, Set.of()).contains(target);
                    if (!ok && seen.add(target)) found.add(rel + ": layer " + layer + " uses " + target + " (" + m.group() + ")");
                }
                if (layer.equals("vocabulary")) {  // the root package needs no import for the face: look for its names
                    for (String face : FACE) {
                        if (Pattern.compile("\\b" + face + "\\b").matcher(code).find() && seen.add("face")) {
                            found.add(rel + ": layer vocabulary uses face (" + face + ")");
                        }
                    }
                }
            }
        }
        return found;
    }

    @Test
    void everyReferenceFollowsTheTable() throws IOException {
        assertTrue(Files.isDirectory(JAVA.resolve("engine")), JAVA.toString());
        assertEquals(List.of(), violations(JAVA));
    }

    @Test
    void aPlantedUpwardReferenceFails(@org.junit.jupiter.api.io.TempDir Path tmp) throws IOException {
        Path plan = Files.createDirectories(tmp.resolve("plan"));
        Files.writeString(plan.resolve("Bad.java"), """
                package dev.offload.plan;
                /** a reference in a comment, dev.offload.engine.Registry, is not one */
                final class Bad {
                    String s = "dev.offload.cli.Main";  // nor is one in a string
                    Object o = dev.offload.engine.Registry.class;
                }
                """);
        Path engine = Files.createDirectories(tmp.resolve("engine"));
        Files.writeString(engine.resolve("Star.java"), "package dev.offload.engine;\nimport dev.offload.*;\nfinal class Star {}\n");
        Path vocab = tmp.resolve("Word.java");
        Files.writeString(vocab, "package dev.offload;\nfinal class Word { Offloader o; }\n");
        assertEquals(List.of("Word.java: layer vocabulary uses face (Offloader)",
                "engine/Star.java: layer engine uses face (dev.offload.*)",
                "plan/Bad.java: layer plan uses engine (dev.offload.engine.Registry)"), violations(tmp));
    }
}
