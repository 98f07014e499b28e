package dev.offload.checkpoint;

import dev.offload.OffloadException;
import dev.offload.Status;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One safetensors file: 8 bytes of little-endian header length, the JSON header
 * ({@link SafetensorsHeader} validates it), then the data section. The file is mapped read-only as
 * one {@link MemorySegment} with long offsets (files over 2 GiB are normal) in this object's own
 * arena; closing the file unmaps it, and segments handed out become unusable. While open, the
 * mapping is registered with {@link FileBacking}, so packing reads tensors with positional reads
 * (a file truncated meanwhile is an IO error there, not a SIGBUS).
 *
 * <p>The length rules are the reference's ({@code SafeTensors::read_metadata}): a file shorter than
 * 8 bytes is {@code HeaderTooSmall}; a length over 100,000,000 bytes (or past 2^63) is
 * {@code HeaderTooLarge}; a header running past the end of the file is {@code InvalidHeaderLength}.
 * A file with no tensors (header {@code {}} or only {@code __metadata__}) is valid: it opens with no
 * tensors and zero bytes.
 */
public final class SafetensorsFile implements Checkpoint {
    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final List<TensorInfo> tensors;
    private final Map<String, TensorInfo> byName = new HashMap<>();
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, SafetensorsHeader header) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.tensors = header.tensors;
        this.metadata = header.metadata;
        for (TensorInfo t : tensors) byName.put(t.name(), t);
    }

    public static SafetensorsFile open(Path path) {
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < 8) {
                throw SafetensorsHeader.bad(path, "header", "the file is " + size + " bytes, shorter than the 8-byte header length [HeaderTooSmall]");
            }
            ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, prefix, 0);
            long headerLength = prefix.getLong(0);
            if (headerLength < 0 || headerLength > SafetensorsHeader.MAX_HEADER_BYTES) {
                throw SafetensorsHeader.bad(path, "header", "header length " + Long.toUnsignedString(headerLength)
                        + " exceeds the limit of " + SafetensorsHeader.MAX_HEADER_BYTES + " bytes [HeaderTooLarge]");
            }
            if (headerLength > size - 8) {
                throw SafetensorsHeader.bad(path, "header", "header length " + headerLength + " runs past the end of the "
                        + size + "-byte file [InvalidHeaderLength]");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLength);
            readFully(channel, header, 8);
            long dataStart = 8 + headerLength;
            SafetensorsHeader parsed = SafetensorsHeader.parse(path, header.array(), size - dataStart);
            MemorySegment mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            SafetensorsFile file = new SafetensorsFile(path, arena, mapped.asSlice(dataStart), parsed);
            FileBacking.register(file.data, path, dataStart);  // packing reads through the file, not the mapping
            return file;
        } catch (IOException e) {
            arena.close();
            throw OffloadException.io(path + ": cannot read", e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, position + buffer.position());
            if (n < 0) throw new IOException("unexpected end of file");
        }
    }

    public Path path() {
        return path;
    }

    @Override
    public String name() {
        return path.toString();
    }

    @Override
    public List<TensorInfo> tensors() {
        return tensors;
    }

    @Override
    public TensorInfo tensor(String name) {
        TensorInfo t = byName.get(name);
        if (t == null) throw OffloadException.invalid(path + ": no tensor named '" + name + "'");
        return t;
    }

    @Override
    public MemorySegment data(TensorInfo tensor) {
        if (!tensor.file().equals(path) || byName.get(tensor.name()) == null) {
            throw OffloadException.invalid(path + ": tensor '" + tensor.name() + "' belongs to " + tensor.file());
        }
        if (!arena.scope().isAlive()) throw new OffloadException(Status.CLOSED, path + " is closed");
        return data.asSlice(tensor.begin(), tensor.byteSize());
    }

    @Override
    public List<Path> files() {
        return List.of(path);
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public synchronized void close() {
        if (!arena.scope().isAlive()) return;
        FileBacking.unregister(data);
        arena.close();
    }
}
