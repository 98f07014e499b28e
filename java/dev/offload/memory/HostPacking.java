package dev.offload.memory;

import dev.offload.graph.TensorRef;
import dev.offload.plan.PackedGroup;
import dev.offload.runtime.DeviceRuntime;
import dev.offload.runtime.PinnedBuffer;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The memory layer: the one host copy of a component's weights: groups packed (PackedGroup's layout) into pinned
 * slabs. Slabs are sized up front from the groups they will hold, about {@code slabTarget} bytes
 * each (larger when one group is larger), so the pinned bytes are the model's bytes plus alignment,
 * never twice the model. Each group lies whole in one slab: one group, one copy.
 */
public final class HostPacking implements AutoCloseable {
    private static final long GROUP_ALIGN = 4096;
    private final List<PinnedBuffer> slabs;
    private final List<MemorySegment> groups;

    private HostPacking(List<PinnedBuffer> slabs, List<MemorySegment> groups) {
        this.slabs = slabs;
        this.groups = groups;
    }

    public static HostPacking pack(DeviceRuntime runtime, List<PackedGroup> packed, long slabTarget) {
        // Plan: which slab and offset each group gets, and each slab's exact size.
        List<Long> slabSizes = new ArrayList<>();
        int[] slabOf = new int[packed.size()];
        long[] offsetOf = new long[packed.size()];
        long used = 0;
        for (int g = 0; g < packed.size(); g++) {
            long bytes = Math.max(packed.get(g).bytes(), 1);
            long start = (used + GROUP_ALIGN - 1) / GROUP_ALIGN * GROUP_ALIGN;
            if (slabSizes.isEmpty() || (start + bytes > slabTarget && used > 0)) {
                if (!slabSizes.isEmpty()) slabSizes.set(slabSizes.size() - 1, used);
                slabSizes.add(0L);
                start = 0;
            }
            slabOf[g] = slabSizes.size() - 1;
            offsetOf[g] = start;
            used = start + bytes;
        }
        slabSizes.set(slabSizes.size() - 1, used);

        List<PinnedBuffer> slabs = new ArrayList<>();
        try {
            for (long size : slabSizes) slabs.add(runtime.allocatePinned(size));
            List<MemorySegment> groups = new ArrayList<>();
            for (int g = 0; g < packed.size(); g++) {
                PackedGroup p = packed.get(g);
                MemorySegment target = slabs.get(slabOf[g]).segment().asSlice(offsetOf[g], p.bytes());
                target.fill((byte) 0);  // alignment padding is defined, never stale memory
                List<TensorRef> tensors = p.spec().tensors();
                for (int i = 0; i < tensors.size(); i++) {
                    MemorySegment.copy(tensors.get(i).data(), 0, target, p.offsets()[i], tensors.get(i).byteSize());
                }
                groups.add(target);
            }
            return new HostPacking(slabs, groups);
        } catch (RuntimeException e) {
            slabs.forEach(PinnedBuffer::close);
            throw e;
        }
    }

    /** Group g's packed bytes in pinned memory. */
    public MemorySegment group(int g) {
        return groups.get(g);
    }

    public long pinnedBytes() {
        long sum = 0;
        for (PinnedBuffer s : slabs) sum += s.byteSize();
        return sum;
    }

    @Override
    public void close() {
        slabs.forEach(PinnedBuffer::close);
    }
}
