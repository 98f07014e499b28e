package dev.offload.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The loader, each case in a fresh JVM (a library loads once per JVM). */
class NativeLibraryTest {
    record Run(int exit, String stderr, String stdout) {}

    static Run cli(List<String> jvmArgs, String... args) throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        var command = new java.util.ArrayList<String>();
        command.add(java);
        command.add("--enable-native-access=ALL-UNNAMED");
        command.addAll(jvmArgs);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add("dev.offload.cli.Main");
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the CLI did not finish");
        return new Run(p.exitValue(), new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8),
                new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    @Test
    void aMissingOverridePathIsAClearErrorNotACrash() throws Exception {
        Run r = cli(List.of("-Doffload.library=/nonexistent/liboffload.so"), "info", "--device", "host", "--bytes", "1MiB");
        assertEquals(1, r.exit(), r.stderr());
        assertTrue(r.stderr().contains("cannot load liboffload from -Doffload.library=/nonexistent/liboffload.so"), r.stderr());
    }

    @Test
    void theLibraryInsideTheClassPathLoadsByDefault() throws Exception {
        Run r = cli(List.of(), "info", "--device", "host", "--bytes", "1MiB", "--repeats", "3", "--json");
        assertEquals(0, r.exit(), r.stderr());
        assertTrue(r.stdout().contains("\"backend\":\"host\""), r.stdout());
    }
}
