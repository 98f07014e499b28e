package dev.offload.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.OffloadConfig;
import dev.offload.OffloadException;
import dev.offload.Offloader;
import dev.offload.Status;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.FileBacking;
import dev.offload.checkpoint.TensorInfo;
import dev.offload.workload.SyntheticModel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Packing reads an open safetensors file with positional reads, not through its mapping: a file
 * truncated after it was opened is an IO error naming it (through the mapping it would be a
 * SIGBUS that kills the JVM), and the offloader stays usable and closeable.
 */
class FilePackingTest {
    @Test
    void aTensorOfAnOpenFileIsFoundInItsFileAndNothingElseIs(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("m.safetensors");
        SyntheticModel.write(file, 64, 1, 1, 3);
        MemorySegment data;
        try (Checkpoint c = Checkpoint.open(file)) {
            TensorInfo t = c.tensors().get(c.tensors().size() - 1);
            data = c.data(t);
            Optional<FileBacking.Region> region = FileBacking.of(data);
            assertEquals(file, region.orElseThrow().file());
            long headerEnd = Files.size(file) - c.totalBytes();
            assertEquals(headerEnd + t.begin(), region.get().position());
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ); Arena arena = Arena.ofConfined()) {
                MemorySegment read = arena.allocate(data.byteSize());
                ch.read(read.asByteBuffer(), region.get().position());
                assertEquals(-1, read.mismatch(data), "the region holds the tensor's bytes");
            }
            try (Arena arena = Arena.ofConfined()) {
                assertTrue(FileBacking.of(arena.allocate(64)).isEmpty());
            }
            assertTrue(FileBacking.of(MemorySegment.ofArray(new byte[8])).isEmpty());
        }
        assertTrue(FileBacking.of(data).isEmpty(), "closed: unregistered");
    }

    @Test
    void aFileTruncatedAfterOpeningIsAnIoErrorAtRegistrationNotACrash(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("model.safetensors");
        SyntheticModel.write(file, 64, 2, 1, 5);
        try (Checkpoint model = Checkpoint.open(file);
             Offloader off = Offloader.open(OffloadConfig.builder().device("host").build())) {
            long size = Files.size(file);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.truncate(size / 2);
            }
            OffloadException e = assertThrows(OffloadException.class, () -> off.register("m", model));
            assertEquals(Status.IO, e.status(), e.getMessage());
            assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("truncated"), e.getMessage());
            assertEquals(0, off.deviceInfo().hostUsedBytes(), "the partial host copy was freed");
            assertEquals(0, off.deviceInfo().usedBytes());
            assertTrue(off.components().isEmpty());
            off.close();
            off.close();
        }
    }
}
