package dev.offload;

import dev.offload.graph.TensorRef;
import dev.offload.plan.PackedGroup;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A group while its step holds it: its tensors on the device. Pointers are valid for work queued on
 * the step's compute stream until the step moves on to the next group.
 */
public final class Group {
    private final int index;
    private final PackedGroup packed;
    private final long base;
    private final Step step;

    Group(int index, PackedGroup packed, long base, Step step) {
        this.index = index;
        this.packed = packed;
        this.base = base;
        this.step = step;
    }

    /** The stream to launch this group's compute on (the step's compute stream). */
    public dev.offload.runtime.Stream computeStream() {
        return step.computeStream();
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

    public List<DeviceTensor> tensors() {
        step.checkHeld(this);
        List<TensorRef> refs = packed.spec().tensors();
        List<DeviceTensor> out = new ArrayList<>(refs.size());
        for (int i = 0; i < refs.size(); i++) out.add(device(i));
        return out;
    }

    public DeviceTensor tensor(String name) {
        step.checkHeld(this);
        List<TensorRef> refs = packed.spec().tensors();
        for (int i = 0; i < refs.size(); i++) {
            if (refs.get(i).name().equals(name)) return device(i);
        }
        throw OffloadException.invalid("group '" + name() + "' has no tensor '" + name + "'");
    }

    private DeviceTensor device(int i) {
        TensorRef t = packed.spec().tensors().get(i);
        return new DeviceTensor(t.name(), t.dtype(), t.shape(), t.byteSize(), MemorySegment.ofAddress(base + packed.offsets()[i]));
    }
}
