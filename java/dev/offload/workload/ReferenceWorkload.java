package dev.offload.workload;

import dev.offload.DeviceTensor;
import dev.offload.Group;
import dev.offload.OffloadException;
import dev.offload.Offloader;
import dev.offload.Step;
import dev.offload.graph.TensorRef;
import dev.offload.runtime.DeviceBuffer;
import dev.offload.runtime.PinnedBuffer;
import dev.offload.runtime.Stream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;

/**
 * The mix workload: a transformer-like stack run through the public API. Its state is
 * {@code tokens x hidden} uint32 words; each tensor of each group, in execution order, is one layer
 * ({@link ReferenceMix}) applied on the compute stream, so the output depends on every byte of every
 * weight and a stale or wrong slot changes it. Compute per group grows with {@code tokens}, which
 * sweeps the compute/copy ratio. Integer arithmetic: every backend agrees with the Java reference
 * bit for bit. Device-to-host copies land in pinned memory, so reading back never makes the
 * calling thread wait for the stream on cuda.
 */
public final class ReferenceWorkload implements Workload {
    public static final int DEFAULT_HIDDEN = 256;
    private final Offloader offloader;
    private final int tokens;
    private final int hidden;
    private final DeviceBuffer state;
    private final DeviceBuffer scratch;
    private final PinnedBuffer host;       // the initial state, then the final read
    private final PinnedBuffer snapshots;  // one state per verified step
    private final MixKernels kernels;
    private final Stream compute;  // its device's compute stream
    private final String device;   // the device its steps name (several devices), else null
    private int[] initial;

    /**
     * Allocates the state on the device (do this before registering components so the plan sees it)
     * and room for {@code snapshotSteps} snapshots in pinned memory.
     */
    public ReferenceWorkload(Offloader offloader, int tokens, int hidden, int snapshotSteps) {
        this(offloader, null, tokens, hidden, snapshotSteps);
    }

    /**
     * On one device of several ({@code OffloadConfig.devices}): its state lives on {@code device}, its
     * layers run on that device's compute stream, and its steps name that device (a replicated
     * component's replica there). Null: the offloader's (first) device, steps naming none.
     */
    public ReferenceWorkload(Offloader offloader, String device, int tokens, int hidden, int snapshotSteps) {
        if (tokens < 1 || tokens > 65536 || hidden < 1 || hidden > 65536) {
            throw OffloadException.invalid("workload: tokens and hidden must be in 1..65536, got " + tokens + " and " + hidden);
        }
        this.offloader = offloader;
        this.tokens = tokens;
        this.hidden = hidden;
        this.device = device;
        this.compute = device == null ? offloader.computeStream() : offloader.computeStream(device);
        var runtime = device == null ? offloader.runtime() : offloader.runtime(device);
        long bytes = stateBytes();
        Allocations made = new Allocations();
        try {
            this.state = made.keep(runtime.allocateDevice(bytes));
            this.scratch = made.keep(runtime.allocateDevice(bytes));
            this.host = made.keep(runtime.allocatePinned(bytes));
            this.snapshots = made.keep(runtime.allocatePinned(bytes * Math.max(1, snapshotSteps)));
            this.kernels = new MixKernels(compute, state, scratch, tokens, hidden);
        } catch (RuntimeException e) {
            throw made.undo(e);
        }
    }

    public ReferenceWorkload(Offloader offloader, int tokens, int hidden) {
        this(offloader, tokens, hidden, 0);
    }

    @Override
    public String name() {
        return "mix";
    }

    public int tokens() {
        return tokens;
    }

    public int hidden() {
        return hidden;
    }

    private long stateBytes() {
        return 4L * tokens * hidden;
    }

    /** The state on the device (activations to hand to another device: runtime.PeerCopy). */
    public DeviceBuffer state() {
        return state;
    }

    /** Pinned host bytes the workload holds (its staging and snapshots). */
    public long pinnedBytes() {
        return host.byteSize() + snapshots.byteSize();
    }

    /** Device bytes the workload holds (state and scratch). */
    public static long deviceBytes(int tokens, int hidden) {
        return 2 * 4L * tokens * hidden;
    }

    /** A deterministic starting state. */
    public static int[] initialState(int tokens, int hidden, long seed) {
        int[] s = new int[tokens * hidden];
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        for (int i = 0; i < s.length; i++) s[i] = random.nextInt();
        return s;
    }

    @Override
    public void start(List<TensorRef> order) {
        initial = initialState(tokens, hidden, 7);
        load(initial);
    }

    /** Copies a state to the device (queued on the compute stream; waits, since the buffer is reused). */
    public void load(int[] values) {
        if (values.length != tokens * hidden) throw OffloadException.invalid("workload: state must hold " + tokens * hidden + " words");
        MemorySegment.copy(values, 0, host.segment(), ValueLayout.JAVA_INT, 0, values.length);
        compute.copyToDevice(host.segment(), state, 0, stateBytes());
        compute.synchronize();
    }

    /** Queues one layer with this tensor's weights on the compute stream. */
    public void layer(DeviceTensor weights) {
        kernels.layer(weights);
    }

    @Override
    public void group(Group group) {
        List<DeviceTensor> tensors = group.tensors();
        for (int i = 0; i < tensors.size(); i++) kernels.layer(tensors.get(i));
    }

    /** Queues one step of a component (does not wait for the device); returns the step's index. */
    public long step(String component) {
        try (Step step = device == null ? offloader.step(component) : offloader.step(component, device)) {
            for (Group group : step) group(group);
            return step.index();
        }
    }

    @Override
    public void snapshot(int step) {
        long bytes = stateBytes();
        if ((step + 1) * bytes > snapshots.byteSize()) {
            throw OffloadException.invalid("workload: no room for a snapshot of step " + step + " (made for "
                    + snapshots.byteSize() / bytes + ")");
        }
        compute.copyToHost(state, 0, snapshots.segment().asSlice(step * bytes, bytes), bytes);
    }

    /** The snapshot of a step, once the compute stream has passed it. */
    public int[] snapshotOf(int step) {
        long bytes = stateBytes();
        return snapshots.segment().asSlice(step * bytes, bytes).toArray(ValueLayout.JAVA_INT);
    }

    /** Waits for the compute stream and reads the state back. */
    public int[] read() {
        compute.copyToHost(state, 0, host.segment(), stateBytes());
        compute.synchronize();
        return host.segment().toArray(ValueLayout.JAVA_INT);
    }

    @Override
    public String verify(int steps, List<TensorRef> order, Expected expected) {
        compute.synchronize();
        List<Object> cache = expected.statesFor("mix " + tokens + "x" + hidden + " " + order.size() + " @"
                + (order.isEmpty() ? 0 : order.get(0).data().address()));
        for (int s = 0; s < steps; s++) {
            while (cache.size() <= s) {
                int[] next = (cache.isEmpty() ? initial : (int[]) cache.get(cache.size() - 1)).clone();
                referenceStep(next, tokens, hidden, order);
                cache.add(next);
            }
            if (!Arrays.equals(snapshotOf(s), (int[]) cache.get(s))) return "mix: step " + s + " differs from the unoffloaded reference";
        }
        return null;
    }

    /** One step of the unoffloaded Java reference over tensors in execution order. */
    public static void referenceStep(int[] values, int tokens, int hidden, List<TensorRef> tensors) {
        for (TensorRef t : tensors) ReferenceMix.apply(values, tokens, hidden, t.data());
    }

    @Override
    public void close() {
        compute.synchronize();  // every launch has run before its arguments go
        kernels.close();
        state.close();
        scratch.close();
        host.close();
        snapshots.close();
    }
}
