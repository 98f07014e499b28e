package dev.offload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.memory.FileStamp;
import dev.offload.workload.SyntheticModel;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One file identity ({@link FileStamp}: device, inode, size, modification and change time) for
 * every check (issue 16): a file replaced by rename with a same-size, same-mtime file (cp -p, rsync
 * -a) is seen by component sharing and by an engine made at a later turn, and a file rewritten in
 * place with its times set back is seen by a live engine's per-read check (its change time moved).
 * The old checks compared size and modification time only, and passed all three.
 */
class FileIdentityTest {
    @TempDir
    Path dir;

    /** Replaces {@code file} by rename with a same-size file of other bytes and the same modification time. */
    void replaceKeepingSizeAndTimes(Path file, long seed) throws Exception {
        Path staged = dir.resolve("staged-" + seed + ".safetensors");
        SyntheticModel.write(staged, 64, 4, 3, seed);
        assertEquals(Files.size(file), Files.size(staged));
        assertFalse(Arrays.equals(Files.readAllBytes(file), Files.readAllBytes(staged)), "other weights");
        Files.setLastModifiedTime(staged, Files.getLastModifiedTime(file));
        FileStamp before = FileStamp.of(file);
        Files.move(staged, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        FileStamp after = FileStamp.of(file);
        assertEquals(before.size(), after.size());
        assertEquals(before.modifiedNs(), after.modifiedNs());
        assertNotEquals(before.inode(), after.inode());
    }

    @Test
    void aSecondRegistrationOfAReplacedFileDoesNotShareTheFirstOnesCopy() throws Exception {
        Path file = dir.resolve("model.safetensors");
        SyntheticModel.write(file, 64, 4, 3, 1);
        try (Offloader off = Offloader.open(OffloadConfig.builder().device("host").build()); Checkpoint first = Checkpoint.open(file)) {
            off.register("m", first);
            try (Checkpoint same = Checkpoint.open(file)) {
                off.register("m", same);  // the same file, unchanged: shared
                assertEquals(2, off.component("m").references());
            }
            replaceKeepingSizeAndTimes(file, 2);
            try (Checkpoint replaced = Checkpoint.open(file)) {
                OffloadException e = assertThrows(OffloadException.class, () -> off.register("m", replaced));
                assertTrue(e.getMessage().contains("the same file(s), changed since") && e.getMessage().contains("replaced by another file")
                        && e.getMessage().contains(file.getFileName().toString()), e.getMessage());
            }
            assertEquals(2, off.component("m").references(), "nothing shared");
        }
    }

    @Test
    void aTurnAfterAFileWasReplacedWithTheSameSizeAndTimesIsRefused() throws Exception {
        Path a = dir.resolve("a.safetensors"), b = dir.resolve("b.safetensors");
        SyntheticModel.write(a, 64, 4, 3, 21);
        SyntheticModel.write(b, 64, 4, 3, 22);
        try (Arena arena = Arena.ofConfined()) {
            var expectedA = DiskSourceTest.copyOf(a, arena);
            var expectedB = DiskSourceTest.copyOf(b, arena);
            OffloadConfig turns = OffloadConfig.builder().device("host").strategy(Strategy.MODEL_OFFLOAD).source(HostSource.DISK)
                    .stagingBytes(64 << 10).deviceBudget(Files.size(a) * 3 / 2).build();
            try (Offloader off = Offloader.open(turns)) {
                try (Checkpoint ca = Checkpoint.open(a); Checkpoint cb = Checkpoint.open(b)) {
                    off.register("a", ca);
                    off.register("b", cb);
                }
                assertEquals(expectedA.size(), LifecycleTest.stepAndCompare(off, "a", expectedA));
                assertEquals(expectedB.size(), LifecycleTest.stepAndCompare(off, "b", expectedB));  // a is swapped out
                replaceKeepingSizeAndTimes(a, 23);
                OffloadException e = assertThrows(OffloadException.class, () -> LifecycleTest.stepAndCompare(off, "a", expectedA));
                assertEquals(Status.IO, e.status(), e.getMessage());
                assertTrue(e.getMessage().contains("changed since the component was registered")
                        && e.getMessage().contains("replaced by another file"), e.getMessage());
            }
        }
    }

    @Test
    void aLiveEngineRefusesAFileRewrittenInPlaceWithItsTimesSetBack() throws Exception {
        Path file = dir.resolve("live.safetensors");
        SyntheticModel.write(file, 64, 4, 3, 31);
        try (Checkpoint c = Checkpoint.open(file);
             Offloader off = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).source(HostSource.DISK)
                     .stagingBytes(64 << 10).deviceBudget(c.totalBytes() / 3).build())) {
            off.register("m", c);
            try (Step step = off.step("m")) {
                for (Group g : step) assertTrue(g.byteSize() > 0);
            }
            off.component("m").metrics(0, true);  // the device (and the readers) done with step 0
            FileTime mtime = Files.getLastModifiedTime(file);
            long size = Files.size(file);
            Thread.sleep(30);  // past the kernel's coarse timestamp tick
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(new byte[4096]), size - 8192);  // other weights, same size
            }
            Files.setLastModifiedTime(file, mtime);  // times set back, as touch -d / cp -p do
            assertEquals(size, Files.size(file));
            assertEquals(mtime, Files.getLastModifiedTime(file));
            OffloadException e = assertThrows(OffloadException.class, () -> {
                // a failed read surfaces at the engine's next call, which may be a step later
                for (int s = 0; s < 8; s++) {
                    try (Step step = off.step("m")) {
                        for (Group g : step) assertTrue(g.byteSize() >= 0);
                    }
                }
            });
            assertEquals(Status.IO, e.status(), e.getMessage());
            assertTrue(e.getMessage().contains("change time changed") && e.getMessage().contains("live.safetensors"), e.getMessage());
        }
    }
}
