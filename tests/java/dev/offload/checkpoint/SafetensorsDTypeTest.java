package dev.offload.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.Group;
import dev.offload.DeviceTensor;
import dev.offload.OffloadConfig;
import dev.offload.OffloadException;
import dev.offload.Offloader;
import dev.offload.Step;
import dev.offload.Strategy;
import dev.offload.graph.BlockGraph;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every dtype of the reference format (its Dtype enum in safetensors/src/tensor.rs), sizes in bits:
 * each round-trips through the writer and the reader, and all of them stream as bytes.
 */
class SafetensorsDTypeTest {
    @TempDir
    Path dir;

    @Test
    void theListIsTheReferencesInItsOrderWithItsBitSizes() {
        assertEquals(List.of("BOOL:8", "F4:4", "F6_E2M3:6", "F6_E3M2:6", "U8:8", "I8:8", "F8_E5M2:8", "F8_E4M3:8", "F8_E8M0:8",
                "F8_E4M3FNUZ:8", "F8_E5M2FNUZ:8", "I16:16", "U16:16", "F16:16", "BF16:16", "I32:32", "U32:32", "F32:32",
                "C64:64", "F64:64", "I64:64", "U64:64"),
                Arrays.stream(DType.values()).map(d -> d + ":" + d.bitSize()).toList());
    }

    static byte pattern(String name, long i) {
        return (byte) (i * 31 + name.hashCode());
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void eachDtypeRoundTrips(DType dtype) {
        Path p = dir.resolve(dtype + ".safetensors");
        long[] shape = {3, 8};  // 24 elements: whole bytes for every bit size (4 x 24 = 96, 6 x 24 = 144)
        long bytes = 24L * dtype.bitSize() / 8;
        SafetensorsWriter.write(p, List.of(new SafetensorsWriter.Spec("w", dtype, shape), new SafetensorsWriter.Spec("z", dtype, new long[] {0})),
                Map.of(), (spec, target) -> {
                    for (long i = 0; i < target.byteSize(); i++) target.set(ValueLayout.JAVA_BYTE, i, pattern(spec.name(), i));
                });
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            TensorInfo t = f.tensor("w");
            assertEquals(dtype, t.dtype());
            assertArrayEquals(shape, t.shape());
            assertEquals(24, t.elementCount());
            assertEquals(bytes, t.byteSize());
            assertEquals(bytes, f.totalBytes());
            byte[] expected = new byte[(int) bytes];
            for (int i = 0; i < expected.length; i++) expected[i] = pattern("w", i);
            assertArrayEquals(expected, f.data(t).toArray(ValueLayout.JAVA_BYTE));
            assertEquals(0, f.tensor("z").byteSize());
        }
    }

    @Test
    void subByteSizesMustFillWholeBytes() {
        assertEquals(1, DType.F4.byteSize(new long[] {2}));
        assertEquals(3, DType.F6_E2M3.byteSize(new long[] {2, 2}));
        assertThrows(IllegalArgumentException.class, () -> DType.F4.byteSize(new long[] {3}));
        assertThrows(IllegalArgumentException.class, () -> DType.F6_E3M2.byteSize(new long[] {5}));
        assertThrows(IllegalStateException.class, DType.F4::byteSize);
        assertEquals(8, DType.C64.byteSize());
        OffloadException e = assertThrows(OffloadException.class, () -> SafetensorsWriter.write(dir.resolve("odd.safetensors"),
                List.of(new SafetensorsWriter.Spec("odd", DType.F4, new long[] {1, 3})), Map.of(), (s, t) -> { }));
        assertTrue(e.getMessage().contains("tensor 'odd'") && e.getMessage().contains("12 bits") && e.getMessage().contains("[MisalignedSlice]"),
                e.getMessage());
    }

    /** A block per dtype, streamed on the host backend under a budget below the model: each tensor arrives byte for byte. */
    @Test
    void everyDtypeStreams() {
        Path p = dir.resolve("all.safetensors");
        List<SafetensorsWriter.Spec> specs = new ArrayList<>();
        DType[] all = DType.values();
        for (int i = 0; i < all.length; i++) specs.add(new SafetensorsWriter.Spec("blocks." + i + ".w", all[i], new long[] {64, 16}));
        SafetensorsWriter.write(p, specs, Map.of(), (spec, target) -> {
            for (long i = 0; i < target.byteSize(); i++) target.set(ValueLayout.JAVA_BYTE, i, pattern(spec.name(), i));
        });
        try (Checkpoint ckpt = Checkpoint.open(p);
             Offloader off = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD)
                     .deviceBudget(ckpt.totalBytes() / 2).build())) {
            assertEquals(all.length, BlockGraph.discover(ckpt).blockLists().get(0).blocks().size());
            off.register("m", ckpt);
            int seen = 0;
            try (Step s = off.step("m");
                 dev.offload.runtime.PinnedBuffer back = off.runtime().allocatePinned(ckpt.totalBytes())) {
                for (Group g : s) {
                    for (DeviceTensor t : g.tensors()) {
                        TensorInfo info = ckpt.tensor(t.name());
                        assertEquals(info.dtype(), t.dtype());
                        assertEquals(info.byteSize(), t.byteSize());
                        // Device memory is not host memory: copy it back in stream order (pinned: no wait), compare once done.
                        MemorySegment onHost = back.segment().asSlice(0, t.byteSize());
                        s.computeStream().copyToHost(t.devicePointer(), onHost, t.byteSize());
                        s.computeStream().synchronize();
                        assertEquals(-1, onHost.mismatch(ckpt.data(info)), t.name() + " " + t.dtype());
                        seen++;
                    }
                }
            }
            assertEquals(all.length, seen);
        }
    }
}
