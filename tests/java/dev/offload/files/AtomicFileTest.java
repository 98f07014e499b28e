package dev.offload.files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files appear whole or not at all; temporaries name their writer, and the next write into a folder
 * removes those of dead writers (pid gone, or pid reused: another start time) and keeps live ones.
 */
class AtomicFileTest {
    @TempDir
    Path dir;

    static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    static void writeText(Path file, String text) {
        AtomicFile.write(file, "the test file", out -> out.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), 0));
    }

    /** A pid no process can have: above the kernel's limit. */
    static long deadPid() throws IOException {
        Path max = Path.of("/proc/sys/kernel/pid_max");
        long pid = Files.isRegularFile(max) ? Long.parseLong(Files.readAllLines(max).get(0).trim()) + 1 : 99_999_999L;
        assumeTrue(ProcessHandle.of(pid).isEmpty(), "pid " + pid + " exists");
        return pid;
    }

    @Test
    void aWriteReplacesTheFileAndLeavesNothingElse() throws IOException {
        writeText(dir.resolve("a.json"), "old");
        writeText(dir.resolve("a.json"), "new");
        assertEquals("new", Files.readString(dir.resolve("a.json")));
        assertEquals(List.of("a.json"), names(dir));
        assertEquals(List.of(), ProcessTemps.live().stream().filter(p -> p.startsWith(dir.toAbsolutePath())).toList());
    }

    @Test
    void aFailedWriteKeepsTheOldFileRemovesItsTemporaryAndNamesTheFile() throws IOException {
        Path file = dir.resolve("model.safetensors");
        writeText(file, "previous");
        FileWriteException e = assertThrows(FileWriteException.class, () -> AtomicFile.write(file, "the checkpoint", out -> {
            out.write(ByteBuffer.wrap(new byte[4096]), 0);
            throw new IOException("No space left on device");
        }));
        assertEquals("cannot write the checkpoint " + file + ": no space left on device", e.getMessage());
        assertEquals("previous", Files.readString(file));
        assertEquals(List.of("model.safetensors"), names(dir));
        // a body's own runtime error passes as it is, and the temporary goes too
        assertThrows(IllegalStateException.class, () -> AtomicFile.write(dir.resolve("b"), "b", out -> {
            out.write(ByteBuffer.wrap(new byte[10]), 0);
            throw new IllegalStateException("the source ended");
        }));
        assertEquals(List.of("model.safetensors"), names(dir));
    }

    @Test
    void aMappedWriteGetsItsSpaceReservedFirst() throws IOException {
        Path file = dir.resolve("m.bin");
        AtomicFile.write(file, "m", out -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment s = out.map(3 << 20, arena);
                s.set(ValueLayout.JAVA_BYTE, (3 << 20) - 1, (byte) 7);
                // the temporary, full size already, in the same folder (FullDiskTest shows the reservation failing)
                List<String> now = names(dir);
                assertEquals(1, now.size());
                assertTrue(now.get(0).startsWith(".m.bin" + ProcessTemps.FILE_MARK + ProcessTemps.self() + "-"), now.get(0));
                assertEquals(3 << 20, Files.size(dir.resolve(now.get(0))));
            }
        });
        byte[] bytes = Files.readAllBytes(file);
        assertEquals(3 << 20, bytes.length);
        assertEquals(7, bytes[bytes.length - 1]);
        assertEquals(List.of("m.bin"), names(dir));
    }

    @Test
    void linksAreFollowedDevicesWrittenStraightFoldersRefused() throws IOException {
        Path real = dir.resolve("real.json");
        writeText(real, "one");
        Path link = Files.createSymbolicLink(dir.resolve("link.json"), real.getFileName());
        writeText(link, "two");
        assertTrue(Files.isSymbolicLink(link));
        assertEquals("two", Files.readString(real));
        assumeTrue(Files.exists(Path.of("/dev/null")));
        writeText(Path.of("/dev/null"), "nothing");  // not renamed over: /dev/null stays a device
        assertFalse(Files.isRegularFile(Path.of("/dev/null")));
        FileWriteException e = assertThrows(FileWriteException.class, () -> writeText(dir, "x"));
        assertTrue(e.getMessage().endsWith(dir + ": it is a folder"), e.getMessage());
        dev.offload.OffloadException missing = assertThrows(dev.offload.OffloadException.class, () -> writeText(dir.resolve("no/x.json"), "x"));
        assertEquals(dev.offload.Status.INVALID_ARGUMENT, missing.status());
        assertEquals("cannot write the test file " + dir.resolve("no/x.json") + ": the folder " + dir.resolve("no") + " does not exist",
                missing.getMessage());
    }

    @Test
    void staleTemporariesOfDeadOrReusedPidsGoAndLiveOnesStay() throws IOException {
        long dead = deadPid();
        String self = ProcessTemps.self();
        long pid = ProcessHandle.current().pid();
        long start = Long.parseLong(self.substring(self.indexOf('-') + 1));
        long initStart = ProcessTemps.startOf(1).orElse(-1L);
        List<String> stale = List.of(
                ".trace.json" + ProcessTemps.FILE_MARK + dead + "-" + start + "-3",              // pid gone
                ".model.offload-cache" + ProcessTemps.FILE_MARK + pid + "-" + (start + 1) + "-0"); // our pid, another start: reused
        List<String> live = new java.util.ArrayList<>(List.of(
                ".other.bin" + ProcessTemps.FILE_MARK + self + "-999999",                       // this process: a live writer
                "offload-tmp-looking.but-not-ours-1-2-3",                                          // not a temporary's name
                "x" + ProcessTemps.FILE_MARK + dead + "-1-1"));                                    // no leading dot: not ours
        if (initStart >= 0) live.add(".init.bin" + ProcessTemps.FILE_MARK + "1-" + initStart + "-0"); // pid 1, its start time
        for (String n : stale) Files.writeString(dir.resolve(n), "partial");
        for (String n : live) Files.writeString(dir.resolve(n), "live");
        Path staleFolder = Files.createDirectories(dir.resolve(".x" + ProcessTemps.FILE_MARK + dead + "-5-0").resolve("inner"));
        Files.writeString(staleFolder.resolve("f"), "f");
        if (initStart >= 0) Files.writeString(dir.resolve(".init2.bin" + ProcessTemps.FILE_MARK + "1-" + (initStart + 1) + "-0"), "reused");

        writeText(dir.resolve("next.json"), "{}");
        List<String> expected = new java.util.ArrayList<>(live);
        expected.add("next.json");
        assertEquals(expected.stream().sorted().toList(), names(dir));
    }

    @Test
    void demoFoldersOfDeadRunsGoWhenTheNextOneIsMade() throws IOException {
        long dead = deadPid();
        Path stale = Files.createDirectories(dir.resolve("offload-demo-" + dead + "-77-0"));
        Files.writeString(stale.resolve("model.safetensors"), "x".repeat(1000));
        Path live = Files.createDirectories(dir.resolve("offload-demo-" + ProcessTemps.self() + "-424242"));
        Path made = ProcessTemps.createFolder(dir, "offload-demo-");
        assertTrue(made.getFileName().toString().startsWith("offload-demo-" + ProcessTemps.self() + "-"), made.toString());
        assertTrue(ProcessTemps.live().contains(made.toAbsolutePath()));
        assertEquals(List.of(live.getFileName().toString(), made.getFileName().toString()).stream().sorted().toList(), names(dir));
        Files.writeString(made.resolve("f"), "f");
        ProcessTemps.remove(made);
        assertFalse(Files.exists(made));
        assertFalse(ProcessTemps.live().contains(made.toAbsolutePath()));
    }

    @Test
    void theStartTimeIsProcStatField22() throws IOException {
        assumeTrue(Files.isRegularFile(Path.of("/proc/self/stat")));
        String stat = Files.readAllLines(Path.of("/proc/self/stat")).get(0);
        String[] after = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        assertEquals(ProcessHandle.current().pid() + "-" + after[19], ProcessTemps.self());
        assertTrue(ProcessTemps.stale(deadPid(), 1));
        assertFalse(ProcessTemps.stale(ProcessHandle.current().pid(), Long.parseLong(after[19])));
        assertTrue(ProcessTemps.stale(ProcessHandle.current().pid(), Long.parseLong(after[19]) + 1));
    }

    @Test
    void aMappedFillThatFaultsStillLeavesNoTemporary() throws IOException {
        Path file = dir.resolve("big.bin");
        assertThrows(FileWriteException.class, () -> AtomicFile.write(file, "the checkpoint", out -> {
            throw new InternalError("a fault occurred in an unsafe memory access operation");
        }));
        assertEquals(List.of(), names(dir));
    }
}
