package dev.offload.memory;

import dev.offload.OffloadException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A file's identity, the one way every check of a file takes it: registration
 * ({@link DiskSource.Registered}), the disk cache's header and seal ({@link DiskCache}), and the
 * sharing of registered components (ComponentSource). The native disk reader compares the same
 * fields with {@code fstat} before each read (disk_reader.cpp, check_unchanged).
 *
 * <p>Fields: the device and inode (a file replaced by rename is another inode), the size, the
 * modification time and the change time, both in nanoseconds. The change time is the one a user
 * cannot set: a rename into place, a write, a truncation, a chmod and setting the times back
 * ({@code touch -d}, {@code cp -p}, {@code rsync -a}) all move it to now. What it cannot see is in
 * docs/ROBUSTNESS.md ("File identity"): a file system that keeps no change time, a clock set back,
 * a restored snapshot; {@code --disk-cache-check content} covers those for the cache.
 *
 * <p>Read with {@code Files.readAttributes(path, "unix:dev,ino,size,lastModifiedTime,ctime")}
 * (nanosecond resolution); where the "unix" view is missing (not Linux), device and inode are -1 and
 * the change time is the modification time.
 */
public record FileStamp(long device, long inode, long size, long modifiedNs, long changedNs) {
    private static final String UNIX = "unix:dev,ino,size,lastModifiedTime,ctime";

    /** The file's stamp (following symbolic links, as opening it does). */
    public static FileStamp of(Path file) throws IOException {
        try {
            Map<String, Object> a = Files.readAttributes(file, UNIX);
            return new FileStamp(((Number) a.get("dev")).longValue(), ((Number) a.get("ino")).longValue(), ((Number) a.get("size")).longValue(),
                    nanos((FileTime) a.get("lastModifiedTime")), nanos((FileTime) a.get("ctime")));
        } catch (UnsupportedOperationException | IllegalArgumentException noUnixView) {
            var a = Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class);
            long modified = nanos(a.lastModifiedTime());
            return new FileStamp(-1, -1, a.size(), modified, modified);
        }
    }

    /** As {@link #of}, an IO OffloadException naming the file and {@code context} when it cannot be read. */
    public static FileStamp of(Path file, String context) {
        try {
            return of(file);
        } catch (IOException e) {
            throw OffloadException.io(context + ": cannot read " + file, e);
        }
    }

    private static long nanos(FileTime t) {
        return t.to(TimeUnit.NANOSECONDS);
    }

    /** What differs from {@code was} (this is now), in words: "replaced by another file", "size 10 -> 12 bytes", ... */
    public String changeFrom(FileStamp was) {
        List<String> what = new ArrayList<>();
        if (device != was.device || inode != was.inode) what.add("replaced by another file (inode " + was.inode + " -> " + inode + ")");
        if (size != was.size) what.add("size " + was.size + " -> " + size + " bytes");
        if (modifiedNs != was.modifiedNs) what.add("modification time changed");
        if (changedNs != was.changedNs) what.add("change time changed (written, renamed into place, or its times set)");
        return what.isEmpty() ? "unchanged" : String.join(", ", what);
    }

    /** A stamp from its {@link #text()}; null when the text is not one. */
    public static FileStamp parse(String text) {
        String[] f = text == null ? new String[0] : text.trim().split(" ");
        if (f.length != 5) return null;
        try {
            return new FileStamp(Long.parseLong(f[0]), Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** The stamp as text, for headers and seals: "dev ino size mtime_ns ctime_ns". */
    public String text() {
        return device + " " + inode + " " + size + " " + modifiedNs + " " + changedNs;
    }
}
