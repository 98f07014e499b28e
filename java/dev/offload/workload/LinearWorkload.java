package dev.offload.workload;

import dev.offload.DeviceTensor;
import dev.offload.Group;
import dev.offload.OffloadException;
import dev.offload.Offloader;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.TensorInfo;
import dev.offload.graph.TensorRef;
import dev.offload.runtime.DeviceBuffer;
import dev.offload.runtime.HostFunction;
import dev.offload.runtime.PinnedBuffer;
import dev.offload.runtime.Stream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The linear workload: real bf16 matrix products over a Llama-shaped checkpoint ({@link LinearModel}),
 * through the public API as a Java inference engine would run them. State: activations x [tokens, dim]
 * bf16 on the device, with scratch s [tokens, dim] and u [tokens, 4 dim] (all three allocated from the
 * offloader's runtime before the component is registered, so they count against the budget). Each
 * tensor of each group is one {@link LinearMath#op} product.
 *
 * <p>Each weight is used by exactly one product ({@link LinearMath#op}), so the workload runs one
 * product per tensor, in execution order, and every grouping (block level or leaf level) computes the
 * same function. cuda: one cublasGemmEx per tensor (and a fill of s after o) on the compute stream's cudaStream_t ({@link Cublas}),
 * reading the weights at their DeviceTensor pointers. Host backend: one {@link HostFunction} launch
 * per tensor whose long argument indexes a table of (role, weight segment) records, made the first
 * time a Group view is seen and reused (views are stable per device place), so the steady state
 * allocates nothing. The table is only appended to, under its lock; the stream thread reads it there.
 *
 * <p>Verification: every step's x (copied to pinned memory in stream order) against the Java
 * reference in double with the same bf16 roundings; element-wise
 * |got - ref| <= 2^-6 sqrt(R) max(|ref|, rms(ref)), R = 2 x blocks x (step + 1) the roundings of x
 * so far. A different summation order flips a rounding now and then; each flip perturbs every
 * element of the next block a little, so flips spread and the difference random-walks like R
 * independent roundings (sd 2^-8 sqrt(R / 3) relative): the bound is about 7 sd.
 */
public final class LinearWorkload implements Workload {
    /** Per-element tolerance relative to max(|ref|, rms(ref)), times sqrt(roundings of x so far). */
    public static final double TOLERANCE = 1.0 / 64;
    private final Offloader offloader;
    private final int tokens;
    private final int dim;
    private final DeviceBuffer x, s, u;
    private final PinnedBuffer host, snapshots;
    private final Stream stream;
    private final MemorySegment cudaStream;
    /** A group view's products, per tensor: its weights (null: no role), and the host table index or, on cuda, the role. */
    private record Products(MemorySegment[] weights, int[] launch) {}

    private final Map<Group, Products> products = new IdentityHashMap<>();
    private final List<MemorySegment> table = new ArrayList<>();  // host: the weight of each record
    private final List<Integer> tableRoles = new ArrayList<>();   // host: the role of each record
    private final HostFunction hostFn;
    private final float[] row;
    private final MemorySegment xs, ss, us;
    private final Arena arena = Arena.ofShared();
    private final Cublas cublas;
    private final MemorySegment handle, one, zero;
    private short[] initial;

    public LinearWorkload(Offloader offloader, int tokens, int dim, int snapshotSteps) {
        if (tokens < 1 || tokens > 65536 || dim < 1 || dim > 65536) {
            throw OffloadException.invalid("linear workload: tokens and dim must be in 1..65536, got " + tokens + " and " + dim);
        }
        this.offloader = offloader;
        this.tokens = tokens;
        this.dim = dim;
        this.stream = offloader.computeStream();
        this.cudaStream = stream.nativeHandle();
        boolean onHost = cudaStream.equals(MemorySegment.NULL);
        this.cublas = onHost ? null : Cublas.load();  // before allocating: a missing cuBLAS leaks nothing
        Allocations made = new Allocations();
        made.keep(arena);
        try {
            this.x = made.keep(offloader.runtime().allocateDevice(stateBytes()));
            this.s = made.keep(offloader.runtime().allocateDevice(stateBytes()));
            this.u = made.keep(offloader.runtime().allocateDevice(4 * stateBytes()));
            this.host = made.keep(offloader.runtime().allocatePinned(stateBytes()));
            this.snapshots = made.keep(offloader.runtime().allocatePinned(stateBytes() * Math.max(1, snapshotSteps)));
        } catch (RuntimeException e) {
            throw made.undo(e);
        }
        this.one = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 1f);
        this.zero = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 0f);
        if (onHost) {
            xs = hostView(x.devicePointer(), x.byteSize());
            ss = hostView(s.devicePointer(), s.byteSize());
            us = hostView(u.devicePointer(), u.byteSize());
            row = new float[4 * dim];
            hostFn = new HostFunction("linear product", this::runOp);
            handle = null;
        } else {
            xs = ss = us = null;
            row = null;
            hostFn = null;
            handle = cublas.createHandle(cudaStream);
        }
    }

    /** The model width: the in-features of the checkpoint's first q_proj weight. */
    public static int dimOf(Checkpoint checkpoint) {
        for (TensorInfo t : checkpoint.tensors()) {
            if (t.name().endsWith(LinearModel.ROLES.get(0))) {
                long[] shape = t.shape();
                if (shape.length != 2 || shape[0] != shape[1] || shape[1] > 65536) {
                    throw OffloadException.invalid("linear workload: " + t.name() + " has shape " + java.util.Arrays.toString(shape)
                            + ", expected [dim, dim]");
                }
                return (int) shape[1];
            }
        }
        throw OffloadException.invalid("linear workload: " + checkpoint.name() + " has no *." + LinearModel.ROLES.get(0)
                + " tensor (write one with `offload synth PATH --workload linear`)");
    }

    /** Device bytes the workload holds (x, s, u). */
    public static long deviceBytes(int tokens, int dim) {
        return 12L * tokens * dim;
    }

    @Override
    public String name() {
        return "linear";
    }

    private long stateBytes() {
        return 2L * tokens * dim;
    }

    private static MemorySegment hostView(MemorySegment pointer, long bytes) {
        return MemorySegment.ofAddress(pointer.address()).reinterpret(bytes);
    }

    /** Seeded activations: uniform in [-1, 1), rounded to bf16. */
    public static short[] initialState(int tokens, int dim, long seed) {
        short[] v = new short[tokens * dim];
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < v.length; i++) v[i] = Bf16.fromFloat((float) random.nextDouble(-1, 1));
        return v;
    }

    @Override
    public void start(List<TensorRef> order) {
        initial = initialState(tokens, dim, 7);
        MemorySegment.copy(initial, 0, host.segment(), ValueLayout.JAVA_SHORT, 0, initial.length);
        stream.copyToDevice(host.segment(), x, 0, stateBytes());
        stream.fill(s, 0, s.byteSize(), (byte) 0);
        stream.fill(u, 0, u.byteSize(), (byte) 0);
        stream.synchronize();
    }

    @Override
    public void group(Group group) {
        Products p = products.get(group);
        if (p == null) p = firstVisit(group);
        MemorySegment[] w = p.weights();
        int[] launch = p.launch();
        for (int i = 0; i < w.length; i++) {
            if (w[i] == null) continue;
            if (hostFn != null) {
                hostFn.launch(stream, launch[i]);
            } else {
                switch (launch[i]) {
                    case 0, 1, 2 -> gemm(w[i], x, s, dim, dim, one);
                    case 3 -> {
                        gemm(w[i], s, x, dim, dim, one);
                        stream.fill(s, 0, s.byteSize(), (byte) 0);
                    }
                    case 4 -> gemm(w[i], x, u, dim, 4 * dim, zero);
                    default -> gemm(w[i], u, x, 4 * dim, dim, one);
                }
            }
        }
    }

    private void gemm(MemorySegment w, DeviceBuffer in, DeviceBuffer out, int inFeatures, int outFeatures, MemorySegment beta) {
        cublas.gemm(handle, tokens, inFeatures, outFeatures, w, in.devicePointer(), out.devicePointer(), one, beta);
    }

    private Products firstVisit(Group group) {
        List<DeviceTensor> tensors = group.tensors();
        LinearMath.blocks("group '" + group.name() + "'", tensors, DeviceTensor::name, DeviceTensor::dtype, DeviceTensor::shape, dim,
                false);  // dtype and shape of every role tensor
        MemorySegment[] w = new MemorySegment[tensors.size()];
        int[] launch = new int[tensors.size()];
        for (int i = 0; i < w.length; i++) {
            DeviceTensor t = tensors.get(i);
            int role = LinearMath.role(t.name());
            if (role < 0) continue;
            w[i] = hostFn != null ? hostView(t.devicePointer(), t.byteSize()) : t.devicePointer();
            if (hostFn != null) {
                synchronized (table) {
                    launch[i] = table.size();
                    table.add(w[i]);
                    tableRoles.add(role);
                }
            } else {
                launch[i] = role;
            }
        }
        Products p = new Products(w, launch);
        products.put(group, p);
        return p;
    }

    /** The host function's body, on the stream's thread: one tensor's product. */
    private void runOp(long index) {
        MemorySegment w;
        int role;
        synchronized (table) {
            w = table.get((int) index);
            role = tableRoles.get((int) index);
        }
        LinearMath.op(role, xs, ss, us, w, tokens, dim, false, row);
    }

    @Override
    public void snapshot(int step) {
        long bytes = stateBytes();
        if ((step + 1) * bytes > snapshots.byteSize()) {
            throw OffloadException.invalid("linear workload: no room for a snapshot of step " + step);
        }
        stream.copyToHost(x, 0, snapshots.segment().asSlice(step * bytes, bytes), bytes);
    }

    /** The snapshot of a step, once the compute stream has passed it. */
    public short[] snapshotOf(int step) {
        long bytes = stateBytes();
        return snapshots.segment().asSlice(step * bytes, bytes).toArray(ValueLayout.JAVA_SHORT);
    }

    @Override
    public String verify(int steps, List<TensorRef> order, Expected expected) {
        stream.synchronize();
        if (hostFn != null) hostFn.check();
        int rounds = 2 * LinearMath.blocks("the checkpoint", order, TensorRef::name, TensorRef::dtype, TensorRef::shape, dim).size();
        List<Object> cache = expected.statesFor("linear " + tokens + "x" + dim + " " + order.size() + " @"
                + (order.isEmpty() ? 0 : order.get(0).data().address()));
        for (int step = 0; step < steps; step++) {
            while (cache.size() <= step) {
                State next = cache.isEmpty() ? new State(initial.clone(), tokens, dim) : ((State) cache.get(cache.size() - 1)).copy();
                referenceStep(next, tokens, dim, order);
                cache.add(next);
            }
            String diff = compare(snapshotOf(step), ((State) cache.get(step)).x(), rounds * (step + 1));
            if (diff != null) return "linear: step " + step + ": " + diff;
        }
        return null;
    }

    /** The reference's state: x and the carried s and u (bf16 bits). */
    public record State(short[] x, short[] s, short[] u) {
        public State(short[] x, int tokens, int dim) {
            this(x, new short[tokens * dim], new short[4 * tokens * dim]);
        }

        public State copy() {
            return new State(x.clone(), s.clone(), u.clone());
        }
    }

    /** The reference's starting state: {@link #initialState} and zero s and u. */
    public static State initialReference(int tokens, int dim, long seed) {
        return new State(initialState(tokens, dim, seed), tokens, dim);
    }

    /** Null when every element is within tolerance of the reference after {@code rounds} roundings of x, else the worst one. */
    public static String compare(short[] got, short[] ref, int rounds) {
        double rms = rms(ref) * Math.sqrt(rounds);
        int worst = worst(got, ref, rms, rounds);
        if (error(got, ref, worst, rms, rounds) <= 1) return null;
        return "element " + worst + " is " + Bf16.toFloat(got[worst]) + ", the reference " + Bf16.toFloat(ref[worst])
                + " (tolerance 2^-6 * sqrt(" + rounds + ") * max(|ref|, rms " + (float) rms(ref) + "))";
    }

    /** The largest error in units of the tolerance (at most 1 passes). */
    public static double worstError(short[] got, short[] ref, int rounds) {
        double rms = rms(ref) * Math.sqrt(rounds);
        return error(got, ref, worst(got, ref, rms, rounds), rms, rounds);
    }

    private static double rms(short[] v) {
        double sq = 0;
        for (short r : v) sq += (double) Bf16.toFloat(r) * Bf16.toFloat(r);
        return Math.sqrt(sq / v.length);
    }

    /** |got - ref| over the tolerance; {@code rms} comes already scaled by sqrt(rounds). */
    private static double error(short[] got, short[] ref, int i, double rms, int rounds) {
        double r = Bf16.toFloat(ref[i]);
        double e = Math.abs(Bf16.toFloat(got[i]) - r) / (TOLERANCE * Math.max(Math.abs(r) * Math.sqrt(rounds), rms));
        return Double.isNaN(e) ? Double.POSITIVE_INFINITY : e;
    }

    private static int worst(short[] got, short[] ref, double rms, int rounds) {
        int worst = 0;
        for (int i = 1; i < ref.length; i++) if (error(got, ref, i, rms, rounds) > error(got, ref, worst, rms, rounds)) worst = i;
        return worst;
    }

    /** One step of the unoffloaded reference (double accumulation, same roundings) over tensors in execution order. */
    public static void referenceStep(State state, int tokens, int dim, List<TensorRef> order) {
        MemorySegment x = MemorySegment.ofArray(state.x());
        MemorySegment s = MemorySegment.ofArray(state.s());
        MemorySegment u = MemorySegment.ofArray(state.u());
        float[] row = new float[4 * dim];
        for (TensorRef t : order) {
            int role = LinearMath.role(t.name());
            if (role >= 0) LinearMath.op(role, x, s, u, t.data(), tokens, dim, true, row);
        }
    }

    @Override
    public void close() {
        stream.synchronize();  // every launch has run before its table, stub and buffers go
        try {
            if (hostFn != null) hostFn.close();
            if (handle != null) cublas.destroy(handle);
        } finally {
            x.close();
            s.close();
            u.close();
            host.close();
            snapshots.close();
            arena.close();
        }
    }
}
