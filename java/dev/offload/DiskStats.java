package dev.offload;

/**
 * A DISK- or LOWMEM-source component's reader figures since its engine started
 * ({@link Component#diskStats()}): the pinned staging ring ({@code stagingSlots} units of
 * {@code unitBytes}, {@code stagingBytes} in all), bytes and whole groups read (resident groups
 * once), the wall time with at least one read in flight ({@code readMs}, all reader threads together)
 * and the time the copy stream waited for a read to finish ({@code stallMs}: 0 when reading keeps
 * ahead). {@code io} is how the files were read: "buffered" or "direct" (O_DIRECT), "memory" for
 * LOWMEM, "none" without a reader; {@code probeBufferedGbps} and {@code probeDirectGbps} are the
 * registration probe's figures when it ran ({@link DiskIo#PROBE}, or {@link DiskIo#AUTO} for streamed
 * bytes over half the available memory), else 0. All zero for a PINNED component.
 */
public record DiskStats(int stagingSlots, long stagingBytes, long unitBytes, long bytesRead, long groupsRead, double readMs,
                        double stallMs, String io, int readerThreads, double probeBufferedGbps, double probeDirectGbps) {
    /** No reader (a PINNED component, or one between turns). */
    public static final DiskStats NONE = new DiskStats(0, 0, 0, 0, 0, 0, 0, "none", 0, 0, 0);

    /** The readers' rate while reading, in GB/s (10^9 bytes/s); NaN before anything was read. */
    public double readGbps() {
        return readMs > 0 ? bytesRead / (readMs / 1e3) / 1e9 : Double.NaN;
    }
}
