package dev.offload;

/**
 * How the DISK source reads its files ({@link OffloadConfig#diskIo()}; offload.h, OFL_DISK_IO_*).
 *
 * <ul>
 *   <li>{@link #AUTO} (default): BUFFERED when the streamed bytes fit in half of the available memory
 *       (the page cache keeps them after one pass, and every later read is a memory copy); otherwise
 *       PROBE.
 *   <li>{@link #BUFFERED}: {@code pread} through the page cache.
 *   <li>{@link #DIRECT}: {@code O_DIRECT} reads, which bypass the page cache; buffered where the file
 *       system refuses them (tmpfs).
 *   <li>{@link #PROBE}: at registration, times a direct and a buffered read of the first streamed
 *       group (up to 64 MiB; the page cache dropped for that range first, so both start cold) and
 *       keeps the faster. The figures are in {@link DiskStats}.
 * </ul>
 */
public enum DiskIo {
    AUTO,
    BUFFERED,
    DIRECT,
    PROBE;

    /** Parses "auto", "buffered", "direct" or "probe" (any case). */
    public static DiskIo parse(String text) {
        String key = text == null ? "" : text.trim().toUpperCase(java.util.Locale.ROOT);
        for (DiskIo d : values()) {
            if (d.name().equals(key)) return d;
        }
        throw OffloadException.invalid("disk I/O must be auto, buffered, direct or probe, got '" + text + "'");
    }
}
