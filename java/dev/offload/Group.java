package dev.offload;

import dev.offload.engine.GroupPlace;
import dev.offload.graph.TensorRef;
import dev.offload.plan.PackedGroup;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A group while its step holds it: its tensors on the device. Pointers are valid for work queued on
 * the step's compute stream until the step moves on to the next group.
 *
 * <p>A Group is the face of one group in one device place (engine.GroupPlace): made once, the first
 * time the group lands there, with its device tensors, and handed out on every later visit, so the
 * steady state allocates nothing per group. Validity ({@link DeviceTensor}'s note) is the place's:
 * while a step holds it, or, for a resident group, while its component keeps that region.
 */
public final class Group {
    private final GroupPlace place;
    private final List<DeviceTensor> tensors;

    private Group(GroupPlace place) {
        this.place = place;
        PackedGroup packed = place.packed();
        List<TensorRef> refs = packed.spec().tensors();
        List<DeviceTensor> list = new ArrayList<>(refs.size());
        for (int i = 0; i < refs.size(); i++) {
            TensorRef t = refs.get(i);
            list.add(new DeviceTensor(t.name(), t.dtype(), t.shape(), t.byteSize(),
                    MemorySegment.ofAddress(place.base() + packed.offsets()[i]), this));
        }
        this.tensors = List.copyOf(list);
    }

    /** The face of a place: made the first time, the same object afterwards. */
    static Group of(GroupPlace place) {
        return place.view(Group::new);
    }

    GroupPlace place() {
        return place;
    }

    /** The stream to launch this group's compute on (the step's compute stream). */
    public dev.offload.runtime.Stream computeStream() {
        return place.component().checkedComputeStream();
    }

    public int index() {
        return place.index();
    }

    public String name() {
        return place.packed().spec().name();
    }

    /** Packed bytes of the group (tensors aligned to 256 bytes). */
    public long byteSize() {
        return place.packed().bytes();
    }

    /**
     * The group's tensors on the device, in packing order; throws {@link IllegalStateException} once
     * the group is no longer held ({@link DeviceTensor}'s rule).
     */
    public List<DeviceTensor> tensors() {
        place.checkValid(null);
        return tensors;
    }

    /**
     * One of this group's tensors by its full name, as in the checkpoint
     * ({@code "transformer_blocks.0.attn.to_q.weight"}, not the name within its block); a name not in
     * this group is an error naming the group.
     */
    public DeviceTensor tensor(String name) {
        place.checkValid(null);
        for (int i = 0; i < tensors.size(); i++) {
            DeviceTensor t = tensors.get(i);
            if (t.name().equals(name)) return t;
        }
        throw OffloadException.invalid("group '" + name() + "' has no tensor '" + name + "'");
    }

    /** Throws IllegalStateException naming {@code tensor}, the group and the step, when not valid. */
    void checkValid(DeviceTensor tensor) {
        place.checkValid(tensor == null ? null : tensor.name());
    }
}
