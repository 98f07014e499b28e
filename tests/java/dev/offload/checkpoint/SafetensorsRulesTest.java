package dev.offload.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The reader against the reference implementation (huggingface/safetensors, safetensors/src/tensor.rs):
 * each rule shown on both sides, accepted where the reference accepts and refused where it refuses,
 * the refusal naming the file, the tensor (or the header, the byte position, the data) and the rule as
 * the reference's error name in brackets. JSON-level rules are in SafetensorsJsonTest.
 */
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

    /** Refused with INVALID_ARGUMENT, the message starting with the file and holding each fragment (the thing, the rule). */
    static void rejects(Path p, String... fragments) {
        OffloadException e = assertThrows(OffloadException.class, () -> SafetensorsFile.open(p).close());
        assertEquals(Status.INVALID_ARGUMENT, e.status());
        assertTrue(e.getMessage().startsWith(p.toString() + ": "), e.getMessage());
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' not in: " + e.getMessage());
    }

    @Test
    void acceptsWhatTheReferenceAccepts() throws IOException {
        Path p = file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"z\":{\"dtype\":\"U8\",\"shape\":[0,3],\"data_offsets\":[8,8],\"extra\":[1],\"extra\":{\"k\":2,\"k\":3}},"
                + "\"s\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[8,16]},\"__metadata__\":{\"k\":\"v\"}}    ", 16);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(3, f.tensors().size());
            assertEquals(0, f.tensor("z").byteSize());
            assertEquals(8, f.tensor("s").byteSize());
            assertEquals("v", f.metadata().get("k"));
        }
    }

    /** A checkpoint without tensors is valid: {@code {}}, only metadata, or null metadata. */
    @ParameterizedTest
    @ValueSource(strings = {"{}", "  {}  ", "{\"__metadata__\":{\"format\":\"pt\"}}", "{\"__metadata__\":null}", "{\"__metadata__\":{}}"})
    void aHeaderWithoutTensorsOpensEmpty(String header) throws IOException {
        try (Checkpoint c = Checkpoint.open(file(header, 0))) {
            assertEquals(List.of(), c.tensors());
            assertEquals(0, c.totalBytes());
        }
    }

    @Test
    void anEmptyTensorNameIsAName() throws IOException {
        Path p = file("{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals("", f.tensors().get(0).name());
            assertEquals(4, f.tensor("").byteSize());
        }
    }

    /** Dimensions multiply left to right in unsigned 64 bits: a zero before (or after, without overflow) a huge one gives 0. */
    @ParameterizedTest
    @ValueSource(strings = {"[0,4611686018427387904]", "[0,18446744073709551615]", "[4611686018427387904,0]",
            "[4294967296,2147483648,0]", "[0,4611686018427387904,4611686018427387904]"})
    void aZeroDimensionBesideAHugeOneIsEmpty(String shape) throws IOException {
        Path p = file("{\"t\":{\"dtype\":\"BF16\",\"shape\":" + shape + ",\"data_offsets\":[0,0]}}", 0);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            TensorInfo t = f.tensor("t");
            assertEquals(0, t.byteSize());
            assertEquals(0, t.elementCount());
            assertEquals(shape.replace(",", ", "), t.shapeText());
        }
    }

    /** serde's derive reads a struct from a sequence of its fields, and a unit enum variant from {"NAME": null}. */
    @Test
    void theReferenceDeriveFormsAreAccepted() throws IOException {
        Path p = file("{\"a\":[\"F32\",[1],[0,4]],\"b\":{\"dtype\":{\"I16\":null},\"shape\":[2],\"data_offsets\":[4,8]}}", 8);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(DType.F32, f.tensor("a").dtype());
            assertEquals(DType.I16, f.tensor("b").dtype());
            assertArrayEquals(new long[] {2}, f.tensor("b").shape());
        }
    }

    @Test
    void offsetsSortByBeginThenEndAndZeroSizedTensorsMayShareAnOffset() throws IOException {
        Path p = file("{\"c\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,4]},"
                + "\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
                + "\"d\":{\"dtype\":\"F4\",\"shape\":[2,3],\"data_offsets\":[4,7]}}", 7);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(List.of("a", "c", "b", "d"), f.tensors().stream().map(TensorInfo::name).toList());
            assertEquals(3, f.tensor("d").byteSize());
        }
    }

    @Test
    void headerLengthBounds() throws IOException {
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[5]);
        rejects(tiny, "header", "5 bytes, shorter than the 8-byte header length", "[HeaderTooSmall]");

        Path huge = dir.resolve("huge.safetensors");
        Files.write(huge, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(100_000_001L).array());
        rejects(huge, "header length 100000001 exceeds the limit of 100000000 bytes", "[HeaderTooLarge]");

        Path negative = dir.resolve("negative.safetensors");
        Files.write(negative, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L).array());
        rejects(negative, "header length 18446744073709551615 exceeds the limit", "[HeaderTooLarge]");

        // Exactly the limit is allowed (the reference refuses only n > 100,000,000): here it runs past the file instead.
        Path limit = dir.resolve("limit.safetensors");
        Files.write(limit, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(100_000_000L).array());
        rejects(limit, "header length 100000000 runs past the end of the 16-byte file", "[InvalidHeaderLength]");

        Path past = dir.resolve("past.safetensors");
        Files.write(past, ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(50).array());
        rejects(past, "header length 50 runs past the end of the 20-byte file", "[InvalidHeaderLength]");
    }

    @Test
    void headerMustBeUtf8AndOneStrictJsonObject() throws IOException {
        rejects(file(new byte[] {'{', (byte) 0xff, '}'}, 0), "header", "not valid UTF-8", "[InvalidHeader]");
        rejects(file(new byte[] {'{', '"', (byte) 0xED, (byte) 0xA0, (byte) 0x80, '"', ':', '1', '}'}, 0), "header", "not valid UTF-8", "[InvalidHeader]");
        rejects(file("[1,2]", 0), "header", "not a JSON object but an array", "[InvalidHeaderDeserialization]");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},}", 4), "header at byte 54", "trailing comma", "[InvalidHeaderDeserialization]");
        rejects(file("{a:1}", 0), "header at byte 1", "expected a string key, found 'a'", "[InvalidHeaderDeserialization]");
        rejects(file("{} {}", 0), "header at byte 3", "text after the header's JSON value", "[InvalidHeaderDeserialization]");
        rejects(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", 4), "header at byte 53",
                "expected ',' or '}' after an object member, found the end of the header", "[InvalidHeaderDeserialization]");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"t\":{\"dtype\":\"F17\",\"shape\":[1],\"data_offsets\":[0,4]}}|4|tensor 't'|unknown dtype 'F17'|InvalidHeaderDeserialization",
        "{\"t\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}|4|tensor 't'|unknown dtype 'f32'|InvalidHeaderDeserialization",
        "{\"t\":{\"dtype\":3,\"shape\":[1],\"data_offsets\":[0,4]}}|4|tensor 't'|dtype must be a string, not a number|InvalidHeaderDeserialization",
        "{\"t\":{\"dtype\":{\"F32\":1},\"shape\":[1],\"data_offsets\":[0,4]}}|4|tensor 't'|dtype must be a string, not an object|InvalidHeaderDeserialization",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}|4|tensor 't'|shape must hold non-negative integers below 2^64, got 1.0|InvalidHeaderDeserialization",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}|4|tensor 't'|got -1|InvalidHeaderDeserialization",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[-0],\"data_offsets\":[0,4]}}|4|tensor 't'|got -0|InvalidHeaderDeserialization",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[18446744073709551616],\"data_offsets\":[0,4]}}|4|tensor 't'|got 18446744073709551616|InvalidHeaderDeserialization",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.0]}}|4|tensor 't'|data_offsets must hold non-negative integers below 2^64, got 4.0|InvalidHeaderDeserialization",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1e1]}}|4|tensor 't'|got 1e1|InvalidHeaderDeserialization",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}|4|tensor 't'|got a string|InvalidHeaderDeserialization",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":null,\"data_offsets\":[0,4]}}|4|tensor 't'|shape must be an array of non-negative integers, not null|InvalidHeaderDeserialization",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}|8|tensor 't'|exactly two offsets, got 3|InvalidHeaderDeserialization",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]}}|4|tensor 't'|exactly two offsets, got 1|InvalidHeaderDeserialization",
        "{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}|4|tensor 't'|missing dtype|InvalidHeaderDeserialization",
        "{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}|4|tensor 't'|missing shape|InvalidHeaderDeserialization",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[1]}}|4|tensor 't'|missing data_offsets|InvalidHeaderDeserialization",
        "{\"t\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}|4|tensor 't'|duplicate key 'dtype'|InvalidHeaderDeserialization",
        "{\"t\":[1]}|4|tensor 't'|entry is an array of 1 values|InvalidHeaderDeserialization",
        "{\"t\":[\"F32\",[1],[0,4],0]}|4|tensor 't'|entry is an array of 4 values|InvalidHeaderDeserialization",
        "{\"t\":\"F32\"}|4|tensor 't'|entry is not a JSON object but a string|InvalidHeaderDeserialization",
        "{\"__metadata__\":{\"k\":1}}|0|__metadata__|value of 'k' is a number, not a string|InvalidHeaderDeserialization",
        "{\"__metadata__\":{\"k\":null}}|0|__metadata__|value of 'k' is null, not a string|InvalidHeaderDeserialization",
        "{\"__metadata__\":[\"k\"]}|0|__metadata__|must be an object of strings, not an array|InvalidHeaderDeserialization",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}|4|tensor 't'|data_offsets [4, 0] end before they begin|InvalidOffset",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}|8|tensor 'a'|starts at byte 4 but the data section starts at 0|InvalidOffset",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}|12|tensor 'b'|starts at byte 8 but the previous tensor 'a' ends at 4|InvalidOffset",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}|8|tensor 'b'|starts at byte 4 but the previous tensor 'a' ends at 8|InvalidOffset",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}|4|tensor 't'|overflows the element count|ValidationOverflow",
        "{\"t\":{\"dtype\":\"U8\",\"shape\":[4611686018427387904,4611686018427387904,0],\"data_offsets\":[0,0]}}|0|tensor 't'|overflows the element count|ValidationOverflow",
        "{\"t\":{\"dtype\":\"BOOL\",\"shape\":[4611686018427387904],\"data_offsets\":[0,4]}}|4|tensor 't'|overflows the element count or its bits|ValidationOverflow",
        "{\"t\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}|2|tensor 't'|3 elements of F4 are 12 bits, not a whole number of bytes|MisalignedSlice",
        "{\"t\":{\"dtype\":\"F6_E3M2\",\"shape\":[2,1],\"data_offsets\":[0,2]}}|2|tensor 't'|2 elements of F6_E3M2 are 12 bits|MisalignedSlice",
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}|4|tensor 't'|hold 4 bytes but shape [2] of F32 needs 8|TensorInvalidInfo",
        "{\"t\":{\"dtype\":\"F4\",\"shape\":[4],\"data_offsets\":[0,4]}}|4|tensor 't'|hold 4 bytes but shape [4] of F4 needs 2|TensorInvalidInfo",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}|8|data|end at byte 4 of the data section but the file holds 8 bytes|MetadataIncompleteBuffer",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}|2|data|end at byte 4 of the data section but the file holds 2 bytes|MetadataIncompleteBuffer",
        "{}|3|data|end at byte 0 of the data section but the file holds 3 bytes|MetadataIncompleteBuffer",
    })
    void eachReferenceRuleNamesTheFileTheThingAndTheRule(String header, int dataBytes, String what, String explanation, String rule)
            throws IOException {
        rejects(file(header, dataBytes), what, explanation, "[" + rule + "]");
    }

    /** Duplicate names: the format's text disallows them, serde_json would keep the last; the one place we are stricter. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}|8|tensor 't'|duplicate entry 't'",
        "{\"__metadata__\":{},\"__metadata__\":{}}|0|header|duplicate entry '__metadata__'",
        "{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}|0|__metadata__|duplicate key 'k'",
    })
    void duplicateNamesAreRefused(String header, int dataBytes, String what, String explanation) throws IOException {
        rejects(file(header, dataBytes), what, explanation, "the format disallows duplicate keys");
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
