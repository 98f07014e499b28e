package dev.offload.checkpoint;

import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import dev.offload.OffloadException;
import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Parses and validates a safetensors header by the reference implementation's rules, and nothing
 * looser: strict UTF-8 and strict JSON (one object, nothing after it but whitespace); each entry is
 * {@code __metadata__} (an object of strings) or a tensor with a known dtype, a shape of
 * non-negative integers and exactly two non-negative integer data offsets ({@code 1.0} is not an
 * integer); no duplicate names; element counts checked for overflow; each tensor's byte size equals
 * shape x dtype; sorted by offset, tensors are contiguous from 0 without gap or overlap; and the data
 * ends exactly where the file ends. Unknown keys inside a tensor entry are ignored, as the reference
 * does. Every rejection names the file, the tensor and the rule.
 */
final class SafetensorsHeader {
    static final long MAX_HEADER_BYTES = 100_000_000L;
    private static final Pattern NON_NEGATIVE_INTEGER = Pattern.compile("0|[1-9][0-9]*");

    final List<TensorInfo> tensors;  // by data offset
    final Map<String, String> metadata;

    private SafetensorsHeader(List<TensorInfo> tensors, Map<String, String> metadata) {
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** headerBytes: the JSON; dataBytes: what the file holds after the header. */
    static SafetensorsHeader parse(Path file, byte[] headerBytes, long dataBytes) {
        String json;
        try {
            json = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(headerBytes))
                    .toString();
        } catch (CharacterCodingException e) {
            throw bad(file, "header", "the header is not valid UTF-8");
        }
        List<TensorInfo> tensors = new ArrayList<>();
        Map<String, String> metadata = Collections.emptyMap();
        Set<String> seen = new HashSet<>();
        try (JsonReader in = new JsonReader(new StringReader(json))) {
            in.setStrictness(Strictness.STRICT);
            if (in.peek() != JsonToken.BEGIN_OBJECT) throw bad(file, "header", "the header is not a JSON object");
            in.beginObject();
            while (in.hasNext()) {
                String name = in.nextName();
                if (!seen.add(name)) throw bad(file, "header", "duplicate entry '" + name + "'");
                if (name.equals("__metadata__")) {
                    metadata = readMetadata(file, in);
                } else {
                    tensors.add(readTensor(file, name, in));
                }
            }
            in.endObject();
            if (in.peek() != JsonToken.END_DOCUMENT) throw bad(file, "header", "text after the header's JSON object");
        } catch (IOException | IllegalStateException e) {
            throw bad(file, "header", "not a valid JSON object: " + jsonProblem(e));
        }
        checkLayout(file, tensors, dataBytes);
        return new SafetensorsHeader(List.copyOf(tensors), metadata);
    }

    private static Map<String, String> readMetadata(Path file, JsonReader in) throws IOException {
        if (in.peek() == JsonToken.NULL) {
            in.nextNull();
            return Collections.emptyMap();
        }
        if (in.peek() != JsonToken.BEGIN_OBJECT) throw bad(file, "__metadata__", "must be an object of strings");
        Map<String, String> out = new LinkedHashMap<>();
        in.beginObject();
        while (in.hasNext()) {
            String key = in.nextName();
            if (in.peek() != JsonToken.STRING) {
                throw bad(file, "__metadata__", "value of '" + key + "' is a " + in.peek().name().toLowerCase() + ", not a string");
            }
            if (out.put(key, in.nextString()) != null) throw bad(file, "__metadata__", "duplicate key '" + key + "'");
        }
        in.endObject();
        return Collections.unmodifiableMap(out);
    }

