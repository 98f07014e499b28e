package dev.offload;

/**
 * How the DISK source's cache is checked against its sources before it is reused
 * ({@link OffloadConfig#diskCacheCheck()}; memory/DiskCache).
 *
 * <ul>
 *   <li>{@link #STAMP} (default): each source file's device, inode, size, modification and change
 *       time must equal those the cache was written from (memory/FileStamp). Costs one stat per file.
 *   <li>{@link #CONTENT}: the stamps, and a hash of sampled ranges of each source file (the first
 *       and last 64 KiB and 14 evenly spaced 64 KiB ranges between, recorded when the cache was
 *       written) must match: sees a change the stamps cannot (a file system with no change time, a
 *       restored snapshot) where it falls in a sampled range. Reads about 1 MiB per file.
 * </ul>
 */
public enum DiskCacheCheck {
    STAMP,
    CONTENT;

    /** Parses "stamp" or "content" (any case). */
    public static DiskCacheCheck parse(String text) {
        String key = text == null ? "" : text.trim().toUpperCase(java.util.Locale.ROOT);
        for (DiskCacheCheck c : values()) {
            if (c.name().equals(key)) return c;
        }
        throw OffloadException.invalid("disk cache check must be stamp or content, got '" + text + "'");
    }
}
