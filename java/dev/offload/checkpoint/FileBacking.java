package dev.offload.checkpoint;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * Which file a mapped checkpoint segment comes from. {@link SafetensorsFile} registers its mapped
 * data section while it is open; packing asks {@link #of} for a tensor's file and position and reads
 * the bytes with positional reads instead of through the mapping: a file truncated after it was
 * opened then ends a read early, an IO error naming the file, where touching the mapping past the new
 * end would kill the JVM with SIGBUS. A segment is matched only within one live mapping and only
 * when it shares that mapping's scope, so an address reused after an unmap never matches.
 */
public final class FileBacking {
    /** A segment's bytes in a file: {@code file} from byte {@code position} on. */
    public record Region(Path file, long position) {}

    private record Mapping(MemorySegment segment, Path file, long filePosition) {}

    private static final ConcurrentSkipListMap<Long, Mapping> MAPPINGS = new ConcurrentSkipListMap<>();

    private FileBacking() {}

    static void register(MemorySegment mapped, Path file, long filePosition) {
        if (mapped.byteSize() > 0) MAPPINGS.put(mapped.address(), new Mapping(mapped, file, filePosition));
    }

    static void unregister(MemorySegment mapped) {
        MAPPINGS.remove(mapped.address());
    }

    /** The file region behind a segment of a registered mapping; empty for any other segment. */
    public static Optional<Region> of(MemorySegment data) {
        if (!data.isNative()) return Optional.empty();
        Map.Entry<Long, Mapping> e = MAPPINGS.floorEntry(data.address());
        if (e == null) return Optional.empty();
        Mapping m = e.getValue();
        long offset = data.address() - m.segment().address();
        if (offset + data.byteSize() > m.segment().byteSize() || !data.scope().equals(m.segment().scope())) return Optional.empty();
        return Optional.of(new Region(m.file(), m.filePosition() + offset));
    }
}
