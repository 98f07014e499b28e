package dev.offload.engine;

import dev.offload.plan.PackedGroup;
import java.util.function.Function;

/**
 * One group in one device place (its resident region, or one ring slot), as the machinery keeps
 * it: made once, the first time the group lands there, and handed out on every later visit, so
 * the steady state allocates nothing per group. The public face's view of it (a Group and its
 * device tensors) is made once too and kept here ({@link #view}).
 *
 * <p>Validity (the face's DeviceTensor rule): the place records the step holding it ({@code holder},
 * set when iteration hands it out, cleared when the step releases it), the index of that step, and
 * the component's placement (which counts its engine's starts and stops) when it was handed out. It
 * is valid while a step holds it, or, for a resident group, while the component is open and still
 * at that placement. The check reads three fields.
 */
public final class GroupPlace {
    private final int index;
    private final PackedGroup packed;
    private final long base;
    private final ComponentCore component;
    private final boolean resident;
    private volatile OpenStep holder;  // the step holding this place now, or null
    private long step = -1;            // the step that last held it (written before holder)
    private long placedIn;             // the component's placement when it was last handed out
    private Object view;               // the face's view, made once

    GroupPlace(int index, PackedGroup packed, long base, ComponentCore component, boolean resident) {
        this.index = index;
        this.packed = packed;
        this.base = base;
        this.component = component;
        this.resident = resident;
    }

    public int index() {
        return index;
    }

    public PackedGroup packed() {
        return packed;
    }

    /** Device address of the group's packed bytes. */
    public long base() {
        return base;
    }

    public ComponentCore component() {
        return component;
    }

    /** The face's view of this place, made by {@code make} the first time (one thread drives a component's steps). */
    @SuppressWarnings("unchecked")
    public <T> T view(Function<GroupPlace, T> make) {
        Object v = view;
        if (v == null) view = v = make.apply(this);
        return (T) v;
    }

    /** Called by the step that iteration hands this place out in. */
    public void heldBy(OpenStep s) {
        step = s.index();
        placedIn = component.placement();
        holder = s;
    }

    /** Called by the holding step as it releases the group (before the engine's release). */
    public void released() {
        holder = null;
    }

    /** Throws IllegalStateException naming {@code tensor} (or the group, for null), the group and the step, when not valid. */
    public void checkValid(String tensor) {
        if (!component.isClosed() && (holder != null || resident && placedIn == component.placement())) return;
        throw new IllegalStateException(invalidBecause(tensor));
    }

    private String invalidBecause(String tensor) {
        String name = packed.spec().name();
        String what = (tensor != null ? "device tensor '" + tensor + "' of group '" : "group '") + name + "' of component '"
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
