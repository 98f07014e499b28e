package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.offload.files.ProcessTemps;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A CLI interrupted mid-write leaves no temporary: {@link Process#destroy()} sends SIGTERM, on which
 * the JVM runs its shutdown hooks as on Ctrl-C (SIGINT), and the hook of {@link ProcessTemps} removes
 * what the run still had registered. Each case waits until the temporary exists, then stops the CLI.
 */
class InterruptedWritesTest {
    @TempDir
    Path dir;

    static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** What the test waits for before it stops the CLI. */
    interface Condition {
        boolean holds() throws IOException;
    }

    /** Starts the CLI with {@code jvmArgs} and {@code args}, waits until {@code writing} holds, then sends SIGTERM. */
    static int stopOnceWriting(Condition writing, List<String> jvmArgs, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-Xmx1g"));
        command.addAll(jvmArgs);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.offload.cli.Main"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        try {
            while (!writing.holds()) {
                if (!p.isAlive()) fail("the CLI ended (exit " + p.exitValue() + ") before its temporary appeared");
                if (System.nanoTime() > deadline) fail("no temporary appeared");
                Thread.sleep(5);
            }
            p.destroy();  // SIGTERM: shutdown hooks run, as on Ctrl-C
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the CLI did not stop");
            return p.exitValue();
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void synthStoppedMidWriteLeavesNoTemporary() throws Exception {
        Path file = dir.resolve("model.safetensors");
        // 300 MiB: a second or more of writing after the temporary appears
        int exit = stopOnceWriting(() -> names(dir).stream().anyMatch(n -> n.contains(ProcessTemps.FILE_MARK)), List.of(),
                "synth", file.toString(), "--dim", "2048", "--blocks", "2", "--single-blocks", "1");
        assertEquals(143, exit, "stopped by SIGTERM (128 + 15)");
        assertEquals(List.of(), names(dir), "no temporary, no partial file");
    }

    @Test
    void demoStoppedMidRunLeavesNoFolder() throws Exception {
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        // stopped while it writes its checkpoint into the folder
        int exit = stopOnceWriting(() -> {
            for (String n : names(tmp)) {
                if (n.startsWith("offload-demo-") && names(tmp.resolve(n)).stream().anyMatch(f -> f.contains(ProcessTemps.FILE_MARK))) return true;
            }
            return false;
        }, List.of("-Djava.io.tmpdir=" + tmp), "demo", "--steps", "1");
        assertEquals(143, exit, "stopped by SIGTERM (128 + 15)");
        assertFalse(names(tmp).stream().anyMatch(n -> n.startsWith("offload-demo-")), names(tmp).toString());
    }
}
