package dev.offload.checkpoint;

import dev.offload.OffloadException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
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

/**
 * Parses and validates a safetensors header. The oracle is the reference implementation
 * (huggingface/safetensors, {@code safetensors/src/tensor.rs}: {@code SafeTensors::read_metadata},
 * {@code HashMetadata}, {@code TensorInfo}, {@code Metadata::validate}; read at commit 24b0b28): what
 * it refuses we refuse, what it accepts we accept, and every refusal names the file, the tensor or
 * byte position (counted from the header's first byte, file offset 8), and the reference's rule as
 * its {@code SafeTensorError} variant in brackets.
 *
 * <ol>
 *   <li>{@code [InvalidHeader]}: the header is not valid UTF-8.</li>
 *   <li>{@code [InvalidHeaderDeserialization]}: the header is not JSON by serde_json's rules
 *       ({@link HeaderJson}: byte-order mark, escapes, lone surrogates, nesting past 127, numbers),
 *       or not the reference's shape: a top-level object whose {@code __metadata__} is null or an
 *       object of strings and whose other entries are tensors. A tensor is an object with
 *       {@code dtype} (one of {@link DType}), {@code shape} (unsigned 64-bit integers) and
 *       {@code data_offsets} (exactly two), unknown keys ignored, a key twice refused; serde's
 *       derive also takes the sequence form {@code [dtype, shape, data_offsets]} and a dtype written
 *       as {@code {"F32": null}}, so we do. Empty tensor names and headers without tensors are
 *       valid.</li>
 *   <li>Sorted by {@code (begin, end)}, each tensor in turn: {@code [InvalidOffset]} unless it begins
 *       where the previous one ends (0 for the first) and does not end before it begins;
 *       {@code [ValidationOverflow]} if the element count (dimensions multiplied left to right, so a
 *       zero before a huge dimension gives 0 and a zero after an overflow does not help) or the bit
 *       count overflows 64 bits; {@code [MisalignedSlice]} if the bit count is not a multiple of 8;
 *       {@code [TensorInvalidInfo]} if its byte size differs from {@code end - begin}.</li>
 *   <li>{@code [MetadataIncompleteBuffer]}: the last tensor must end exactly where the file ends.</li>
 * </ol>
 * The one place we are stricter: a name twice in the same object (two tensors of one name, or a
 * {@code __metadata__} key twice) is refused; the format's text says "Duplicate keys are disallowed",
 * but serde_json would keep the last. The header length rules ({@code HeaderTooSmall},
 * {@code HeaderTooLarge}, {@code InvalidHeaderLength}) are {@link SafetensorsFile}'s.
 */
final class SafetensorsHeader {
    static final long MAX_HEADER_BYTES = 100_000_000L;

    final List<TensorInfo> tensors;  // by data offset
    final Map<String, String> metadata;

    private SafetensorsHeader(List<TensorInfo> tensors, Map<String, String> metadata) {
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** A tensor as the header states it; offsets are unsigned 64-bit, as the reference's usize. */
    private record Entry(String name, DType dtype, long[] shape, long begin, long end) {}

    /** headerBytes: the JSON; dataBytes: what the file holds after the header. */
    static SafetensorsHeader parse(Path file, byte[] headerBytes, long dataBytes) {
        checkUtf8(file, headerBytes);
        Object root;
        try {
            root = HeaderJson.parse(headerBytes);
        } catch (HeaderJson.Invalid e) {
            throw bad(file, "header at byte " + e.position, e.getMessage() + " [InvalidHeaderDeserialization]");
        }
        if (!(root instanceof HeaderJson.Obj top)) {
            throw deserialization(file, "header", "the header is not a JSON object but " + kind(root));
        }
        List<Entry> entries = new ArrayList<>();
        Map<String, String> metadata = Collections.emptyMap();
        Set<String> seen = new HashSet<>();
        for (HeaderJson.Member m : top.members()) {
            if (!seen.add(m.key())) {
                String thing = m.key().equals("__metadata__") ? "header" : "tensor '" + m.key() + "'";
                throw bad(file, thing, "duplicate entry '" + m.key() + "' (the format disallows duplicate keys; the reference would keep the last)");
            }
            if (m.key().equals("__metadata__")) {
                metadata = readMetadata(file, m.value());
            } else {
                entries.add(readTensor(file, m.key(), m.value()));
            }
        }
        return new SafetensorsHeader(validate(file, entries, dataBytes), metadata);
    }

    private static void checkUtf8(Path file, byte[] bytes) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        try {
            decoder.decode(in);
        } catch (CharacterCodingException e) {
            throw bad(file, "header", "the header is not valid UTF-8 (near byte " + in.position() + ") [InvalidHeader]");
        }
    }

