package dev.offload.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The header's JSON by serde_json's rules (the reference's parser), both sides: what it accepts opens,
 * what it refuses is refused naming the file, the byte position in the header, the rule in words and
 * [InvalidHeaderDeserialization]; never a parser's token names.
 */
class SafetensorsJsonTest {
    @TempDir
    Path dir;

    static final String TENSOR = "{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}";

    Path file(byte[] header, int dataBytes) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header);
        Path p = Files.createTempFile(dir, "j", ".safetensors");
        Files.write(p, b.array());
        return p;
    }

    Path file(String header, int dataBytes) throws IOException {
        return file(header.getBytes(StandardCharsets.UTF_8), dataBytes);
    }

    /** A header with one one-byte tensor named {@code name} (JSON text, escapes as written). */
    Path named(String jsonName) throws IOException {
        return file("{\"" + jsonName + "\":" + TENSOR + "}", 1);
    }

    static void refusedAt(Path p, int position, String rule) {
        SafetensorsRulesTest.rejects(p, "header at byte " + position + ": ", rule, "[InvalidHeaderDeserialization]");
    }

    @Test
    void aLeadingByteOrderMarkIsRefused() throws IOException {
        byte[] json = "{}".getBytes(StandardCharsets.UTF_8);
        byte[] withBom = new byte[json.length + 3];
        withBom[0] = (byte) 0xEF;
        withBom[1] = (byte) 0xBB;
        withBom[2] = (byte) 0xBF;
        System.arraycopy(json, 0, withBom, 3, json.length);
        refusedAt(file(withBom, 0), 0, "starts with a UTF-8 byte-order mark");
        // After whitespace it is no whitespace either.
        refusedAt(file("  \uFEFF{}", 0), 2, "expected a value, found byte 0xef");
    }

    /** Surrogates in \\u escapes must pair, in names, in metadata, and in values the reference ignores (it buffers them whole). */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"a\\ud800\":" + TENSOR + "}|lone high surrogate \\ud800 in a string escape (not followed by a \\u low surrogate)",
        "{\"a\\ud800x\":" + TENSOR + "}|lone high surrogate \\ud800",
        "{\"a\\ud800\\n\":" + TENSOR + "}|lone high surrogate \\ud800",
        "{\"a\\udbff\\u0041\":" + TENSOR + "}|lone high surrogate \\udbff in a string escape (followed by \\u0041, not a low surrogate)",
        "{\"a\\ud800\\ud800\":" + TENSOR + "}|followed by \\ud800, not a low surrogate",
        "{\"a\\udc00\":" + TENSOR + "}|lone low surrogate \\udc00",
        "{\"__metadata__\":{\"k\":\"\\udfff\"}}|lone low surrogate \\udfff",
        "{\"t\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0],\"note\":\"\\ud83d\"}}|lone high surrogate \\ud83d",
    })
    void loneSurrogatesAreRefused(String header, String rule) throws IOException {
        Path p = file(header, header.contains("[0,1]") ? 1 : 0);
        SafetensorsRulesTest.rejects(p, "header at byte ", rule, "[InvalidHeaderDeserialization]");
    }

    @Test
    void pairedSurrogatesAndOtherEscapesDecode() throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(named("\\ud83d\\ude00 \\u00e9\\\"\\\\\\/\\b\\f\\n\\r\\t\\u002E\\uFFFF"))) {
            assertEquals("\uD83D\uDE00 \u00e9\"\\/\b\f\n\r\t.\uFFFF", f.tensors().get(0).name());
        }
        try (SafetensorsFile f = SafetensorsFile.open(named("raw \u00e9 \uD83D\uDE00 \u007f"))) {
            assertEquals("raw \u00e9 \uD83D\uDE00 \u007f", f.tensors().get(0).name());
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "a\\x|3|invalid escape \\x in a string",
        "a\\'|3|invalid escape \\' in a string",
        "a\\u12|3|invalid \\u escape: expected four hex digits, found '\"'",
        "a\\u12g4|3|invalid \\u escape: expected four hex digits, found 'g'",
        "a\\U0041|3|invalid escape \\U",
    })
    void invalidEscapesAreRefused(String jsonName, int position, String rule) throws IOException {
        refusedAt(named(jsonName), position, rule);
    }

    @Test
    void controlCharactersMustBeEscaped() throws IOException {
        refusedAt(named("a\tb"), 3, "control character U+0009 in a string");
        refusedAt(named("a\u0000b"), 3, "control character U+0000 in a string");
        refusedAt(file("{\"__metadata__\":{\"k\":\"line\nbreak\"}}", 0), 26, "control character U+000A");
    }

    /** serde_json's recursion limit: remaining_depth starts at 128, one per array or object, error at 0: 127 nest, 128 do not. */
    @Test
    void nestingPast127IsRefusedAnywhere() throws IOException {
        String header = nested(128);
        refusedAt(file(header, 0), header.indexOf("\"x\":") + 4 + 125, "arrays and objects nest deeper than 127 (serde_json's recursion limit of 128)");
        // In metadata as well: the top object, __metadata__, then 126 arrays would be 128.
        SafetensorsRulesTest.rejects(file("{\"__metadata__\":" + "[".repeat(127) + "]".repeat(127) + "}", 0),
                "header at byte ", "nest deeper than 127", "[InvalidHeaderDeserialization]");
    }

    /** depth containers in all: the top object, the tensor entry, then depth - 2 arrays under an ignored key. */
    static String nested(int depth) {
        int arrays = depth - 2;
        return "{\"t\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0],\"x\":" + "[".repeat(arrays) + "]".repeat(arrays) + "}}";
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 64, 127})
    void nestingUpTo127IsAccepted(int depth) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file(depth == 1 ? "{}" : depth == 2 ? nested2() : nested(depth), 0))) {
            assertEquals(depth == 1 ? 0 : 1, f.tensors().size());
        }
    }

    static String nested2() {
        return "{\"t\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0],\"x\":1}}";
    }

    /** Numbers by RFC 8259's grammar; in a value the reference ignores, a number must still be a number that fits a double. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "01|a number with a leading zero",
        "-|expected a digit in a number, found '}'",
        "+1|expected a value, found '+'",
        ".5|expected a value, found '.'",
        "1.|expected a digit after the decimal point",
        "1e|expected a digit in the exponent",
        "1e+|expected a digit in the exponent",
        "1e400|number out of range: 1e400",
        "-1e400|number out of range: -1e400",
        "NaN|expected a value, found 'N'",
        "Infinity|expected a value, found 'I'",
        "TRUE|expected a value, found 'T'",
        "tru|expected the literal 'true', found '}'",
        "nul|expected the literal 'null'",
        "0x10|expected ',' or '}' after an object member, found 'x'",
    })
    void numbersAndLiteralsFollowTheGrammar(String value, String rule) throws IOException {
        String header = "{\"t\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0],\"x\":" + value + "}}";
        SafetensorsRulesTest.rejects(file(header, 0), "header at byte ", rule, "[InvalidHeaderDeserialization]");
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "-0", "-1.5e-3", "1E+2", "1e-400", "123456789012345678901234567890", "true", "false", "null",
            "\"\"", "[]", "{}", "[1,[2,{\"a\":null}]]", "1.7976931348623157e308", "0e999999999999"})
    void valuesTheReferenceIgnoresMayBeAnyJson(String value) throws IOException {
        String header = "{\"t\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0],\"x\":" + value + "}}";
        try (SafetensorsFile f = SafetensorsFile.open(file(header, 0))) {
            assertEquals(1, f.tensors().size());
        }
    }

    /** Whitespace is space, tab, CR, LF, before and after (the reference writer pads with spaces); nothing else. */
    @Test
    void whitespaceAroundTheHeader() throws IOException {
        for (String header : new String[] {" \t\r\n{ \"t\" :\n" + TENSOR + " }", "{\"t\":" + TENSOR + "}" + " ".repeat(7), "{\"t\":" + TENSOR + "}\n\t\r "}) {
            try (SafetensorsFile f = SafetensorsFile.open(file(header, 1))) {
                assertEquals(1, f.tensors().size());
            }
        }
        String json = "{\"t\":" + TENSOR + "}";
        refusedAt(file(json + "\u0000\u0000", 1), json.length(), "text after the header's JSON value");
        refusedAt(file(json + "\u000b", 1), json.length(), "text after the header's JSON value");
        refusedAt(file(json + "\u00a0", 1), json.length(), "text after the header's JSON value");
        refusedAt(file("", 0), 0, "the JSON ends where a value should be");
        refusedAt(file("   ", 0), 3, "the JSON ends where a value should be");
        refusedAt(file("{\"t\":" + TENSOR + ",}", 1), json.length(), "trailing comma before '}'");
        refusedAt(file("{\"t\":{\"dtype\":\"U8\",\"shape\":[1,],\"data_offsets\":[0,1]}}", 1), 30, "trailing comma before ']'");
        refusedAt(file("{\"t\" " + TENSOR + "}", 1), 5, "expected ':' after the key \"t\", found '{'");
        refusedAt(file("{/*c*/}", 0), 1, "expected a string key, found '/'");
        refusedAt(file("{'t':1}", 0), 1, "expected a string key, found '''");
        refusedAt(file("{\"t", 0), 1, "a string that never ends");
    }
}
