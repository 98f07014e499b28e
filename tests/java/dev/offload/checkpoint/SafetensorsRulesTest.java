package dev.offload.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.OffloadException;
import dev.offload.Status;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every rule of the reader, each shown to reject a file and to name the file, the tensor and the rule. */
class SafetensorsRulesTest {
    @TempDir
    Path dir;

    Path file(String header, int dataBytes) throws IOException {
        return file(header.getBytes(StandardCharsets.UTF_8), dataBytes);
    }

    Path file(byte[] header, int dataBytes) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header);
        Path p = Files.createTempFile(dir, "t", ".safetensors");
        Files.write(p, b.array());
        return p;
    }

    static void rejects(Path p, String... fragments) {
        OffloadException e = assertThrows(OffloadException.class, () -> SafetensorsFile.open(p).close());
        assertEquals(Status.INVALID_ARGUMENT, e.status());
        assertTrue(e.getMessage().startsWith(p.toString() + ": "), e.getMessage());
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' not in: " + e.getMessage());
    }

    @Test
    void acceptsWhatTheReferenceAccepts() throws IOException {
        Path p = file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"z\":{\"dtype\":\"U8\",\"shape\":[0,3],\"data_offsets\":[8,8],\"extra\":[1]},"
                + "\"s\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[8,16]},\"__metadata__\":{\"k\":\"v\"}}    ", 16);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(3, f.tensors().size());
            assertEquals(0, f.tensor("z").byteSize());
            assertEquals(8, f.tensor("s").byteSize());
            assertEquals("v", f.metadata().get("k"));
        }
        try (SafetensorsFile empty = SafetensorsFile.open(file("{}", 0))) {
            assertEquals(0, empty.tensors().size());
        }
    }

    @Test
    void headerLengthBounds() throws IOException {
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[5]);
        rejects(tiny, "header", "5 bytes, shorter than the 8-byte header length");

        Path huge = dir.resolve("huge.safetensors");
        Files.write(huge, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(100_000_001L).array());
        rejects(huge, "header length 100000001 exceeds the limit of 100000000 bytes");

        Path past = dir.resolve("past.safetensors");
        Files.write(past, ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(50).array());
        rejects(past, "header length 50 runs past the end of the 20-byte file");
    }

    @Test
    void headerMustBeUtf8AndOneStrictJsonObject() throws IOException {
        rejects(file(new byte[] {'{', (byte) 0xff, '}'}, 0), "not valid UTF-8");
        rejects(file("[1,2]", 0), "not a JSON object");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},}", 4), "not a valid JSON object");
        rejects(file("{a:1}", 0), "not a valid JSON object");
        rejects(file("{} {}", 0), "malformed JSON at line 1 column 5");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", 4), "not a valid JSON object");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"t\":{\"dtype\":\"F17\",\"shape\":[1],\"data_offsets\":[0,4]}}|4|tensor 't'|unknown dtype 'F17'",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}|4|tensor 't'|shape must hold non-negative integers, got 1.0",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}|4|tensor 't'|got -1",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.0]}}|4|tensor 't'|data_offsets must hold non-negative integers, got 4.0",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1e1]}}|4|tensor 't'|got 1e1",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}|4|tensor 't'|got a string",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}|8|tensor 't'|exactly two offsets, got 3",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]}}|4|tensor 't'|exactly two offsets, got 1",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}|4|tensor 't'|end before they begin",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}|4|tensor 't'|hold 4 bytes but shape [2] of F32 needs 8",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}|4|tensor 't'|overflows the element count",
        "{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}|4|tensor 't'|missing dtype",
        "{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}|4|tensor 't'|missing shape",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[1]}}|4|tensor 't'|missing data_offsets",
        "{\"t\":[1]}|4|tensor 't'|entry is not a JSON object",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}|8|header|duplicate entry 't'",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}|8|tensor 'a'|starts at byte 4 but the data section starts at 0",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}|12|tensor 'b'|starts at byte 8 but the previous tensor 'a' ends at 4",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}|8|tensor 'b'|starts at byte 4 but the previous tensor 'a' ends at 8",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}|8|data|end at byte 4 of the data section but the file holds 8 bytes",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}|2|data|end at byte 4 of the data section but the file holds 2 bytes",
        "{\"__metadata__\":{\"k\":1}}|0|__metadata__|value of 'k' is a number, not a string",
        "{\"__metadata__\":[\"k\"]}|0|__metadata__|must be an object of strings",
    })
    void eachRuleNamesTheFileTheTensorAndTheRule(String header, int dataBytes, String what, String rule) throws IOException {
        rejects(file(header, dataBytes), what, rule);
    }

    @Test
    void offsetsPastTwoGibibytesAreLongs() throws IOException {
        long big = (1L << 31) + 16;
        String header = "{\"big\":{\"dtype\":\"U8\",\"shape\":[" + big + "],\"data_offsets\":[0," + big + "]},"
                + "\"tail\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[" + big + "," + (big + 4) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        Path p = dir.resolve("big.safetensors");
        try (var ch = java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ByteBuffer head = ByteBuffer.allocate(8 + h.length).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(h.length).put(h).flip();
            ch.write(head, 0);
            // A sparse file: only the last tensor's bytes are written.
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 123456789), 8 + h.length + big);
        }
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(big, f.tensor("big").byteSize());
            assertEquals(big, f.data(f.tensor("big")).byteSize());
            assertEquals(0, f.data(f.tensor("big")).get(java.lang.foreign.ValueLayout.JAVA_BYTE, big - 1));
            assertEquals(123456789, f.data(f.tensor("tail")).get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0));
        } finally {
            Files.delete(p);
        }
    }

    @Test
    void writerOutputReadsBack() throws IOException {
        Path p = dir.resolve("w.safetensors");
        var specs = java.util.List.of(new SafetensorsWriter.Spec("x", DType.BF16, new long[] {3, 5}),
                new SafetensorsWriter.Spec("y", DType.U8, new long[] {7}));
        SafetensorsWriter.write(p, specs, java.util.Map.of("m", "n"), (spec, target) -> {
            for (long i = 0; i < target.byteSize(); i++) target.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) (i * 7 + spec.name().charAt(0)));
        });
        long headerLength = ByteBuffer.wrap(Files.readAllBytes(p), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLength % 8, "the header is padded to 8 bytes as the reference writer does");
        assertEquals(8 + headerLength + 37, Files.size(p));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(30, f.tensor("x").byteSize());
            assertEquals((byte) (6 * 7 + 'y'), f.data(f.tensor("y")).get(java.lang.foreign.ValueLayout.JAVA_BYTE, 6));
            assertEquals("n", f.metadata().get("m"));
        }
    }
}
