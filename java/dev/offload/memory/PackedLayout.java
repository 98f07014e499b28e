package dev.offload.memory;

import dev.offload.graph.TensorRef;
import dev.offload.plan.PackedGroup;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Where each tensor of a host copy lies (which packed group, at which offset), so that the copy can
 * serve another grouping of the same tensors without packing again: a group of that other grouping
 * is a slice of a packed group when its tensors are a run of that group's tensors, in the same order
 * at the same offsets relative to the first. PackedGroup places each tensor at the next 256-byte
 * boundary after the one before, whatever group it is in, so a leaf group (one tensor) is always a
 * slice of the block-level packing, and so is one block of a two-blocks-per-group packing. The
 * slice's bytes are then exactly what packing that group on its own would give: its tensors at its
 * offsets and, between and after them, the packed group's zeroed alignment padding. A group spread
 * over two packed groups (two blocks from a one-block-per-group packing) is not a slice: each packed
 * group is 4 KiB-aligned in its slab, maybe another slab.
 *
 * <p>Made once per host copy; consulted when an engine starts (never on the step path).
 */
final class PackedLayout {
    private record Place(int group, int index) {}

    private final List<PackedGroup> packed;
    private final Map<String, Place> places = new HashMap<>();

    PackedLayout(List<PackedGroup> packed) {
        this.packed = List.copyOf(packed);
        for (int g = 0; g < packed.size(); g++) {
            List<TensorRef> tensors = packed.get(g).spec().tensors();
            for (int i = 0; i < tensors.size(); i++) places.put(tensors.get(i).name(), new Place(g, i));
        }
    }

    /**
     * Each of {@code groups}' bytes in {@code hostGroups} (this layout's packed groups' host bytes):
     * written into {@code out}; returns null when every group is served, else why one is not.
     */
    String serve(List<PackedGroup> groups, List<MemorySegment> hostGroups, MemorySegment[] out) {
        for (int q = 0; q < groups.size(); q++) {
            PackedGroup want = groups.get(q);
            List<TensorRef> tensors = want.spec().tensors();
            if (tensors.isEmpty()) return "group '" + want.spec().name() + "' has no tensors";
            Place first = places.get(tensors.get(0).name());
            if (first == null) return "tensor '" + tensors.get(0).name() + "' (group '" + want.spec().name() + "') is not in the host copy";
            PackedGroup have = packed.get(first.group());
            String why = runOf(want, have, first.index());
            if (why != null) return why;
            long base = have.offsets()[first.index()];
            MemorySegment host = hostGroups.get(first.group());
            out[q] = base == 0 && want.bytes() == host.byteSize() ? host : host.asSlice(base, want.bytes());
        }
        return null;
    }

    /** Null when {@code want}'s tensors are {@code have}'s from {@code from} on, at the same relative offsets, its bytes inside; else why not. */
    private static String runOf(PackedGroup want, PackedGroup have, int from) {
        List<TensorRef> wanted = want.spec().tensors(), held = have.spec().tensors();
        long base = have.offsets()[from];
        for (int i = 0; i < wanted.size(); i++) {
            TensorRef t = wanted.get(i);
            if (from + i >= held.size() || !held.get(from + i).name().equals(t.name())) {
                return "group '" + want.spec().name() + "' spans packed groups: its tensor '" + t.name() + "' does not follow '"
                        + wanted.get(0).name() + "' in the packed group '" + have.spec().name() + "'";
            }
            TensorRef h = held.get(from + i);
            if (h.byteSize() != t.byteSize() || have.offsets()[from + i] - base != want.offsets()[i]) {
                return "tensor '" + t.name() + "' of group '" + want.spec().name() + "' lies at another offset or size in the packed group '"
                        + have.spec().name() + "'";
            }
        }
        if (base + want.bytes() > have.bytes()) {
            return "group '" + want.spec().name() + "' (" + want.bytes() + " bytes) runs past the end of the packed group '" + have.spec().name() + "'";
        }
        return null;
    }
}
