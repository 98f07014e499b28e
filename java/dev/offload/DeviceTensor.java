package dev.offload;

import dev.offload.checkpoint.DType;
import java.lang.foreign.MemorySegment;

/**
 * A tensor as a kernel sees it: its bytes on the device, valid while its group is held.
 *
 * <p>Validity: a DeviceTensor belongs to one {@link Group} view (one group in one device place).
 * It is valid while its step holds that group (from the moment iteration gives the group until the
 * step moves on, skips or closes); a resident group's (pinned, NO_OFFLOAD, MODEL_OFFLOAD's) stays
 * valid after its step, while its component is registered and keeps that region on the device
 * (until it is unregistered, evicted for another component's turn, re-planned or closed). Outside
 * that, {@link #devicePointer()} throws {@link IllegalStateException} naming the tensor, its group
 * and the step that last held it; a ring slot then holds another group's weights, so the address
 * would read the wrong tensor. A group seen again lands in the same view with the same
 * DeviceTensor objects, which are then valid again: the check is a few field reads on the view, so
 * nothing is allocated per group (Group's note).
 *
 * <p>Unchecked: a {@link MemorySegment} (or its address) taken while the tensor was valid and kept
 * afterwards is not checked; using it after the group is released reads whatever the slot holds
 * then. Work queued on the step's compute stream while the group was held is ordered by the
 * engine's events and is safe.
 */
public final class DeviceTensor {
    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final long byteSize;
    private final MemorySegment devicePointer;
    private final Group group;

    DeviceTensor(String name, DType dtype, long[] shape, long byteSize, MemorySegment devicePointer, Group group) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.byteSize = byteSize;
        this.devicePointer = devicePointer;
        this.group = group;
    }

    /** The tensor's full name in its checkpoint ("blocks.3.attn.to_q.weight"). */
    public String name() {
        return name;
    }

    public DType dtype() {
        return dtype;
    }

    /** The shape (a copy). */
    public long[] shape() {
        return shape.clone();
    }

    public long byteSize() {
        return byteSize;
    }

    /**
     * The tensor's device address (a zero-length segment), for kernels and copies: host code cannot
     * read it on either backend (on the host backend an access throws {@link InternalError}; a host
     * kernel reads it through {@link dev.offload.runtime.DeviceViews}); throws
     * {@link IllegalStateException} once its group is no longer held (the class note).
     */
    public MemorySegment devicePointer() {
        group.checkValid(this);
        return devicePointer;
    }

    /** The group view it belongs to. */
    Group group() {
        return group;
    }

    /** Its name, dtype and shape, as {@code blocks.0.attn.weight F32[64, 64]}. */
    @Override
    public String toString() {
        return name + " " + dtype + java.util.Arrays.toString(shape);
    }
}
