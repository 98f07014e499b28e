package dev.offload.internal;

import dev.offload.internal.ffi.offload_h;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;

/**
 * What one native engine is made from, as plain values (offload.h: ofl_group_desc, ofl_engine_config,
 * ofl_disk_source): its groups, ring slots, prefetch depth, timing, steps ahead, whether it keeps
 * spans, and its reader (none, the low-memory source's staging from host memory, or the disk
 * source's files and extents) with the reader's flags as the native OFL_DISK_* bits. This layer
 * knows no plan: engine.EngineStart builds one from a plan.Schedule (the one place that does), and
 * {@link NativeEngine#create} is the one factory that reads it.
 *
 * @param groups        in execution order
 * @param timing        an OFL_TIMING_* code
 * @param reader        null: no reader (the groups' host bytes are pinned and copied straight)
 * @param description   what the engine is for, in its errors ("component 'x'")
 */
public record EngineSpec(List<Group> groups, int slots, int prefetchDepth, int timing, int stepsAhead, boolean trace, Reader reader,
                         String description) {
    public EngineSpec {
        if (groups == null || description == null) throw new IllegalArgumentException("engine spec: groups and description are required");
        groups = List.copyOf(groups);
        if (reader != null && !reader.fromHost()) {
            for (int g = 0; g < groups.size(); g++) {
                if (!groups.get(g).host().equals(MemorySegment.NULL)) {
                    throw new IllegalArgumentException("engine spec of " + description + ": group " + g + " has host bytes but the reader"
                            + " reads its files (a disk source's groups have none)");
                }
            }
        }
    }

    /** One group: its host bytes (NULL for a disk source's: they are in its files), its packed size, whether it stays resident. */
    public record Group(MemorySegment host, long bytes, boolean resident) {
        public Group {
            if (host == null || bytes < 0) throw new IllegalArgumentException("engine spec: a group needs its host (NULL: none) and bytes >= 0");
        }

        /** A group whose packed bytes are {@code host} (pinned, or pageable for a low-memory reader). */
        public static Group inMemory(MemorySegment host, boolean resident) {
            return new Group(host, host.byteSize(), resident);
        }

        /** A disk source's group of {@code bytes} packed bytes, read from its files. */
        public static Group inFiles(long bytes, boolean resident) {
            return new Group(MemorySegment.NULL, bytes, resident);
        }
    }

    /**
     * The engine's reader threads and staging ring: {@code stagingBytes} (0: the default) filled from
     * host memory (flags {@link #FROM_HOST}) or from {@code files} at {@code extents} (flags one of
     * the IO_* values); {@code readerThreads} 0 for the default.
     */
    public record Reader(List<Path> files, List<NativeEngine.DiskExtent> extents, long stagingBytes, int flags, int readerThreads) {
        /** OFL_DISK_FROM_HOST: the groups' host bytes (pageable is fine) are staged before each device copy. */
        public static final int FROM_HOST = offload_h.OFL_DISK_FROM_HOST();
        /** No OFL_DISK_IO_* flag: the reader's default choice (DiskIo.AUTO). */
        public static final int IO_DEFAULT = 0;
        public static final int IO_BUFFERED = offload_h.OFL_DISK_IO_BUFFERED();
        public static final int IO_DIRECT = offload_h.OFL_DISK_IO_DIRECT();
        public static final int IO_PROBE = offload_h.OFL_DISK_IO_PROBE();

        public Reader {
            files = List.copyOf(files);
            extents = List.copyOf(extents);
            if (flags != FROM_HOST && flags != IO_DEFAULT && flags != IO_BUFFERED && flags != IO_DIRECT && flags != IO_PROBE) {
                throw new IllegalArgumentException("engine spec: reader flags " + flags + " are not OFL_DISK_FROM_HOST or one OFL_DISK_IO_*");
            }
            if (flags == FROM_HOST && (!files.isEmpty() || !extents.isEmpty())) {
                throw new IllegalArgumentException("engine spec: a reader from host memory reads no files");
            }
        }

        /** The low-memory source: the groups' host bytes staged through a ring of {@code stagingBytes}. */
        public static Reader fromHost(long stagingBytes, int readerThreads) {
            return new Reader(List.of(), List.of(), stagingBytes, FROM_HOST, readerThreads);
        }

        /** The disk source: {@code extents} of {@code files}, read with {@code ioFlags} (IO_*). */
        public static Reader fromFiles(List<Path> files, List<NativeEngine.DiskExtent> extents, long stagingBytes, int ioFlags,
                                       int readerThreads) {
            if (ioFlags == FROM_HOST) throw new IllegalArgumentException("engine spec: a reader of files takes an OFL_DISK_IO_* flag");
            return new Reader(files, extents, stagingBytes, ioFlags, readerThreads);
        }

        public boolean fromHost() {
            return flags == FROM_HOST;
        }
    }
}
