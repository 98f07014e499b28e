package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.workload.SyntheticModel;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 16: exit 2 for bad input as given, exit 1 for a fault while the command runs, the file named either way. */
class ExitCodesTest {
    @TempDir
    Path dir;

    @Test
    void aMissingInputFileIsExitTwoNamingIt() {
        Path missing = dir.resolve("missing.safetensors");
        for (String command : new String[] {"run", "plan", "inspect"}) {
            InfoCommandTest.Result r = command.equals("inspect") ? InfoCommandTest.run(command, missing.toString())
                    : InfoCommandTest.run(command, missing.toString(), "--device", "host");
            assertEquals(2, r.exit(), command + ": " + r.err());
            assertEquals("offload: " + missing + ": no such file or directory\n", r.err(), command);
        }
    }

    @Test
    void anUnreadableInputFileIsExitTwoNamingIt() throws Exception {
        Path model = dir.resolve("locked.safetensors");
        SyntheticModel.write(model, 64, 1, 0, 1);
        Files.setPosixFilePermissions(model, java.nio.file.attribute.PosixFilePermissions.fromString("---------"));
        org.junit.jupiter.api.Assumptions.assumeFalse(Files.isReadable(model), "running as root: every file is readable");
        InfoCommandTest.Result r = InfoCommandTest.run("inspect", model.toString());
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains(model.toString()) && r.err().contains("permission denied"), r.err());
    }

    /**
     * A DISK run whose checkpoint is cut while it streams: exit 1 (it was exit 2, as for a usage error),
     * one line naming the file and, first, what failed: reading which group of which component.
     */
    @Test
    void aFileTruncatedMidRunIsExitOneNamingTheFileAndTheGroup() throws Exception {
        Path model = dir.resolve("cut.safetensors");
        SyntheticModel.write(model, 64, 6, 0, 3);
        CountDownLatch streaming = new CountDownLatch(1);
        var err = new ByteArrayOutputStream();
        OutputStream watching = new OutputStream() {
            @Override
            public synchronized void write(int b) {
                err.write(b);
                if (err.toString(StandardCharsets.UTF_8).contains(" steps (")) streaming.countDown();  // progress: steps have run
            }
        };
        var out = new ByteArrayOutputStream();
        CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> Main.run(new String[] {"run", model.toString(), "--device",
                "host", "--source", "disk", "--strategy", "group_offload", "--workload", "none", "--steps", "1000000"},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(watching, true, StandardCharsets.UTF_8)));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!streaming.await(50, TimeUnit.MILLISECONDS)) {
            assertFalse(exit.isDone() || System.nanoTime() > deadline, "no progress line: " + err);
        }
        try (FileChannel ch = FileChannel.open(model, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() / 2);
        }
        assertEquals(1, exit.get(120, TimeUnit.SECONDS), err.toString(StandardCharsets.UTF_8));
        String last = err.toString(StandardCharsets.UTF_8).lines().reduce((a, b) -> b).orElseThrow();
        assertTrue(last.startsWith("offload: reading group "), last);
        assertTrue(last.matches("offload: reading group \\d+ of component 'model' from '" + java.util.regex.Pattern.quote(model.toString())
                + "': .*"), last);
        assertTrue(last.contains("truncated"), last);
        assertTrue(last.endsWith(" of component 'model')"), last);  // then the call that found it: "(found when skipping group 3 of ...)"
    }

    /** An output path in a folder that does not exist: a bad path as given, exit 2 naming it (was exit 1, "cannot write"). */
    @Test
    void synthIntoAMissingFolderIsExitTwo() {
        Path file = dir.resolve("no-such-folder").resolve("m.safetensors");
        InfoCommandTest.Result r = InfoCommandTest.run("synth", file.toString(), "--blocks", "1", "--dim", "64");
        assertEquals(2, r.exit(), r.err());
        assertEquals("offload: " + file + ": the folder " + file.getParent() + " does not exist\n", r.err());
    }
}
