package dev.offload;

/**
 * Where a component's streamed weights live on the host ({@link OffloadConfig#source()}).
 *
 * <ul>
 *   <li>{@link #PINNED} (what AUTO, the default, gives where it fits): one packed copy of every group in pinned memory; host memory is about
 *       the model's bytes; the fastest copies.
 *   <li>{@link #DISK}: the weights stay in their safetensors files. Native reader threads read the
 *       streamed groups with {@code pread} (buffered or O_DIRECT, {@link DiskIo}), unit by unit, into
 *       a small ring of pinned staging units, and the copy stream copies each unit from there (read,
 *       copy and compute overlap). Host memory is the staging ring ({@link OffloadConfig#stagingBytes()}:
 *       8 MiB on host and 64 MiB on cuda by default), whatever the model's size; resident groups are
 *       read once.
 *       Needs tensors backed by files (a checkpoint opened from disk); others are refused.
 *   <li>{@link #LOWMEM}: between the two: one packed copy in ordinary (pageable) memory, which the
 *       system may swap and which needs no page-locking, streamed through the same pinned staging
 *       ring (the native reader copies each group into it). Host memory is the model's bytes, but only
 *       the ring is pinned; works for any graph, files or not.
 * </ul>
 */
public enum HostSource {
    PINNED,
    DISK,
    LOWMEM,
    /**
     * Not given (the config's default): PINNED, unless a component's pinned copy plus the host
     * memory margin would not fit the available host memory and its tensors come from files: then
     * DISK, said in a log line. A registered component's source is never AUTO.
     */
    AUTO;

    /**
     * The staging ring's pinned bytes an engine makes for a DISK or LOWMEM component: the native
     * reader's rule, asked of it (runtime.DeviceRuntime.stagingRingBytes, offload.h's
     * ofl_staging_ring), not restated here: units of 1 MiB where a CPU core copies (host) or 8 MiB
     * where a DMA engine does (cuda); when {@code given} is 0, 8 units but at most half of a step's
     * streamed bytes (rounded up to 4 KiB, at least 8 KiB), else at most a step's streamed bytes
     * ({@code streamedBytes}, each group rounded up to 4 KiB; the largest group's when nothing
     * streams); a ring below two units shrinks the unit to half of it.
     */
    public static long stagingBytes(dev.offload.runtime.Backend backend, long given, long streamedBytes) {
        return dev.offload.runtime.DeviceRuntime.stagingRingBytes(backend, given, streamedBytes);
    }

    /** Parses "pinned", "disk", "lowmem" or "auto" (any case). */
    public static HostSource parse(String text) {
        String key = text == null ? "" : text.trim().toUpperCase(java.util.Locale.ROOT);
        for (HostSource s : values()) {
            if (s.name().equals(key)) return s;
        }
        throw OffloadException.invalid("unknown host source '" + text + "': expected pinned, disk, lowmem or auto");
    }
}
