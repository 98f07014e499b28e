package dev.offload.checkpoint;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.offload.OffloadException;
import dev.offload.files.AtomicFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Writes safetensors files the way the reference writer lays them out: tensors in the given order,
 * contiguous from offset 0, the header padded with spaces to a multiple of 8 bytes. The data is
 * written through a mapping, so files of any size are filled in place by the caller's function; the
 * file appears at its name only when it is whole ({@link AtomicFile}: a temporary, its space reserved
 * before the mapping is written, renamed into place), so a full disk leaves nothing there.
 * Sizes are counted in bits ({@link DType#byteSize(long[])}): a sub-byte tensor whose bits do not
 * fill whole bytes is refused, as the reference writer refuses it.
 */
public final class SafetensorsWriter {
    /** A tensor to write: its bytes come from {@link Fill}. */
    public record Spec(String name, DType dtype, long[] shape) {
        /** Bytes of the tensor, counted in bits: sub-byte dtypes must fill whole bytes, as the reader requires. */
        public long byteSize() {
            try {
                return dtype.byteSize(shape);
            } catch (ArithmeticException e) {
                throw OffloadException.invalid("tensor '" + name + "': shape " + SafetensorsHeader.shape(shape) + " of " + dtype
                        + " overflows the element count or its bits [ValidationOverflow]");
            } catch (IllegalArgumentException e) {
                throw OffloadException.invalid("tensor '" + name + "': " + e.getMessage() + " [MisalignedSlice]");
            }
        }
    }

    /** Fills one tensor's bytes. */
    @FunctionalInterface
    public interface Fill {
        void fill(Spec tensor, MemorySegment target);
    }

    private SafetensorsWriter() {}

    public static void write(Path file, List<Spec> tensors, Map<String, String> metadata, Fill fill) {
        JsonObject header = new JsonObject();
        if (metadata != null && !metadata.isEmpty()) {
            JsonObject meta = new JsonObject();
            metadata.forEach(meta::addProperty);
            header.add("__metadata__", meta);
        }
        long offset = 0;
        for (Spec t : tensors) {
            JsonObject entry = new JsonObject();
            entry.addProperty("dtype", t.dtype().name());
            JsonArray shape = new JsonArray();
            for (long d : t.shape()) shape.add(d);
            entry.add("shape", shape);
            JsonArray offsets = new JsonArray();
            offsets.add(offset);
            offsets.add(offset + t.byteSize());
            entry.add("data_offsets", offsets);
            if (header.has(t.name())) throw OffloadException.invalid(file + ": duplicate tensor name '" + t.name() + "'");
            header.add(t.name(), entry);
            offset += t.byteSize();
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        long size = 8L + padded + offset;
        AtomicFile.write(file, "the checkpoint", target -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = target.map(size, arena);
                out.set(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, padded);
                MemorySegment.copy(json, 0, out, ValueLayout.JAVA_BYTE, 8, json.length);
                out.asSlice(8 + json.length, padded - json.length).fill((byte) ' ');
                long at = 8L + padded;
                for (Spec t : tensors) {
                    fill.fill(t, out.asSlice(at, t.byteSize()));
                    at += t.byteSize();
                }
                out.force();
            }
        });
    }
}
