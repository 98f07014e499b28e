package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import dev.offload.workload.SyntheticModel;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 16 on the command line: a checkpoint whose file name is not UTF-8 streams from disk (it
 * used to fail with "No such file or directory"), a name the JVM could not decode is refused with
 * exit 2 saying so, and the disk cache's --disk-cache-max and --disk-cache-check flags.
 */
class CacheAndNameOptionsTest {
    @TempDir
    Path dir;

    /** A folder holding one checkpoint named by raw bytes {@code mod\xe9l\xff.safetensors} (Path.of(URI) keeps the %XX bytes). */
    Path nonUtf8Folder() throws Exception {
        Path folder = dir.resolve("names");
        Files.createDirectories(folder);
        Path file = Path.of(URI.create("file://" + folder.toAbsolutePath().toUri().getRawPath() + "mod%E9l%FF.safetensors"));
        SyntheticModel.write(file, 64, 3, 2, 5);
        try (var list = Files.list(folder)) {
            assertEquals("mod%E9l%FF.safetensors", list.findFirst().orElseThrow().getFileName().toUri().getRawPath()
                    .replaceAll(".*/", ""), "the name on disk is the raw bytes");
        }
        return folder;
    }

    @Test
    void aNonUtf8FileNameStreamsFromDiskAndIsVerified() throws Exception {
        Path folder = nonUtf8Folder();
        for (String[] source : new String[][] {{"--source", "disk"}, {"--disk-cache", dir.resolve("cache").toString()}, {"--source", "pinned"}}) {
            JsonObject j = DiskCommandsTest.json(InfoCommandTest.run("run", folder.toString(), "--device", "host", "--budget", "256KiB",
                    "--steps", "2", "--verify", source[0], source[1], "--json"));
            assertTrue(j.get("verified").getAsBoolean(), j.toString());
        }
    }

    @Test
    void aFileNameTheJvmCouldNotDecodeIsRefusedWithExit2SayingSo() throws Exception {
        Path folder = nonUtf8Folder();
        String decoded = folder + "/mod\uFFFDl\uFFFD.safetensors";  // what the JVM makes of the raw bytes in argv
        for (String command : new String[] {"run", "inspect", "plan"}) {
            InfoCommandTest.Result r = InfoCommandTest.run(command, decoded);
            assertEquals(2, r.exit(), r.err());
            assertTrue(r.err().contains("not valid") && r.err().contains("U+FFFD") && r.err().contains("give its folder"), r.err());
            assertFalse(r.err().contains("no such file"), r.err());
        }
        // an output name too: synth wrote a file under another name (U+FFFD's bytes) before
        InfoCommandTest.Result r = InfoCommandTest.run("synth", dir.resolve("out\uFFFD.safetensors").toString(), "--dim", "64", "--blocks", "1");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("U+FFFD"), r.err());
        try (var listing = java.nio.file.Files.list(dir)) {
            assertTrue(listing.noneMatch(p -> p.getFileName().toString().startsWith("out")), "nothing written");
        }
    }

    @Test
    void theCacheFlagsNeedACacheAndValidValues() {
        Path model = dir.resolve("m.safetensors");
        SyntheticModel.write(model, 64, 3, 2, 5);
        String cache = dir.resolve("cache").toString();
        String[][] bad = {
            {"--disk-cache-max", "1GiB"},
            {"--disk-cache-check", "content"},
            {"--disk-cache", cache, "--disk-cache-max", "lots"},
            {"--disk-cache", cache, "--disk-cache-max", "0"},
            {"--disk-cache", cache, "--disk-cache-check", "hash"},
        };
        for (String[] flags : bad) {
            String[] argv = new String[4 + flags.length];
            argv[0] = "run";
            argv[1] = model.toString();
            argv[2] = "--device";
            argv[3] = "host";
            System.arraycopy(flags, 0, argv, 4, flags.length);
            InfoCommandTest.Result r = InfoCommandTest.run(argv);
            assertEquals(2, r.exit(), String.join(" ", flags) + ": " + r.err());
            assertTrue(r.err().contains(flags[flags.length - 2]), r.err());
        }
        JsonObject j = DiskCommandsTest.json(InfoCommandTest.run("run", model.toString(), "--device", "host", "--steps", "2", "--verify",
                "--disk-cache", cache, "--disk-cache-max", "64MiB", "--disk-cache-check", "content", "--json"));
        assertTrue(j.get("verified").getAsBoolean(), j.toString());
        InfoCommandTest.Result demo = InfoCommandTest.run("demo", "--device", "host", "--steps", "1", "--dim", "64", "--disk-cache", cache,
                "--disk-cache-max", "64MiB", "--disk-cache-check", "content", "--json");
        assertEquals(0, demo.exit(), demo.err());
    }
}
