package dev.offload.plan;

import dev.offload.graph.GroupSpec;

/**
 * A group's packed layout: its tensors back to back, each starting on a 256-byte boundary, so the
 * group is one contiguous copy and every tensor is aligned for kernels. The same offsets hold in the
 * pinned host copy and in the device slot.
 */
public record PackedGroup(GroupSpec spec, long[] offsets, long bytes) {
    public static final long ALIGN = 256;

    public static PackedGroup of(GroupSpec spec) {
        long[] offsets = new long[spec.tensors().size()];
        long at = 0;
        for (int i = 0; i < offsets.length; i++) {
            offsets[i] = at;
            at = alignUp(at + spec.tensors().get(i).byteSize());
        }
        return new PackedGroup(spec, offsets, at);
    }

    public static long alignUp(long n) {
        return (n + ALIGN - 1) / ALIGN * ALIGN;
    }
}
