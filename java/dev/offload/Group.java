package dev.offload;

import dev.offload.graph.TensorRef;
import dev.offload.plan.PackedGroup;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A group while its step holds it: its tensors on the device. Pointers are valid for work queued on
 * the step's compute stream until the step moves on to the next group.
 *
 * <p>A Group is a view of one group in one device place (its resident region, or one ring slot):
 * the component makes each view once, the first time the group lands there, and hands the same
 * object out on every later visit, so the steady state allocates nothing per group.
 */
public final class Group {
    private final int index;
    private final PackedGroup packed;
    private final long base;
    private final Component component;
    private final List<DeviceTensor> tensors;

    Group(int index, PackedGroup packed, long base, Component component) {
        this.index = index;
        this.packed = packed;
        this.base = base;
        this.component = component;
        List<TensorRef> refs = packed.spec().tensors();
        List<DeviceTensor> list = new ArrayList<>(refs.size());
        for (int i = 0; i < refs.size(); i++) {
            TensorRef t = refs.get(i);
            list.add(new DeviceTensor(t.name(), t.dtype(), t.shape(), t.byteSize(), MemorySegment.ofAddress(base + packed.offsets()[i])));
        }
        this.tensors = List.copyOf(list);
    }

    /** The stream to launch this group's compute on (the step's compute stream). */
    public dev.offload.runtime.Stream computeStream() {
        return component.computeStream();
    }

    public int index() {
        return index;
    }

    public String name() {
        return packed.spec().name();
    }

    /** Packed bytes of the group (tensors aligned to 256 bytes). */
    public long byteSize() {
        return packed.bytes();
    }

    /** Device address of the group's packed bytes. */
    long base() {
        return base;
    }

    /** The group's tensors on the device, in packing order. */
    public List<DeviceTensor> tensors() {
        component.checkHeld(this);
        return tensors;
    }

    /**
     * One of this group's tensors by its full name, as in the checkpoint
     * ({@code "transformer_blocks.0.attn.to_q.weight"}, not the name within its block); a name not in
     * this group is an error naming the group.
     */
    public DeviceTensor tensor(String name) {
        component.checkHeld(this);
        for (int i = 0; i < tensors.size(); i++) {
            DeviceTensor t = tensors.get(i);
            if (t.name().equals(name)) return t;
        }
        throw OffloadException.invalid("group '" + name() + "' has no tensor '" + name + "'");
    }
}
