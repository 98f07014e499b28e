package dev.offload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every ```java block of README.md is compiled and run, so the README cannot drift from the code.
 *
 * <p>Each snippet (its imports, then its body) goes into one generated class with the scaffold
 * {@link ReadmeScaffolds} keeps for it: members for the names it leaves to the reader, a set-up
 * method, the snippet in a method of its own, and a check method. The class is compiled in-process
 * by {@code javax.tools.JavaCompiler} against this test's class path, then run in a JVM of its own
 * whose working folder holds the files the snippet opens by relative path ({@code model.safetensors},
 * {@code FLUX.1-dev/}), written small by the project's synthetic-model helpers. {@code device("auto")}
 * is the host backend on a machine without a GPU (and cuda on one with it).
 */
class ReadmeSnippetsTest {
    /** A README Java block: its import lines and its body. */
    record Snippet(int index, List<String> imports, List<String> body) {
        String firstLine() {
            return body.isEmpty() ? "" : body.get(0).strip();
        }
    }

    static Path readme() {
        return Path.of(System.getProperty("offload.basedir", ".")).resolve("README.md");
    }

    static List<Snippet> snippets(String markdown) {
        List<Snippet> out = new ArrayList<>();
        List<String> lines = markdown.lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).strip().equals("```java")) continue;
            List<String> imports = new ArrayList<>(), body = new ArrayList<>();
            int j = i + 1;
            for (; j < lines.size() && !lines.get(j).strip().equals("```"); j++) {
                String line = lines.get(j);
                if (body.isEmpty() && line.startsWith("import ")) imports.add(line);
                else if (!(body.isEmpty() && line.isBlank())) body.add(line);
            }
            if (j == lines.size()) throw new AssertionError("README.md: the java block at line " + (i + 1) + " is never closed");
            out.add(new Snippet(out.size(), imports, body));
            i = j;
        }
        return out;
    }

    static ReadmeScaffolds.Scaffold scaffold(Snippet s) {
        ReadmeScaffolds.Scaffold scaffold = ReadmeScaffolds.BY_FIRST_LINE.get(s.firstLine());
        if (scaffold == null) {
            throw new AssertionError("README.md java block " + (s.index() + 1) + " (\"" + s.firstLine() + "\") has no scaffold: add one to "
                    + "ReadmeScaffolds.BY_FIRST_LINE declaring the names it leaves to the reader");
        }
        return scaffold;
    }

    static String source(Snippet s, ReadmeScaffolds.Scaffold scaffold) {
        return String.join("\n", s.imports()) + "\n\n"
                + "public final class ReadmeSnippet {\n" + scaffold.members() + "\n"
                + "    public static void main(String[] args) throws Throwable {\n"
                + "        readmeSetUp();\n        readmeSnippet();\n        readmeCheck();\n        System.exit(0);\n    }\n"
                + "    static void readmeSetUp() throws Throwable {\n" + scaffold.setUp() + "\n    }\n"
                + "    static void readmeSnippet() throws Throwable {\n" + String.join("\n", s.body()) + "\n    }\n"
                + "    static void readmeCheck() throws Throwable {\n" + scaffold.check() + "\n    }\n}\n";
    }

    /** Compiles one generated class into {@code out}; returns the compiler's errors, empty when it compiled. */
    static List<String> compile(String source, Path out) throws IOException {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "no system Java compiler: the tests need a JDK");
        Path file = out.resolve("ReadmeSnippet.java");
        Files.writeString(file, source);
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, Locale.ROOT, StandardCharsets.UTF_8)) {
            StringWriter log = new StringWriter();
            boolean ok = javac.getTask(log, files, diagnostics, List.of("-classpath", System.getProperty("java.class.path"), "-d",
                    out.toString(), "-proc:none", "-Xlint:none"), null, files.getJavaFileObjects(file)).call();
            List<String> errors = diagnostics.getDiagnostics().stream().filter(d -> d.getKind() == Diagnostic.Kind.ERROR)
                    .map(d -> "line " + d.getLineNumber() + ": " + d.getMessage(Locale.ROOT)).collect(Collectors.toList());
            if (!ok && errors.isEmpty()) errors.add(log.toString());
            return errors;
        }
    }

    /** Runs the compiled class in a JVM of its own, in {@code workDir}; returns its exit code and output. */
    static String[] run(Path classes, Path workDir) throws IOException, InterruptedException {
        Path javaBin = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(javaBin.toString(), "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-cp",
                classes + java.io.File.pathSeparator + System.getProperty("java.class.path"), "ReadmeSnippet")
                .directory(workDir.toFile()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new String[] {"timeout", output};
        }
        return new String[] {String.valueOf(p.exitValue()), output};
    }

    @Test
    void everyJavaBlockOfTheReadmeCompilesAndRunsInItsScaffold(@TempDir Path tmp) throws Exception {
        List<Snippet> snippets = snippets(Files.readString(readme()));
        assertEquals(ReadmeScaffolds.BY_FIRST_LINE.size(), snippets.size(), "README java blocks " + snippets.stream()
                .map(Snippet::firstLine).toList() + " against scaffolds " + ReadmeScaffolds.BY_FIRST_LINE.keySet());
        for (Snippet s : snippets) {
            ReadmeScaffolds.Scaffold scaffold = scaffold(s);
            assertFalse(s.imports().isEmpty(), "README java block " + (s.index() + 1) + " (\"" + s.firstLine() + "\") shows no imports");
            Path dir = Files.createDirectories(tmp.resolve("snippet" + s.index()));
            Path classes = Files.createDirectories(dir.resolve("classes"));
            String source = source(s, scaffold);
            List<String> errors = compile(source, classes);
            assertTrue(errors.isEmpty(), "README java block " + (s.index() + 1) + " (\"" + s.firstLine() + "\") does not compile: "
                    + errors + "\n" + source);
            // The snippets ask for a 12 GiB budget, as on a GPU; on the host backend a budget above the
            // available memory is refused (Device::open), so on a smaller machine they compile only.
            long available = dev.offload.memory.HostMemory.available().orElse(Long.MAX_VALUE);
            if (s.body().stream().anyMatch(l -> l.contains("Size.gib(12)")) && available < dev.offload.Size.gib(13)) {
                System.err.println("README java block " + (s.index() + 1) + ": compiled; not run (12 GiB budget, " + available
                        + " bytes of host memory available)");
                continue;
            }
            Path work = Files.createDirectories(dir.resolve("work"));
            if (scaffold.files() != null) scaffold.files().accept(work);
            String[] result = run(classes, work);
            assertEquals("0", result[0], "README java block " + (s.index() + 1) + " (\"" + s.firstLine() + "\") failed:\n" + result[1]);
            for (String expected : scaffold.output()) {
                assertTrue(result[1].contains(expected), "README java block " + (s.index() + 1) + ": output lacks '" + expected + "':\n"
                        + result[1]);
            }
        }
    }

    @Test
    void aSnippetThatDriftedFromTheCodeFailsToCompile(@TempDir Path tmp) throws Exception {
        Snippet first = snippets(Files.readString(readme())).get(0);
        List<String> drifted = first.body().stream().map(l -> l.replace("g.tensors()", "g.deviceTensors()")).toList();
        assertTrue(!drifted.equals(first.body()), "the first README snippet no longer calls g.tensors(); pick another drift");
        Snippet broken = new Snippet(first.index(), first.imports(), drifted);
        List<String> errors = compile(source(broken, scaffold(first)), tmp);
        assertFalse(errors.isEmpty(), "a snippet calling a method Group does not have compiled");
        assertTrue(errors.stream().anyMatch(e -> e.contains("deviceTensors")), errors.toString());
        // and one without its imports fails too: the README's imports are needed, not decoration
        assertFalse(compile(source(new Snippet(0, List.of(), first.body()), scaffold(first)), tmp).isEmpty());
    }

    @Test
    void aSnippetWithoutAScaffoldIsNamed() {
        Snippet unknown = new Snippet(7, List.of("import dev.offload.Offloader;"), List.of("Offloader.open(null);"));
        AssertionError e = assertThrows(AssertionError.class, () -> scaffold(unknown));
        assertTrue(e.getMessage().contains("block 8") && e.getMessage().contains("Offloader.open(null);"), e.getMessage());
    }
}
