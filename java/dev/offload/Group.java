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
 *
 * <p>Validity ({@link DeviceTensor}'s note): the view records the step holding it ({@code holder},
 * set when iteration gives it, cleared when the step releases it), the index of that step, and the
 * component's placement (which counts its engine's starts and stops) when it was handed out. It is
 * valid while a step holds it, or, for a resident group, while the component is open and still at
 * that placement. The check reads three fields; a view handed out again is valid again, so the
 * same objects serve every step and nothing is allocated per group.
 */
public final class Group {
    private final int index;
    private final PackedGroup packed;
    private final long base;
    private final Component component;
    private final List<DeviceTensor> tensors;
    private final boolean resident;
    private volatile Step holder;  // the step holding this view now, or null
    private long step = -1;        // the step that last held it (written before holder)
    private long placedIn;         // the component's placement when it was last handed out

    Group(int index, PackedGroup packed, long base, Component component, boolean resident) {
        this.index = index;
        this.packed = packed;
        this.base = base;
        this.component = component;
        this.resident = resident;
        List<TensorRef> refs = packed.spec().tensors();
        List<DeviceTensor> list = new ArrayList<>(refs.size());
        for (int i = 0; i < refs.size(); i++) {
            TensorRef t = refs.get(i);
            list.add(new DeviceTensor(t.name(), t.dtype(), t.shape(), t.byteSize(), MemorySegment.ofAddress(base + packed.offsets()[i]), this));
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

    /**
     * The group's tensors on the device, in packing order; throws {@link IllegalStateException} once
     * the group is no longer held ({@link DeviceTensor}'s rule).
     */
    public List<DeviceTensor> tensors() {
        checkValid(null);
        return tensors;
    }

    /**
     * One of this group's tensors by its full name, as in the checkpoint
     * ({@code "transformer_blocks.0.attn.to_q.weight"}, not the name within its block); a name not in
     * this group is an error naming the group.
     */
    public DeviceTensor tensor(String name) {
        checkValid(null);
        for (int i = 0; i < tensors.size(); i++) {
            DeviceTensor t = tensors.get(i);
            if (t.name().equals(name)) return t;
        }
        throw OffloadException.invalid("group '" + name() + "' has no tensor '" + name + "'");
    }

    /** Called by the step that iteration hands this view out in. */
    void heldBy(Step s) {
        step = s.index();
        placedIn = component.placement();
        holder = s;
    }

    /** Called by the holding step as it releases the group (before the engine's release). */
    void released() {
        holder = null;
    }

    /** Throws IllegalStateException naming {@code tensor} (or the group, for null), the group and the step, when not valid. */
    void checkValid(DeviceTensor tensor) {
        if (!component.isClosed() && (holder != null || resident && placedIn == component.placement())) return;
        throw new IllegalStateException(invalidBecause(tensor));
    }

    private String invalidBecause(DeviceTensor tensor) {
        String what = (tensor != null ? "device tensor '" + tensor.name() + "' of group '" : "group '") + name() + "' of component '"
                + component.name() + "'";
        String why;
        if (component.isClosed()) {
            why = "component '" + component.name() + "' is closed (unregistered, rebuilt or its offloader closed) since step " + step
                    + " held the group";
        } else if (resident) {
            why = "the device region step " + step + " found it in is gone (the component was evicted for another component's turn"
                    + " or re-planned); a later step hands it out again";
        } else {
            why = "step " + step + " released the group and its slot now holds other weights; a DeviceTensor is valid while its step"
                    + " holds its group: take it from the group a later step gives";
        }
        return what + " is no longer valid: " + why;
    }
}
