package dev.offload;

/**
 * Where a component's streamed weights live on the host ({@link OffloadConfig#source()}).
 *
 * <ul>
 *   <li>{@link #PINNED} (default): one packed copy of every group in pinned memory; host memory is about
 *       the model's bytes; the fastest copies.
 *   <li>{@link #DISK}: the weights stay in their safetensors files. A native reader thread reads each
 *       streamed group with {@code pread} into a small ring of pinned staging slots, and the copy
 *       stream copies it from there (read, copy and compute overlap). Host memory is the staging ring
 *       ({@link OffloadConfig#stagingBytes()}), whatever the model's size; resident groups are read once.
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
    LOWMEM;

    /** Parses "pinned", "disk" or "lowmem" (any case). */
    public static HostSource parse(String text) {
        String key = text == null ? "" : text.trim().toUpperCase(java.util.Locale.ROOT);
        for (HostSource s : values()) {
            if (s.name().equals(key)) return s;
        }
        throw OffloadException.invalid("unknown host source '" + text + "': expected pinned, disk or lowmem");
    }
}