    private static TensorInfo readTensor(Path file, String name, JsonReader in) throws IOException {
        String what = "tensor '" + name + "'";
        if (in.peek() != JsonToken.BEGIN_OBJECT) throw bad(file, what, "entry is not a JSON object");
        DType dtype = null;
        long[] shape = null;
        long[] offsets = null;
        Set<String> keys = new HashSet<>();
        in.beginObject();
        while (in.hasNext()) {
            String key = in.nextName();
            if (!keys.add(key)) throw bad(file, what, "duplicate key '" + key + "'");
            switch (key) {
                case "dtype" -> {
                    if (in.peek() != JsonToken.STRING) throw bad(file, what, "dtype must be a string");
                    String d = in.nextString();
                    dtype = DType.parse(d);
                    if (dtype == null) throw bad(file, what, "unknown dtype '" + d + "'");
                }
                case "shape" -> shape = readIntegers(file, what, "shape", in);
                case "data_offsets" -> {
                    offsets = readIntegers(file, what, "data_offsets", in);
                    if (offsets.length != 2) {
                        throw bad(file, what, "data_offsets must hold exactly two offsets, got " + offsets.length);
                    }
                }
                default -> in.skipValue();
            }
        }
        in.endObject();
        if (dtype == null) throw bad(file, what, "missing dtype");
        if (shape == null) throw bad(file, what, "missing shape");
        if (offsets == null) throw bad(file, what, "missing data_offsets");
        if (offsets[1] < offsets[0]) {
            throw bad(file, what, "data_offsets [" + offsets[0] + ", " + offsets[1] + "] end before they begin");
        }
        long elements = 1;
        long bytes;
        try {
            for (long d : shape) elements = Math.multiplyExact(elements, d);
            bytes = Math.multiplyExact(elements, dtype.byteSize());
        } catch (ArithmeticException e) {
            throw bad(file, what, "shape " + java.util.Arrays.toString(shape) + " overflows the element count");
        }
        if (bytes != offsets[1] - offsets[0]) {
            throw bad(file, what, "data_offsets hold " + (offsets[1] - offsets[0]) + " bytes but shape "
                    + java.util.Arrays.toString(shape) + " of " + dtype + " needs " + bytes);
        }
        return new TensorInfo(name, dtype, shape, file, offsets[0], offsets[1]);
    }

    private static long[] readIntegers(Path file, String what, String field, JsonReader in) throws IOException {
        if (in.peek() != JsonToken.BEGIN_ARRAY) throw bad(file, what, field + " must be an array of non-negative integers");
        List<Long> values = new ArrayList<>();
        in.beginArray();
        while (in.hasNext()) {
            if (in.peek() != JsonToken.NUMBER) {
                throw bad(file, what, field + " must hold non-negative integers, got a " + in.peek().name().toLowerCase());
            }
            String literal = in.nextString();
            if (!NON_NEGATIVE_INTEGER.matcher(literal).matches()) {
                throw bad(file, what, field + " must hold non-negative integers, got " + literal);
            }
            try {
                values.add(Long.parseLong(literal));
            } catch (NumberFormatException e) {
                throw bad(file, what, field + " value " + literal + " is too large");
            }
        }
        in.endArray();
        long[] out = new long[values.size()];
        for (int i = 0; i < out.length; i++) out[i] = values.get(i);
        return out;
    }

    private static void checkLayout(Path file, List<TensorInfo> tensors, long dataBytes) {
        tensors.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long expected = 0;
        String previous = null;
        for (TensorInfo t : tensors) {
            if (t.begin() != expected) {
                String where = previous == null ? "the data section starts at 0" : "the previous tensor '" + previous + "' ends at " + expected;
                throw bad(file, "tensor '" + t.name() + "'", "starts at byte " + t.begin() + " but " + where
                        + " (tensors must be contiguous without gap or overlap)");
            }
            expected = t.end();
            previous = t.name();
        }
        if (expected != dataBytes) {
            throw bad(file, "data", "the tensors end at byte " + expected + " of the data section but the file holds "
                    + dataBytes + " bytes after the header");
        }
    }

    /** Gson's message without its advice to parse leniently: "malformed JSON at line 1 column 5". */
    private static String jsonProblem(Exception e) {
        String m = String.valueOf(e.getMessage());
        var at = java.util.regex.Pattern.compile("at line \\d+ column \\d+").matcher(m);
        if (m.contains("setStrictness") && at.find()) return "malformed JSON " + at.group();
        int newline = m.indexOf('\n');
        return newline < 0 ? m : m.substring(0, newline);
    }

    static OffloadException bad(Path file, String what, String rule) {
        return OffloadException.invalid(file + ": " + what + ": " + rule);
    }
}
