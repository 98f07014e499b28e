package dev.offload.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The reference writer's samples, test resources in tests/resources/safetensors (public domain; their
 * README says where they come from): each holds one tensor named after the file, shape [6], values
 * -3..2 cast to its dtype, metadata {"test": "a"}. Read from the test classpath, so a fresh clone
 * runs them.
 */
class SafetensorsFixturesTest {
    static Path fixture(String name) {
        URL url = SafetensorsFixturesTest.class.getResource("/safetensors/" + name);
        assertNotNull(url, "test resource safetensors/" + name + " is missing (tests/resources/safetensors)");
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    static final Map<String, DType> DTYPES = Map.of("B", DType.U8, "H", DType.U16, "I", DType.U32, "b", DType.I8, "h", DType.I16,
            "i", DType.I32, "e", DType.F16, "f", DType.F32, "d", DType.F64);

    /** The six values as the tensor's dtype would read them, widened to double (unsigned wrap). */
    static double[] read(DType dtype, MemorySegment data) {
        double[] out = new double[6];
        for (int k = 0; k < 6; k++) {
            var le = ByteOrder.LITTLE_ENDIAN;
            out[k] = switch (dtype) {
                case U8 -> data.get(ValueLayout.JAVA_BYTE, k) & 0xff;
                case I8 -> data.get(ValueLayout.JAVA_BYTE, k);
                case U16 -> data.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(le), 2L * k) & 0xffff;
                case I16 -> data.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(le), 2L * k);
                case U32 -> data.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(le), 4L * k) & 0xffffffffL;
                case I32 -> data.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(le), 4L * k);
                case F16 -> Float.float16ToFloat(data.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(le), 2L * k));
                case F32 -> data.get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(le), 4L * k);
                case F64 -> data.get(ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(le), 8L * k);
                default -> throw new AssertionError(dtype);
            };
        }
        return out;
    }

    static double[] expected(DType dtype) {
        double[] v = {-3, -2, -1, 0, 1, 2};
        long modulus = switch (dtype) {
            case U8 -> 1L << 8;
            case U16 -> 1L << 16;
            case U32 -> 1L << 32;
            default -> 0;
        };
        if (modulus != 0) for (int i = 0; i < 3; i++) v[i] += modulus;
        return v;
    }

    @ParameterizedTest
    @ValueSource(strings = {"B", "H", "I", "b", "h", "i", "e", "f", "d"})
    void eachSampleReadsWithItsDtypeShapeValuesAndMetadata(String name) {
        try (SafetensorsFile file = SafetensorsFile.open(fixture(name + ".safetensors"))) {
            assertEquals(1, file.tensors().size());
            TensorInfo t = file.tensor(name);
            assertEquals(DTYPES.get(name), t.dtype());
            assertArrayEquals(new long[] {6}, t.shape());
            assertEquals(6L * t.dtype().bitSize() / 8, t.byteSize());
            assertArrayEquals(expected(t.dtype()), read(t.dtype(), file.data(t)));
            assertEquals(Map.of("test", "a"), file.metadata());
        }
    }

    @Test
    void theOverallSampleHoldsAllNineInTheWritersOrder() {
        try (Checkpoint file = Checkpoint.open(fixture("overall.safetensors"))) {
            List<String> names = file.tensors().stream().map(TensorInfo::name).toList();
            assertEquals(9, names.size());
            assertEquals(DTYPES.keySet(), java.util.Set.copyOf(names));
            for (TensorInfo t : file.tensors()) {
                assertEquals(DTYPES.get(t.name()), t.dtype());
                assertArrayEquals(expected(t.dtype()), read(t.dtype(), file.data(t)));
            }
            assertEquals(Map.of("test", "a"), file.metadata());
            // The reader lists tensors in data order, which is this writer's order (by name here).
            assertEquals(List.of("B", "H", "I", "b", "d", "e", "f", "h", "i"), names);
            assertEquals(48, file.tensor("d").begin());
        }
    }
}
