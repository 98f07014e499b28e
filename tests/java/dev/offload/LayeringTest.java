package dev.offload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Dependencies point one way (DESIGN.md): {@code internal/} imports no package above it, and only
 * {@code internal/} and the thin owners in {@code runtime/} touch the generated bindings. Read from
 * the sources, so a new import that breaks the rule fails here.
 */
class LayeringTest {
    static final Path JAVA = Path.of(System.getProperty("offload.basedir", ".")).resolve("java/dev/offload");

    static List<String> offending(Path dir, java.util.function.Predicate<String> bad) throws IOException {
        List<String> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                for (String line : Files.readAllLines(f)) {
                    if (line.startsWith("import ") && bad.test(line)) found.add(JAVA.relativize(f) + ": " + line);
                }
            }
        }
        return found;
    }

    @Test
    void internalImportsNothingAboveIt() throws IOException {
        assertTrue(Files.isDirectory(JAVA.resolve("internal")), JAVA.toString());
        List<String> bad = offending(JAVA.resolve("internal"), line -> line.matches(
                "import (static )?dev\\.offload\\.(runtime|plan|graph|memory|checkpoint|workload|cli)\\..*"));
        assertEquals(List.of(), bad);
    }

    @Test
    void onlyInternalAndRuntimeOwnersTouchTheBindings() throws IOException {
        List<String> bad = new ArrayList<>();
        for (String pkg : new String[] {"checkpoint", "graph", "plan", "memory", "workload", "cli"}) {
            Path dir = JAVA.resolve(pkg);
            if (Files.isDirectory(dir)) bad.addAll(offending(dir, line -> line.contains("dev.offload.internal.ffi")));
        }
        try (Stream<Path> top = Files.list(JAVA)) {
            for (Path f : top.filter(p -> p.toString().endsWith(".java")).toList()) {
                for (String line : Files.readAllLines(f)) {
                    if (line.startsWith("import ") && line.contains("dev.offload.internal.ffi")) bad.add(f.getFileName() + ": " + line);
                }
            }
        }
        assertEquals(List.of(), bad);
    }
}
