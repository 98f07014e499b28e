package dev.offload.workload;

import dev.offload.DeviceTensor;
import dev.offload.Group;
import dev.offload.OffloadException;
import dev.offload.Offloader;
import dev.offload.Step;
import dev.offload.graph.TensorRef;
import dev.offload.runtime.DeviceBuffer;
import dev.offload.runtime.Kernels;
import dev.offload.runtime.Stream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * The reference workload: a transformer-like stack run through the public API. Its state is
 * {@code tokens x hidden} uint32 words; each tensor of each group, in execution order, is one layer
 * ({@link ReferenceMix}) applied on the compute stream, so the output depends on every byte of every
 * weight and a stale or wrong slot changes it. Compute per group grows with {@code tokens}, which
 * sweeps the compute/copy ratio. It is a user of the API, not part of it.
 */
public final class ReferenceWorkload implements AutoCloseable {
    public static final int DEFAULT_HIDDEN = 256;
    private final Offloader offloader;
    private final int tokens;
    private final int hidden;
    private final DeviceBuffer state;
    private final DeviceBuffer scratch;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment hostState;

    /** Allocates the state on the device; do this before registering components so the plan sees it. */
    public ReferenceWorkload(Offloader offloader, int tokens, int hidden) {
        if (tokens < 1 || tokens > 65536 || hidden < 1 || hidden > 65536) {
            throw OffloadException.invalid("workload: tokens and hidden must be in 1..65536, got " + tokens + " and " + hidden);
        }
        this.offloader = offloader;
        this.tokens = tokens;
        this.hidden = hidden;
        long bytes = 4L * tokens * hidden;
        this.state = offloader.runtime().allocateDevice(bytes);
        this.scratch = offloader.runtime().allocateDevice(bytes);
        this.hostState = arena.allocate(bytes, 64);
    }

    public int tokens() {
        return tokens;
    }

    public int hidden() {
        return hidden;
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

    /** Copies a state to the device (queued on the compute stream). */
    public void load(int[] values) {
        if (values.length != tokens * hidden) throw OffloadException.invalid("workload: state must hold " + tokens * hidden + " words");
        MemorySegment.copy(values, 0, hostState, ValueLayout.JAVA_INT, 0, values.length);
        Stream compute = offloader.computeStream();
        compute.copyToDevice(hostState, state, 0, hostState.byteSize());
        compute.synchronize();  // hostState is reused by read()
    }

    /** Queues one layer with this tensor's weights on the stream (a step's compute stream). */
    public void layer(Stream stream, DeviceTensor weights) {
        Kernels.referenceMix(stream, state, scratch, tokens, hidden, weights.devicePointer(), weights.byteSize());
    }

    /** Queues one step of a component (does not wait for the device); returns the step's index. */
    public long step(String component) {
        try (Step step = offloader.step(component)) {
            Stream compute = step.computeStream();
            for (Group group : step) {
                for (DeviceTensor t : group.tensors()) layer(compute, t);
            }
            return step.index();
        }
    }

    /**
     * Queues a copy of the state as it will be after the work queued so far into {@code target}
     * (native memory of {@code 4 * tokens * hidden} bytes) without waiting; read it after
     * {@link #read()} or a synchronize of the compute stream.
     */
    public void snapshot(MemorySegment target) {
        offloader.computeStream().copyToHost(state, 0, target, 4L * tokens * hidden);
    }

    /** Waits for the compute stream and reads the state back. */
    public int[] read() {
        Stream compute = offloader.computeStream();
        compute.copyToHost(state, 0, hostState, hostState.byteSize());
        compute.synchronize();
        return hostState.toArray(ValueLayout.JAVA_INT);
    }

    /** One step of the unoffloaded Java reference over tensors in execution order. */
    public static void referenceStep(int[] values, int tokens, int hidden, List<TensorRef> tensors) {
        for (TensorRef t : tensors) ReferenceMix.apply(values, tokens, hidden, t.data());
    }

    @Override
    public void close() {
        state.close();
        scratch.close();
        arena.close();
    }
}
