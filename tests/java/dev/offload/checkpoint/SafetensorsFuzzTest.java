package dev.offload.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.OffloadException;
import dev.offload.Status;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random corruptions of a valid file: the reader either accepts the file (and then every tensor it
 * reports lies inside the data section) or rejects it with an INVALID_ARGUMENT OffloadException that
 * names the file. Nothing else escapes: no index errors, no JSON library exceptions, no crash.
 */
class SafetensorsFuzzTest {
    @TempDir
    Path dir;

    @Test
    void corruptedFilesAreAcceptedConsistentlyOrRejectedClearly() throws IOException {
        Path good = dir.resolve("good.safetensors");
        SafetensorsWriter.write(good, List.of(
                new SafetensorsWriter.Spec("a.0.w", DType.F16, new long[] {3, 4}),
                new SafetensorsWriter.Spec("a.1.w", DType.I64, new long[] {2}),
                new SafetensorsWriter.Spec("b", DType.U8, new long[] {0})), Map.of("k", "v"), (s, t) -> t.fill((byte) 7));
        byte[] original = Files.readAllBytes(good);
        int headerEnd = 8 + (int) java.nio.ByteBuffer.wrap(original, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        Random random = new Random(2026);
        String alphabet = "{}[]\",:0123456789.-e \\u00ff";
        int accepted = 0;
        for (int trial = 0; trial < 3000; trial++) {
            byte[] bytes = original.clone();
            int edits = 1 + random.nextInt(4);
            for (int e = 0; e < edits; e++) {
                int at = random.nextInt(random.nextInt(4) == 0 ? bytes.length : headerEnd);
                bytes[at] = random.nextBoolean() ? (byte) random.nextInt(256) : (byte) alphabet.charAt(random.nextInt(alphabet.length()));
            }
            if (random.nextInt(10) == 0) bytes = java.util.Arrays.copyOf(bytes, random.nextInt(bytes.length + 16));
            Path p = dir.resolve("f" + trial + ".safetensors");
            Files.write(p, bytes);
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                accepted++;
                long data = Files.size(p);
                for (TensorInfo t : f.tensors()) {
                    assertTrue(t.begin() >= 0 && t.end() >= t.begin() && t.end() <= data);
                    if (t.byteSize() > 0) f.data(t).get(ValueLayout.JAVA_BYTE, t.byteSize() - 1);
                }
            } catch (OffloadException e) {
                assertEquals(Status.INVALID_ARGUMENT, e.status(), e.getMessage());
                assertTrue(e.getMessage().startsWith(p.toString() + ": "), e.getMessage());
            } finally {
                Files.delete(p);
            }
        }
        assertTrue(accepted > 0 && accepted < 3000, "accepted " + accepted + " of 3000 corrupted files");
    }
}
