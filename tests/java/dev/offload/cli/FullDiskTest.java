package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.offload.files.ProcessTemps;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every file the CLI writes, on a full file system: a 1 MiB tmpfs mounted in a private mount
 * namespace ({@code unshare -m}, or as an unprivileged user {@code unshare --user --map-root-user
 * --mount}), the CLI run inside it in a fresh JVM. Each write fails with exit 1 naming the file and
 * "no space left on device", leaves nothing at the file's name (an earlier file there stays as it
 * was) and no temporary. Skipped where no such namespace can be made.
 */
class FullDiskTest {
    static List<String> unshare;

    @TempDir
    Path host;

    record Outcome(int exit, String stderr, List<String> files, String traceText) {}

    @BeforeAll
    static void findUnshare() throws Exception {
        for (List<String> u : List.of(List.of("unshare", "-m"), List.of("unshare", "--user", "--map-root-user", "--mount"))) {
            List<String> probe = new ArrayList<>(u);
            probe.addAll(List.of("sh", "-c", "d=$(mktemp -d) && mount -t tmpfs -o size=1m tmpfs \"$d\" && umount \"$d\"; r=$?; rmdir \"$d\"; exit $r"));
            try {
                Process p = new ProcessBuilder(probe).redirectErrorStream(true).start();
                p.getInputStream().readAllBytes();
                if (p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0) {
                    unshare = u;
                    return;
                }
            } catch (IOException noUnshare) {
                // not installed
            }
        }
    }

    /**
     * Mounts a 1 MiB tmpfs on {@code mount}, runs {@code prepare} (shell) then the CLI with {@code args}, and
     * reports the exit code, stderr, what the tmpfs holds afterwards and the text of its trace.json.
     */
    Outcome inFullFs(Path mount, String prepare, String... args) throws Exception {
        assumeTrue(unshare != null, "no private mount namespace here (unshare -m and unshare --user both failed)");
        Files.createDirectories(mount);
        Path stderr = host.resolve("stderr.txt");
        String java = ProcessHandle.current().info().command().orElseThrow();
        StringBuilder cli = new StringBuilder("\"$JAVA\" --enable-native-access=ALL-UNNAMED -Xmx512m -cp \"$CP\" dev.offload.cli.Main");
        for (int i = 0; i < args.length; i++) cli.append(" \"$").append(i + 1).append('"');
        String script = "mount -t tmpfs -o size=1m tmpfs \"$D\" || exit 97\n" + prepare + "\n"
                + cli + " >/dev/null 2>\"$ERR\"\n"
                + "echo \"exit=$?\"\nls -A \"$D\"\necho '--trace--'\ncat \"$D/trace.json\" 2>/dev/null\nexit 0\n";
        List<String> command = new ArrayList<>(unshare);
        command.addAll(List.of("sh", "-c", script, "sh"));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put("JAVA", java);
        pb.environment().put("CP", System.getProperty("java.class.path"));
        pb.environment().put("D", mount.toString());
        pb.environment().put("ERR", stderr.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "the CLI did not finish");
        assertEquals(0, p.exitValue(), out);
        String[] parts = out.split("--trace--\n", 2);
        List<String> lines = new ArrayList<>(List.of(parts[0].split("\n")));
        int exit = Integer.parseInt(lines.remove(0).substring("exit=".length()));
        return new Outcome(exit, Files.readString(stderr), lines.stream().filter(s -> !s.isEmpty()).sorted().toList(),
                parts.length > 1 ? parts[1] : "");
    }

    /** Fills the tmpfs to the last byte (head stops at ENOSPC). */
    static final String FILL = "head -c 2000000 /dev/zero >\"$D/fill\" 2>/dev/null";

    Path smallModel() {
        Path model = host.resolve("small.safetensors");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = Main.run(new String[] {"synth", model.toString(), "--dim", "64", "--blocks", "2", "--single-blocks", "1"},
                new PrintStream(new ByteArrayOutputStream()), new PrintStream(err));
        assertEquals(0, exit, err.toString());
        return model;
    }

    @Test
    void synthOnAFullDiskExits1NamingTheFileAndLeavesNothing() throws Exception {
        Path mount = host.resolve("tiny");
        Path file = mount.resolve("model.safetensors");
        Outcome o = inFullFs(mount, "", "synth", file.toString(), "--dim", "1024", "--blocks", "1", "--single-blocks", "0");
        assertEquals(1, o.exit(), o.stderr());
        assertEquals("offload: cannot write the checkpoint " + file + ": no space left on device", o.stderr().strip());
        assertEquals(List.of(), o.files(), "neither the file nor a temporary");
    }

    @Test
    void aTraceOnAFullDiskExits1AndKeepsTheOldTrace() throws Exception {
        Path model = smallModel();
        Path mount = host.resolve("tiny");
        Path trace = mount.resolve("trace.json");
        Outcome o = inFullFs(mount, "printf previous >\"$D/trace.json\" && " + FILL,
                "run", model.toString(), "--device", "host", "--steps", "10", "--trace", trace.toString());  // a trace of 12 KiB
        assertEquals(1, o.exit(), o.stderr());
        assertTrue(o.stderr().strip().endsWith("offload: cannot write the trace " + trace + ": no space left on device"), o.stderr());
        assertEquals(List.of("fill", "trace.json"), o.files());
        assertEquals("previous", o.traceText().strip());
    }

    @Test
    void aDiskCacheOnAFullDiskExits1AndLeavesNoTemporary() throws Exception {
        Path model = smallModel();
        Path mount = host.resolve("tiny");
        // a killed run's temporary (its pid cannot exist) goes; a live writer's (this JVM's) stays
        long deadPid = Long.parseLong(Files.readAllLines(Path.of("/proc/sys/kernel/pid_max")).get(0).trim()) + 1;
        String stale = ".model.offload-cache" + ProcessTemps.FILE_MARK + deadPid + "-1-0";
        String live = ".other" + ProcessTemps.FILE_MARK + ProcessTemps.self() + "-0";
        Outcome o = inFullFs(mount, "echo partial >\"$D/" + stale + "\" && echo live >\"$D/" + live + "\" && " + FILL,
                "run", model.toString(), "--device", "host", "--steps", "2", "--disk-cache", mount.toString());
        assertEquals(1, o.exit(), o.stderr());
        String line = o.stderr().strip();
        assertTrue(line.contains("offload: cannot write the disk cache of component 'model' " + mount + "/")
                && line.endsWith(": no space left on device"), line);
        assertEquals(List.of(live, "fill"), o.files());
    }
}
