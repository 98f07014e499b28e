package dev.offload.memory;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.offload.DiskCacheCheck;
import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.checkpoint.FileBacking;
import dev.offload.graph.TensorRef;
import dev.offload.files.AtomicFile;
import dev.offload.files.ProcessTemps;
import dev.offload.internal.NativeEngine;
import dev.offload.plan.PackedGroup;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The DISK source's optional on-disk cache, for layouts that cannot be streamed as they are: a
 * component whose groups are scattered (a group reading from more than one file, or extents of
 * {@link #SMALL_EXTENT} bytes or less on average: many tiny reads) is written once, packed, into one
 * file of the cache folder, each group one contiguous, 4 KiB-aligned run, and streamed from there
 * with one read per group. A component that streams well as it is gets no cache file.
 *
 * <p>File: {@code OFLCACHE}, the header's length (8 bytes, little-endian), the header (JSON), zero
 * padding to 4 KiB, then the groups. The header records what the file was written for (its
 * identity): the component, every source file's path (its raw bytes, percent-encoded, so a
 * non-UTF-8 name survives) and {@link FileStamp} (device, inode, size, modification and change
 * time), every group's name, bytes and offset, every tensor's name, dtype, shape and packed offset;
 * then, outside the identity, each source's sampled hash ({@link SourceSamples}). The file is named
 * by the identity's hash ({@link CacheFolder}): several models share a folder, each with its own
 * cache, and a size bound evicts the least recently used.
 *
 * <p>Reuse: the file at the identity's name is used only when its header's identity equals the one
 * the component would write now and it is unchanged since it was written: a seal beside it
 * ({@code NAME.offload-cache.seal}, written after the rename) records the cache file's own stamp.
 * With {@link DiskCacheCheck#CONTENT} the sources' sampled hashes must match the recorded ones too.
 * Otherwise (a truncated, foreign or altered file, no seal, sampled bytes changed) it is written
 * again, and a log line says why: a stale cache is never read. The body is not checksummed:
 * reading it all at registration would cost what the cache saves. Writing is atomic ({@link AtomicFile}):
 * a temporary file in the same folder, forced to disk, then renamed over the old one; a failed write
 * (a full disk included) leaves the old file (or none) and no temporary behind, Ctrl-C removes the
 * temporary, and one left by a killed run is removed by the next write into the folder. A source changed while it was being cached (its
 * stamp differs after the write) fails the write, naming it.
 *
 * <p>Limit: the engine opens the file again after its header was checked, so another process
 * evicting it in between makes that open fail (an IO error naming the file; the next run writes it
 * again).
 */
public final class DiskCache {
    /** Mean extent size at or below which a component counts as scattered. */
    public static final long SMALL_EXTENT = 64 * 1024;
    static final long ALIGN = 4096;
    private static final byte[] MAGIC = "OFLCACHE".getBytes(StandardCharsets.US_ASCII);
    private static final System.Logger LOG = System.getLogger("dev.offload.memory");

    /** What {@link #source} did, for tests and logs. */
    public enum Outcome { DIRECT, WRITTEN, REUSED, REWRITTEN_STALE }

    public record Result(DiskSource source, Outcome outcome, Path file) {}

    /**
     * How the folder is kept: {@code maxBytes} bounds its caches' bytes (0: no bound), least
     * recently used evicted first; {@code check} is how a cache is checked against its sources.
     */
    public record Options(long maxBytes, DiskCacheCheck check) {
        public static final Options DEFAULT = new Options(0, DiskCacheCheck.STAMP);

        public Options {
            if (maxBytes < 0) throw OffloadException.invalid("disk cache: the size bound must be >= 0 bytes (0 = none), got " + maxBytes);
            if (check == null) throw OffloadException.invalid("disk cache: check is null (STAMP by default)");
        }
    }

    private DiskCache() {}

    /**
     * The extents to stream a component from: its files as they are, or (with a cache folder and a
     * scattered layout) a cache file, written or reused as the class note says.
     */
    public static Result source(String component, List<PackedGroup> packed, Path cacheDir) {
        return source(component, packed, cacheDir, t -> FileBacking.of(t.data()), Options.DEFAULT);
    }

    /** As above, with each tensor's file region from {@code regions} (DiskSource.Registered's). */
    public static Result source(String component, List<PackedGroup> packed, Path cacheDir,
                                java.util.function.Function<TensorRef, java.util.Optional<FileBacking.Region>> regions, Options options) {
        DiskSource direct = DiskSource.of(component, packed, regions);
        if (cacheDir == null || !scattered(direct, packed)) return new Result(direct, Outcome.DIRECT, null);
        if (Files.isDirectory(cacheDir)) ProcessTemps.sweep(cacheDir, ProcessTemps.FILE_STEM);  // a killed writer's temporaries, reused or not
        List<FileStamp> stamps = new ArrayList<>();
        for (Path f : direct.files()) stamps.add(FileStamp.of(f, "component '" + component + "': caching it"));
        JsonObject identity = CacheIdentity.of(component, packed, direct, stamps);
        Path file = cacheDir.resolve(CacheFolder.name(component, identity.toString()));
        String header = readHeader(file);
        String stale = header == null ? null : CacheIdentity.staleness(header, identity, file, direct, options.check(), component);
        Outcome outcome;
        if (header != null && stale == null) {
            outcome = Outcome.REUSED;
        } else {
            if (stale != null) LOG.log(System.Logger.Level.INFO, "component ''{0}'': cache {1} {2}; writing it again", component, file, stale);
            boolean superseded = CacheFolder.removeSuperseded(cacheDir, component, file);
            outcome = header != null || superseded ? Outcome.REWRITTEN_STALE : Outcome.WRITTEN;
            JsonObject full = identity.deepCopy();
            JsonArray samples = new JsonArray();
            for (Path f : direct.files()) samples.add(SourceSamples.of(f, "component '" + component + "'"));
            full.add("samples", samples);
            header = full.toString();
            long bytes = fileBytes(header, packed);
            if (options.maxBytes() > 0 && bytes > options.maxBytes()) {
                LOG.log(System.Logger.Level.WARNING, "component ''{0}'': its disk cache would take {1} bytes, more than the folder''s bound"
                        + " of {2}; streaming it from its files as they are", component, bytes, options.maxBytes());
                return new Result(direct, Outcome.DIRECT, null);
            }
            if (options.maxBytes() > 0) CacheFolder.evict(cacheDir, options.maxBytes() - bytes, file);  // room first
            write(component, packed, direct, header, cacheDir, file);
            writeSeal(component, file);
            checkSourcesUnchanged(component, direct, stamps, file);
        }
        CacheFolder.touch(file);
        if (options.maxBytes() > 0) CacheFolder.evict(cacheDir, options.maxBytes() - fileBytes(header, packed), file);
        List<NativeEngine.DiskExtent> extents = new ArrayList<>();
        long at = dataStart(header);
        for (int g = 0; g < packed.size(); g++) {
            long bytes = packed.get(g).bytes();
            if (bytes > 0) extents.add(new NativeEngine.DiskExtent(g, 0, at, bytes, 0));
            at += alignUp(bytes);
        }
        return new Result(new DiskSource(List.of(file), extents), outcome, file);
    }

    /** A source whose stamp changed while it was being cached: the cache may mix old and new bytes; removed, and an IO error naming the file. */
    private static void checkSourcesUnchanged(String component, DiskSource direct, List<FileStamp> before, Path file) {
        for (int f = 0; f < before.size(); f++) {
            FileStamp now = FileStamp.of(direct.files().get(f), "component '" + component + "': caching it");
            if (!now.equals(before.get(f))) {
                try {
                    Files.deleteIfExists(sealOf(file));
                    Files.deleteIfExists(file);
                } catch (IOException ignored) {
                    // without its seal the cache is never reused
                }
                throw new OffloadException(Status.IO, "component '" + component + "': " + direct.files().get(f) + " changed while it was"
                        + " being cached (" + now.changeFrom(before.get(f)) + "); the cache " + file + " was removed: run again");
            }
        }
    }

    /** The cache file's size: its data start and every group, aligned. */
    private static long fileBytes(String header, List<PackedGroup> packed) {
        long at = dataStart(header);
        for (PackedGroup p : packed) at += alignUp(p.bytes());
        return at;
    }

    /** A group reading from more than one file, or a mean extent of SMALL_EXTENT bytes or less. */
    static boolean scattered(DiskSource direct, List<PackedGroup> packed) {
        if (direct.extents().isEmpty()) return false;
        Map<Integer, Integer> fileOfGroup = new LinkedHashMap<>();
        long bytes = 0;
        for (NativeEngine.DiskExtent e : direct.extents()) {
            Integer seen = fileOfGroup.putIfAbsent(e.group(), e.file());
            if (seen != null && seen != e.file()) return true;
            bytes += e.bytes();
        }
        return bytes / direct.extents().size() <= SMALL_EXTENT;
    }

    /** The header of an existing cache file, or null (no file, not a cache file, cut short). */
    static String readHeader(Path file) {
        if (!Files.isRegularFile(file)) return null;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer head = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            if (ch.read(head, 0) != 16) return null;
            for (int i = 0; i < MAGIC.length; i++) if (head.get(i) != MAGIC[i]) return null;
            long length = head.getLong(8);
            if (length <= 0 || length > (64L << 20) || 16 + length > ch.size()) return null;
            ByteBuffer json = ByteBuffer.allocate((int) length);
            while (json.hasRemaining()) if (ch.read(json, 16 + json.position()) < 0) return null;
            String header = new String(json.array(), StandardCharsets.UTF_8);
            long end = dataStart(header);
            JsonObject parsed = JsonParser.parseString(header).getAsJsonObject();
            for (var g : parsed.getAsJsonArray("groups")) end = Math.max(end, dataStart(header) + g.getAsJsonObject().get("offset").getAsLong()
                    + g.getAsJsonObject().get("bytes").getAsLong());
            return ch.size() >= end ? header : null;  // a file cut short is not reused
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static void write(String component, List<PackedGroup> packed, DiskSource direct, String header, Path dir, Path file) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw OffloadException.io("component '" + component + "': cannot create the disk cache folder " + dir, e);
        }
        AtomicFile.write(file, "the disk cache of component '" + component + "'", out -> {
            byte[] json = header.getBytes(StandardCharsets.UTF_8);
            long start = dataStart(header);
            List<FileChannel> sources = new ArrayList<>();
            try {
                for (Path f : direct.files()) sources.add(FileChannel.open(f, StandardOpenOption.READ));
                ByteBuffer head = ByteBuffer.allocate(16 + json.length).order(ByteOrder.LITTLE_ENDIAN);
                head.put(MAGIC).putLong(json.length).put(json).flip();
                out.write(head, 0);
                long[] groupAt = new long[packed.size()];
                long at = start;
                for (int g = 0; g < packed.size(); g++) {
                    groupAt[g] = at;
                    at += alignUp(packed.get(g).bytes());
                }
                ByteBuffer buffer = ByteBuffer.allocateDirect(8 << 20);
                for (NativeEngine.DiskExtent e : direct.extents()) {
                    FileChannel in = sources.get(e.file());
                    long done = 0;
                    while (done < e.bytes()) {
                        buffer.clear().limit((int) Math.min(buffer.capacity(), e.bytes() - done));
                        int n = in.read(buffer, e.fileOffset() + done);
                        if (n < 0) {
                            throw new OffloadException(Status.IO, "component '" + component + "': " + direct.files().get(e.file())
                                    + " ends before byte " + (e.fileOffset() + e.bytes()) + " while caching it");
                        }
                        buffer.flip();
                        out.write(buffer, groupAt[e.group()] + e.groupOffset() + done);
                        done += n;
                    }
                }
                if (out.channel().size() < at) {  // the last group's padding: the file's length says where the data ends
                    out.write(ByteBuffer.allocate(1), at - 1);
                }
            } finally {
                for (FileChannel c : sources) c.close();
            }
        });
    }

    /** The seal's path: beside the cache file. */
    public static Path sealOf(Path file) {
        return file.resolveSibling(file.getFileName() + ".seal");
    }

    /** What the seal records of a cache file: its {@link FileStamp}. */
    private static String sealText(Path file) throws IOException {
        return FileStamp.of(file).text() + "\n";
    }

    static boolean sealMatches(Path file) {
        try {
            return Files.readString(sealOf(file), StandardCharsets.US_ASCII).equals(sealText(file));
        } catch (IOException | RuntimeException e) {
            return false;  // no seal, unreadable: not reused
        }
    }

    /** Writes the seal atomically (a temporary file renamed over the old seal). */
    private static void writeSeal(String component, Path file) {
        String text;
        try {
            text = sealText(file);
        } catch (IOException e) {
            throw OffloadException.io("component '" + component + "': cannot read the disk cache " + file + " to seal it", e);
        }
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        AtomicFile.write(sealOf(file), "the seal of the disk cache of component '" + component + "'",
                out -> out.write(ByteBuffer.wrap(bytes), 0));
    }

    static long dataStart(String header) {
        return alignUp(16 + header.getBytes(StandardCharsets.UTF_8).length);
    }

    static long alignUp(long n) {
        return (n + ALIGN - 1) / ALIGN * ALIGN;
    }
}
