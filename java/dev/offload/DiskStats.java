package dev.offload;

/**
 * A DISK-source component's reader figures since registration ({@link Component#diskStats()}):
 * the pinned staging ring ({@code stagingSlots} slots, {@code stagingBytes} in all), bytes and whole
 * groups read from the files (resident groups once), the wall time the reader spent in {@code pread}
 * ({@code readMs}) and the time the copy stream waited for a read to finish ({@code stallMs}: 0 when
 * reading keeps ahead). All zero for a PINNED component.
 */
public record DiskStats(int stagingSlots, long stagingBytes, long bytesRead, long groupsRead, double readMs, double stallMs) {
    /** The reader's rate while reading, in GB/s (10^9 bytes/s); NaN before anything was read. */
    public double readGbps() {
        return readMs > 0 ? bytesRead / (readMs / 1e3) / 1e9 : Double.NaN;
    }
}