    private static Map<String, String> readMetadata(Path file, Object value) {
        if (value == HeaderJson.NULL) return Collections.emptyMap();
        if (!(value instanceof HeaderJson.Obj obj)) {
            throw deserialization(file, "__metadata__", "must be an object of strings, not " + kind(value));
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (HeaderJson.Member m : obj.members()) {
            if (!(m.value() instanceof String s)) {
                throw deserialization(file, "__metadata__", "value of '" + m.key() + "' is " + kind(m.value()) + ", not a string");
            }
            if (out.put(m.key(), s) != null) {
                throw bad(file, "__metadata__", "duplicate key '" + m.key() + "' (the format disallows duplicate keys; the reference would keep the last)");
            }
        }
        return Collections.unmodifiableMap(out);
    }

    private static Entry readTensor(Path file, String name, Object value) {
        String what = "tensor '" + name + "'";
        Object dtype = null;
        Object shape = null;
        Object offsets = null;
        if (value instanceof HeaderJson.Arr seq) {
            // serde's derive reads a struct from a sequence of its fields in order.
            if (seq.items().size() != 3) {
                throw deserialization(file, what, "entry is an array of " + seq.items().size()
                        + " values; as an array it must be [dtype, shape, data_offsets]");
            }
            dtype = seq.items().get(0);
            shape = seq.items().get(1);
            offsets = seq.items().get(2);
        } else if (value instanceof HeaderJson.Obj obj) {
            Set<String> keys = new HashSet<>();
            for (HeaderJson.Member m : obj.members()) {
                switch (m.key()) {
                    case "dtype", "shape", "data_offsets" -> {
                        if (!keys.add(m.key())) throw deserialization(file, what, "duplicate key '" + m.key() + "'");
                    }
                    default -> { }  // unknown keys are ignored, as the reference does
                }
                switch (m.key()) {
                    case "dtype" -> dtype = m.value();
                    case "shape" -> shape = m.value();
                    case "data_offsets" -> offsets = m.value();
                    default -> { }
                }
            }
            if (dtype == null) throw deserialization(file, what, "missing dtype");
            if (shape == null) throw deserialization(file, what, "missing shape");
            if (offsets == null) throw deserialization(file, what, "missing data_offsets");
        } else {
            throw deserialization(file, what, "entry is not a JSON object but " + kind(value));
        }
        DType type = readDType(file, what, dtype);
        long[] dims = readIntegers(file, what, "shape", shape);
        long[] range = readIntegers(file, what, "data_offsets", offsets);
        if (range.length != 2) {
            throw deserialization(file, what, "data_offsets must hold exactly two offsets, got " + range.length);
        }
        return new Entry(name, type, dims, range[0], range[1]);
    }

    private static DType readDType(Path file, String what, Object value) {
        Object name = value;
        // serde reads a unit enum variant from a string, or from a one-key object whose value is null.
        if (value instanceof HeaderJson.Obj obj && obj.members().size() == 1 && obj.members().get(0).value() == HeaderJson.NULL) {
            name = obj.members().get(0).key();
        }
        if (!(name instanceof String s)) throw deserialization(file, what, "dtype must be a string, not " + kind(value));
        DType d = DType.parse(s);
        if (d == null) throw deserialization(file, what, "unknown dtype '" + s + "'");
        return d;
    }

    private static long[] readIntegers(Path file, String what, String field, Object value) {
        if (!(value instanceof HeaderJson.Arr arr)) {
            throw deserialization(file, what, field + " must be an array of non-negative integers, not " + kind(value));
        }
        long[] out = new long[arr.items().size()];
        for (int i = 0; i < out.length; i++) {
            Object item = arr.items().get(i);
            if (!(item instanceof HeaderJson.Num n)) {
                throw deserialization(file, what, field + " must hold non-negative integers, got " + kind(item));
            }
            Long v = n.unsignedValue();
            if (v == null) {
                throw deserialization(file, what, field + " must hold non-negative integers below 2^64, got " + n.literal());
            }
            out[i] = v;
        }
        return out;
    }

    /** The reference's Metadata::validate, then its whole-buffer check, in its order. */
    private static List<TensorInfo> validate(Path file, List<Entry> entries, long dataBytes) {
        entries.sort(Comparator.comparing(Entry::begin, Long::compareUnsigned).thenComparing(Entry::end, Long::compareUnsigned));
        long start = 0;
        String previous = null;
        List<TensorInfo> out = new ArrayList<>(entries.size());
        for (Entry t : entries) {
            String what = "tensor '" + t.name() + "'";
            if (Long.compareUnsigned(t.end(), t.begin()) < 0) {
                throw bad(file, what, "data_offsets [" + u(t.begin()) + ", " + u(t.end()) + "] end before they begin [InvalidOffset]");
            }
            if (t.begin() != start) {
                String where = previous == null ? "the data section starts at 0" : "the previous tensor '" + previous + "' ends at " + u(start);
                throw bad(file, what, "starts at byte " + u(t.begin()) + " but " + where
                        + " (tensors must be contiguous without gap or overlap) [InvalidOffset]");
            }
            start = t.end();
            previous = t.name();
            long bytes;
            try {
                bytes = t.dtype().byteSize(t.shape());
            } catch (ArithmeticException e) {
                throw bad(file, what, "shape " + shape(t.shape()) + " of " + t.dtype() + " overflows the element count or its bits [ValidationOverflow]");
            } catch (IllegalArgumentException e) {
                throw bad(file, what, "shape " + shape(t.shape()) + " of " + t.dtype() + ": " + e.getMessage() + " [MisalignedSlice]");
            }
            if (bytes != t.end() - t.begin()) {
                throw bad(file, what, "data_offsets hold " + u(t.end() - t.begin()) + " bytes but shape " + shape(t.shape())
                        + " of " + t.dtype() + " needs " + bytes + " [TensorInvalidInfo]");
            }
        }
        if (start != dataBytes) {
            throw bad(file, "data", "the tensors end at byte " + u(start) + " of the data section but the file holds "
                    + dataBytes + " bytes after the header [MetadataIncompleteBuffer]");
        }
        // Every offset is now at most dataBytes, so it fits a long.
        for (Entry t : entries) out.add(new TensorInfo(t.name(), t.dtype(), t.shape(), file, t.begin(), t.end()));
        return List.copyOf(out);
    }

    private static String kind(Object v) {
        if (v instanceof HeaderJson.Obj) return "an object";
        if (v instanceof HeaderJson.Arr) return "an array";
        if (v instanceof String) return "a string";
        if (v instanceof HeaderJson.Num) return "a number";
        if (v instanceof Boolean) return "a boolean";
        return "null";
    }

    private static String u(long v) {
        return Long.toUnsignedString(v);
    }

    static String shape(long[] shape) {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < shape.length; i++) s.append(i == 0 ? "" : ", ").append(u(shape[i]));
        return s.append(']').toString();
    }

    private static OffloadException deserialization(Path file, String what, String rule) {
        return bad(file, what, rule + " [InvalidHeaderDeserialization]");
    }

    static OffloadException bad(Path file, String what, String rule) {
        return OffloadException.invalid(file + ": " + what + ": " + rule);
    }
}
