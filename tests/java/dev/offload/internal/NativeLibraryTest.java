package dev.offload.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The loader, each case in a fresh JVM (a library loads once per JVM). */
public class NativeLibraryTest {
    public record Run(int exit, String stderr, String stdout) {}

    public static Run cli(List<String> jvmArgs, String... args) throws Exception {
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

    /** Every entry under {@code root} (links not followed) with its size and modification time. */
    static TreeMap<String, String> listing(Path root) throws IOException {
        TreeMap<String, String> entries = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.toList()) {
                if (p.equals(root)) continue;
                entries.put(root.relativize(p).toString(), Files.isSymbolicLink(p) ? "link"
                        : Files.size(p) + " bytes, " + Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS));
            }
        }
        return entries;
    }

    /** Loads both libraries from the class path's resources in a fresh JVM whose temporary folder is {@code tmp}. */
    static Run loadBoth(Path tmp, Path model) throws Exception {
        return cli(List.of("-Djava.io.tmpdir=" + tmp), "run", model.toString(), "--device", "host", "--steps", "1", "--json");
    }

    static Path model(Path dir) throws Exception {
        Path model = dir.resolve("m.safetensors");
        Run synth = cli(List.of(), "synth", model.toString(), "--blocks", "1", "--dim", "64");
        assertEquals(0, synth.exit(), synth.stderr());
        return model;
    }

    /**
     * Issue 16: each JVM start left an empty offload-native-N folder (and a killed one its library).
     * Now the libraries are written once per content, and later runs add nothing.
     */
    @Test
    void repeatedRunsLeaveNothingNewInTheTemporaryFolder(@TempDir Path tmp, @TempDir Path models) throws Exception {
        Path model = model(models);
        Run first = loadBoth(tmp, model);
        assertEquals(0, first.exit(), first.stderr());
        TreeMap<String, String> after = listing(tmp);
        List<String> libraries = after.keySet().stream().filter(k -> k.endsWith(".so")).toList();
        assertEquals(2, libraries.size(), after.toString());  // liboffload.so and liboffload_workload.so, each in its hash's folder
        assertEquals(1, Files.list(tmp).count(), after.toString());  // one offload-native-<uid> folder, nothing else
        Path base = Files.list(tmp).findFirst().orElseThrow();
        assertTrue(base.getFileName().toString().startsWith("offload-native-"), base.toString());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(base, LinkOption.NOFOLLOW_LINKS)));
        for (int i = 0; i < 20; i++) {
            Run r = i % 2 == 0 ? cli(List.of("-Djava.io.tmpdir=" + tmp), "info", "--device", "host", "--bytes", "64KiB", "--repeats", "1")
                    : loadBoth(tmp, model);
            assertEquals(0, r.exit(), r.stderr());
        }
        assertEquals(after, listing(tmp), "the temporary folder after 21 runs");
    }

    /** A library planted under the predictable name, with other bytes: rewritten (by rename) before it is loaded. */
    @Test
    void aPlantedLibraryWithOtherContentIsReplacedNotLoaded(@TempDir Path tmp, @TempDir Path models) throws Exception {
        Path model = model(models);
        assertEquals(0, loadBoth(tmp, model).exit());
        List<Path> libraries = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(tmp)) {
            walk.filter(p -> p.toString().endsWith(".so")).forEach(libraries::add);
        }
        assertEquals(2, libraries.size());
        TreeMap<String, String> good = new TreeMap<>();
        for (Path lib : libraries) {
            good.put(lib.toString(), java.util.HexFormat.of().formatHex(LibraryExtraction.sha256(Files.readAllBytes(lib))));
            Files.writeString(lib, "not a library");  // loading this would fail: the run would exit 1
        }
        Run r = loadBoth(tmp, model);
        assertEquals(0, r.exit(), r.stderr());
        for (Path lib : libraries) {
            assertEquals(good.get(lib.toString()), java.util.HexFormat.of().formatHex(LibraryExtraction.sha256(Files.readAllBytes(lib))), lib.toString());
        }
    }

    /**
     * A symbolic link planted as the user's folder (another user could point it at a folder of
     * theirs): not used; the libraries load from a private folder deleted at once, nothing is written
     * behind the link, and nothing is left in the temporary folder.
     */
    @Test
    void aLinkPlantedAsTheFolderIsNotUsed(@TempDir Path tmp, @TempDir Path elsewhere, @TempDir Path models) throws Exception {
        Path model = model(models);
        Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        Path link = Files.createSymbolicLink(tmp.resolve("offload-native-" + uid), elsewhere);
        Run r = loadBoth(tmp, model);
        assertEquals(0, r.exit(), r.stderr());
        assertTrue(r.stderr().contains(link + " (not a folder: a link or a file)"), r.stderr());
        assertEquals(List.of(), listing(elsewhere).keySet().stream().toList(), "written behind the link");
        assertEquals(List.of(link.getFileName().toString()), listing(tmp).keySet().stream().toList(), "left in the temporary folder");
    }

    /** A folder of the right name but open to others (mode 0777): not used either. */
    @Test
    void aFolderOpenToOthersIsNotUsed(@TempDir Path tmp, @TempDir Path models) throws Exception {
        Path model = model(models);
        Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        Path open = Files.createDirectory(tmp.resolve("offload-native-" + uid));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        Run r = loadBoth(tmp, model);
        assertEquals(0, r.exit(), r.stderr());
        assertTrue(r.stderr().contains("not rwx------"), r.stderr());
        assertEquals(List.of(), listing(open).keySet().stream().toList());
    }

    /** Rebuilds do not fill the folder either: another build's copy an hour old goes when a new copy is written; a fresh one stays. */
    @Test
    void anotherBuildsOldCopyIsRemovedWhenANewOneIsWritten(@TempDir Path tmp, @TempDir Path models) throws Exception {
        Path model = model(models);
        var mode = PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
        Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        Path base = Files.createDirectory(tmp.resolve("offload-native-" + uid), mode);
        Path old = Files.createDirectory(base.resolve("0000000000000000"), mode), fresh = Files.createDirectory(base.resolve("1111111111111111"), mode);
        Files.writeString(old.resolve("liboffload.so"), "an older build");
        Files.setLastModifiedTime(old.resolve("liboffload.so"), java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 7_200_000));
        Files.writeString(fresh.resolve("liboffload.so"), "a build of a minute ago");
        assertEquals(0, loadBoth(tmp, model).exit());
        assertTrue(!Files.exists(old), "the hour-old copy of another build is left");
        assertEquals("a build of a minute ago", Files.readString(fresh.resolve("liboffload.so")));
    }

    /** The empty folders earlier versions left at every start go; one holding a file, or a minute young, stays. */
    @Test
    void earlierVersionsEmptyFoldersAreRemoved(@TempDir Path tmp, @TempDir Path models) throws Exception {
        Path model = model(models);
        java.nio.file.attribute.FileTime hourAgo = java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 3_600_000);
        Path empty = Files.createDirectory(tmp.resolve("offload-native-1234567890123456789"));
        Path holding = Files.createDirectory(tmp.resolve("offload-native-9876543210"));
        Files.writeString(holding.resolve("liboffload.so"), "a killed run's copy");
        Path young = Files.createDirectory(tmp.resolve("offload-native-5555555555"));
        Files.setLastModifiedTime(empty, hourAgo);
        Files.setLastModifiedTime(holding, hourAgo);
        assertEquals(0, loadBoth(tmp, model).exit());
        assertTrue(!Files.exists(empty), "an earlier version's empty folder is removed");
        assertTrue(Files.exists(holding.resolve("liboffload.so")), "a folder holding a file is left");
        assertTrue(Files.exists(young), "a folder younger than a minute is left");
    }
}
