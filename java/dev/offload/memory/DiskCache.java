package dev.offload.memory;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.checkpoint.FileBacking;
import dev.offload.graph.TensorRef;
import dev.offload.internal.AtomicFile;
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
 * padding to 4 KiB, then the groups. The header records what the file was written for: the
 * component, every group's name, bytes and offset, every tensor's name, dtype, shape and packed
 * offset, and the source files' real paths, sizes and modification times.
 *
 * <p>Reuse: the file is used only when its header equals the one the component would write now
 * and it is unchanged since it was written: a seal beside it ({@code NAME.offload-cache.seal},
 * written after the rename) records the cache file's size, modification time and inode, and any
 * write to the cache file changes its modification time. Otherwise (source files rewritten or
 * touched, layout changed, a truncated, foreign or altered file, no seal) it is written again, and
 * a log line says why: a stale cache is never read. The body is not checksummed: reading it all
 * at registration would cost what the cache saves. Writing is atomic ({@link AtomicFile}): a
 * temporary file in the same folder, forced to disk, then renamed over the old one; a failed write
 * (a full disk included) leaves the old file (or none) and no temporary behind, Ctrl-C removes the
 * temporary, and one left by a killed run is removed by the next write into the folder.
 *
 * <p>Limit: the engine opens the file again after its header was checked, so two processes (or two
 * offloaders) writing caches of differently laid-out components of the same name into one folder
 * at the same time could swap a file in between: give each its own folder.
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

    private DiskCache() {}

    /**
     * The extents to stream a component from: its files as they are, or (with a cache folder and a
     * scattered layout) a cache file, written or reused as the class note says.
     */
    public static Result source(String component, List<PackedGroup> packed, Path cacheDir) {
        return source(component, packed, cacheDir, t -> dev.offload.checkpoint.FileBacking.of(t.data()));
    }

    /** As above, with each tensor's file region from {@code regions} (DiskSource.Registered's). */
    public static Result source(String component, List<PackedGroup> packed, Path cacheDir,
                                java.util.function.Function<TensorRef, java.util.Optional<FileBacking.Region>> regions) {
        DiskSource direct = DiskSource.of(component, packed, regions);
        if (cacheDir == null || !scattered(direct, packed)) return new Result(direct, Outcome.DIRECT, null);
        Path file = cacheDir.resolve(safe(component) + ".offload-cache");
        String header = header(component, packed, direct);
        Outcome outcome;
        String existing = readHeader(file);
        boolean sealed = existing != null && sealMatches(file);
        if (header.equals(existing) && sealed) {
            outcome = Outcome.REUSED;
        } else {
            outcome = existing == null ? Outcome.WRITTEN : Outcome.REWRITTEN_STALE;
            if (existing != null) {
                LOG.log(System.Logger.Level.INFO, "component ''{0}'': cache {1} {2}; writing it again", component, file,
                        header.equals(existing) ? "was changed after it was written (or its seal is missing)"
                                : "was written for other sources or another layout");
            }
            write(component, packed, direct, header, cacheDir, file);
            writeSeal(component, file);
        }
        List<NativeEngine.DiskExtent> extents = new ArrayList<>();
        long at = dataStart(header);
        for (int g = 0; g < packed.size(); g++) {
            long bytes = packed.get(g).bytes();
            if (bytes > 0) extents.add(new NativeEngine.DiskExtent(g, 0, at, bytes, 0));
            at += alignUp(bytes);
        }
        return new Result(new DiskSource(List.of(file.toString()), extents), outcome, file);
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

    static String header(String component, List<PackedGroup> packed, DiskSource direct) {
        JsonObject h = new JsonObject();
        h.addProperty("version", 1);
        h.addProperty("component", component);
        JsonArray files = new JsonArray();
        for (String f : direct.files()) {
            JsonObject o = new JsonObject();
            try {
                Path real = Path.of(f).toRealPath();
                o.addProperty("path", real.toString());
                o.addProperty("size", Files.size(real));
                o.addProperty("modified_ns", Files.getLastModifiedTime(real).to(java.util.concurrent.TimeUnit.NANOSECONDS));
            } catch (IOException e) {
                throw OffloadException.io("component '" + component + "': cannot read " + f + " to cache it", e);
            }
            files.add(o);
        }
        h.add("files", files);
        JsonArray groups = new JsonArray();
        long at = 0;
        for (PackedGroup p : packed) {
            JsonObject g = new JsonObject();
            g.addProperty("name", p.spec().name());
            g.addProperty("bytes", p.bytes());
            g.addProperty("offset", at);
            JsonArray tensors = new JsonArray();
            for (int i = 0; i < p.spec().tensors().size(); i++) {
                TensorRef t = p.spec().tensors().get(i);
                JsonObject o = new JsonObject();
                o.addProperty("name", t.name());
                o.addProperty("dtype", t.dtype().name());
                JsonArray shape = new JsonArray();
                for (long d : t.shape()) shape.add(d);
                o.add("shape", shape);
                o.addProperty("offset", p.offsets()[i]);
                tensors.add(o);
            }
            g.add("tensors", tensors);
            groups.add(g);
            at += alignUp(p.bytes());
        }
        h.add("groups", groups);
        return h.toString();
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
            JsonObject parsed = com.google.gson.JsonParser.parseString(header).getAsJsonObject();
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
                for (String f : direct.files()) sources.add(FileChannel.open(Path.of(f), StandardOpenOption.READ));
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

    /** What the seal records of a cache file: size, modification time (ns) and inode (where the file system has one). */
    private static String sealText(Path file) throws IOException {
        var attributes = Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class);
        return attributes.size() + " " + attributes.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS) + " "
                + attributes.fileKey() + "\n";
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

    private static String safe(String component) {
        return component.replaceAll("[^A-Za-z0-9._-]", "_");
    }
}
