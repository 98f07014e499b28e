package dev.offload.workload;

import dev.offload.Group;
import dev.offload.OffloadException;
import dev.offload.Offloader;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.graph.TensorRef;
import java.util.List;
import java.util.Locale;

/**
 * A model's compute as {@link WorkloadRun} drives it: users of the public API (Offloader, Step,
 * Group, Stream), as a Java inference engine would be. Made before the component is registered (its
 * device buffers count against the same budget), then per step: {@link #group} for each group in
 * order, {@link #snapshot} after the step; {@link #verify} once at the end.
 */
public interface Workload extends AutoCloseable {
    /** "mix", "linear" or "none". */
    String name();

    /** Queues the initial state onto the device (after the component is registered). */
    void start(List<TensorRef> order);

    /** Queues this group's compute on its compute stream. */
    void group(Group group);

    /** Queues a copy of the state after step {@code step} into pinned memory, without waiting. */
    void snapshot(int step);

    /**
     * Waits for the device, then compares every snapshot with the unoffloaded reference over the
     * tensors in execution order: null when all match, else what differs. {@code expected} caches
     * reference states between runs of the same model and shape (may be fresh).
     */
    String verify(int steps, List<TensorRef> order, Expected expected);

    /** Reference states after each step, shared by runs of the same workload, model, tokens and hidden size. */
    final class Expected {
        final java.util.List<Object> states = new java.util.ArrayList<>();
        String key;

        /** The cached states for this key (cleared when the key changes). */
        java.util.List<Object> statesFor(String k) {
            if (!k.equals(key)) {
                states.clear();
                key = k;
            }
            return states;
        }
    }

    @Override
    void close();

    /** The workloads the CLI offers, without a checkpoint to size them by ("linear" needs one). */
    static Workload create(String kind, Offloader offloader, int tokens, int hidden, int steps, boolean verify) {
        return create(kind, offloader, null, tokens, hidden, steps, verify);
    }

    /**
     * The workloads the CLI offers. {@code hidden} sizes mix; linear takes its sizes from the
     * checkpoint's config.json, else its shapes ({@link LinearShape#of}).
     */
    static Workload create(String kind, Offloader offloader, Checkpoint checkpoint, int tokens, int hidden, int steps, boolean verify) {
        try {
            return make(kind, offloader, checkpoint, tokens, hidden, steps, verify);
        } catch (OffloadException e) {
            if (e.status() != dev.offload.Status.OUT_OF_DEVICE_MEMORY) throw e;
            // The budget is too small for the workload's own buffers (before any weights): a usage
            // error naming what the buffers are sized by, with the allocator's numbers.
            throw OffloadException.invalid("the " + kind + " workload's device buffers for " + tokens + " token(s)"
                    + (kind.equalsIgnoreCase("mix") ? " of hidden size " + hidden : "") + " do not fit the device budget (" + e.getMessage()
                    + "): give a larger budget or fewer tokens");
        }
    }

    private static Workload make(String kind, Offloader offloader, Checkpoint checkpoint, int tokens, int hidden, int steps, boolean verify) {
        return switch (kind.toLowerCase(Locale.ROOT)) {
            case "mix" -> new ReferenceWorkload(offloader, tokens, hidden, verify ? steps : 0);
            case "linear" -> {
                if (checkpoint == null) throw OffloadException.invalid("the linear workload needs the checkpoint to size itself");
                yield new LinearWorkload(offloader, tokens, LinearShape.of(checkpoint), verify ? steps : 0);
            }
            case "none" -> new NoWorkload();
            default -> throw OffloadException.invalid("unknown workload '" + kind + "': expected mix, linear or none");
        };
    }

    /** Streams weights with no compute at all: the copy-only figure. Nothing to verify. */
    final class NoWorkload implements Workload {
        @Override public String name() { return "none"; }
        @Override public void start(List<TensorRef> order) {}
        @Override public void group(Group group) {}
        @Override public void snapshot(int step) {}
        @Override public String verify(int steps, List<TensorRef> order, Expected expected) { return null; }
        @Override public void close() {}
    }
}
