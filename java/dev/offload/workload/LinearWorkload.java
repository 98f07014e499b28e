package dev.offload.workload;

import dev.offload.DeviceTensor;
import dev.offload.Group;
import dev.offload.OffloadException;
import dev.offload.Offloader;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.TensorInfo;
import dev.offload.graph.TensorRef;
import dev.offload.runtime.DeviceBuffer;
import dev.offload.runtime.DeviceViews;
import dev.offload.runtime.HostKernel;
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
 * The linear workload: real bf16 matrix products over a Llama-family checkpoint (Llama, Mistral,
 * Qwen2 names and shapes; sizes from its config.json, {@link LinearShape}), through the public API
 * as a Java inference engine would run them. State ({@link LinearMath}): the residual stream x
 * [tokens, hidden], the normed input n, the final norm's output f, the attention accumulator a [tokens, heads x head_dim], the
 * key/value accumulator c [tokens, kv heads x head_dim] (grouped-query models only), the MLP's g and
 * m [tokens, intermediate], the logits l [tokens, vocab] and the token ids, each only where the
 * model has the tensors that use it; all allocated from the offloader's runtime before the
 * component is registered, so they count against the budget. Each tensor of each group is one
 * {@link LinearMath#op}, so every grouping (block level or leaf level) computes the same function.
 *
 * <p>cuda: products are one cublasGemmEx each on the compute stream's cudaStream_t ({@link Cublas});
 * RMSNorm, bias and key/value expansion, SiLU and the embedding lookup are small kernels of
 * liboffload_workload ({@link LinearKernels}); resets are fills. Host backend: one
 * {@link HostKernel} launch per tensor whose long argument indexes a table of (role, weight)
 * records, made when a Group view is first seen (device places are stable); the kernel views the
 * state and its weight (DeviceViews) again at every run, since a view lives only as long as the run
 * that took it (a few small objects per run on the stream's thread; the queueing thread's steady
 * state allocates nothing). The table is appended to under its lock; the kernel reads it there.
 *
 * <p>Verification: every step's x (and logits, where the model has lm_head), copied to pinned
 * memory in stream order, against the Java reference in double with the same bf16 roundings;
 * element-wise |got - ref| <= 2^-6 sqrt(R) max(|ref|, rms(ref)), R = the roundings of x so far (two
 * per block, one more for the embeddings, per step; the logits one more). A different summation
 * order flips a rounding now and then; each flip perturbs every element of the next block a little,
 * so flips spread and the difference random-walks like R independent roundings (sd 2^-8 sqrt(R / 3)
 * relative): the bound is about 7 sd. RMSNorm divides by the row's own rms, so it does not amplify.
 */
public final class LinearWorkload implements Workload {
    /** Per-element tolerance relative to max(|ref|, rms(ref)), times sqrt(roundings of x so far) (LinearTolerance). */
    public static final double TOLERANCE = LinearTolerance.TOLERANCE;
    private final Offloader offloader;
    private final int tokens;
    private final LinearShape shape;
    private final DeviceBuffer x, n, f, a, c, g, m, l, ids;
    private final PinnedBuffer host, snapshots;
    private final Stream stream;
    private final MemorySegment cudaStream;
    /** A group view's operations, per tensor: its weights (null: no role), and the host table index or, on cuda, the role. */
    private record Products(MemorySegment[] weights, int[] launch) {}

    private final Map<Group, Products> products = new IdentityHashMap<>();
    private final List<MemorySegment> table = new ArrayList<>();  // host: each record's weight (its device address and size)
    private final List<Integer> tableRoles = new ArrayList<>();   // host: the role of each record
    private final HostKernel hostFn;
    private final float[] row;
    private final int[] stateIds;  // host: the token ids the state starts from (null without embeddings)
    private final Arena arena = Arena.ofShared();
    private final Cublas cublas;
    private final LinearKernels kernels;
    private final MemorySegment handle, one, zero;
    private State initial;

    /** The old square layout of width {@code dim} ({@link LinearShape#square}). */
    public LinearWorkload(Offloader offloader, int tokens, int dim, int snapshotSteps) {
        this(offloader, tokens, LinearShape.square(dim), snapshotSteps);
    }

    public LinearWorkload(Offloader offloader, int tokens, LinearShape shape, int snapshotSteps) {
        if (tokens < 1 || tokens > 65536) throw OffloadException.invalid("linear workload: tokens must be in 1..65536, got " + tokens);
        this.offloader = offloader;
        this.tokens = tokens;
        this.shape = shape;
        this.stream = offloader.computeStream();
        this.cudaStream = stream.nativeHandle();
        boolean onHost = cudaStream.equals(MemorySegment.NULL);
        this.cublas = onHost ? null : Cublas.load();  // before allocating: a missing cuBLAS leaks nothing
        this.kernels = onHost ? null : LinearKernels.load();
        Allocations made = new Allocations();
        made.keep(arena);
        long t2 = 2L * tokens;
        try {
            this.x = made.keep(offloader.runtime().allocateDevice(t2 * shape.hidden()));
            this.n = shape.normed() ? made.keep(offloader.runtime().allocateDevice(t2 * shape.hidden())) : null;
            this.f = shape.finalNormed() ? made.keep(offloader.runtime().allocateDevice(t2 * shape.hidden())) : null;
            this.a = made.keep(offloader.runtime().allocateDevice(t2 * shape.qWidth()));
            this.c = shape.group() > 1 ? made.keep(offloader.runtime().allocateDevice(t2 * shape.kvWidth())) : null;
            this.g = shape.gated() ? made.keep(offloader.runtime().allocateDevice(t2 * shape.intermediate())) : null;
            this.m = made.keep(offloader.runtime().allocateDevice(t2 * shape.intermediate()));
            this.l = shape.hasLmHead() ? made.keep(offloader.runtime().allocateDevice(t2 * shape.vocab())) : null;
            this.ids = shape.embedded() ? made.keep(offloader.runtime().allocateDevice(4L * tokens)) : null;
            this.host = made.keep(offloader.runtime().allocatePinned(t2 * shape.hidden() + 4L * tokens));
            this.snapshots = made.keep(offloader.runtime().allocatePinned(snapshotBytes() * Math.max(1, snapshotSteps)));
        } catch (RuntimeException e) {
            throw made.undo(e);
        }
        this.one = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 1f);
        this.zero = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 0f);
        if (onHost) {
            row = new float[Math.max(shape.hidden(), Math.max(shape.qWidth(), shape.intermediate()))];
            stateIds = shape.embedded() ? initialIds(tokens, shape.vocab(), 11) : null;
            hostFn = new HostKernel("linear product", this::runOp);
            handle = null;
        } else {
            row = null;
            stateIds = null;
            hostFn = null;
            handle = cublas.createHandle(cudaStream);
        }
    }

    /** The model width: the in-features of the checkpoint's first q_proj weight. */
    public static int dimOf(Checkpoint checkpoint) {
        return LinearShape.of(checkpoint).hidden();
    }

    /** Device bytes the workload holds for the old square layout (x, s, u). */
    public static long deviceBytes(int tokens, int dim) {
        return deviceBytes(tokens, LinearShape.square(dim));
    }

    /** Device bytes the workload holds: each state buffer the model uses. */
    public static long deviceBytes(int tokens, LinearShape s) {
        long t2 = 2L * tokens;
        return t2 * s.hidden() * (1 + (s.normed() ? 1 : 0) + (s.finalNormed() ? 1 : 0)) + t2 * s.qWidth() + (s.group() > 1 ? t2 * s.kvWidth() : 0)
                + t2 * s.intermediate() * (s.gated() ? 2 : 1) + (s.hasLmHead() ? t2 * s.vocab() : 0) + (s.embedded() ? 4L * tokens : 0);
    }

    public LinearShape shape() {
        return shape;
    }

    @Override
    public String name() {
        return "linear";
    }

    private long xBytes() { return 2L * tokens * shape.hidden(); }

    private long logitBytes() { return shape.hasLmHead() ? 2L * tokens * shape.vocab() : 0; }

    private long snapshotBytes() { return xBytes() + logitBytes(); }

    private LinearMath.State stateViews(DeviceViews dv) {
        MemorySegment xs = dv.view(x), as = dv.view(a), ns = n != null ? dv.view(n) : xs;
        return new LinearMath.State(xs, ns, f != null ? dv.view(f) : ns, as, c != null ? dv.view(c) : as, g != null ? dv.view(g) : null,
                dv.view(m), l != null ? dv.view(l) : null, stateIds);
    }

    /** Seeded activations: uniform in [-1, 1), rounded to bf16. */
    public static short[] initialState(int tokens, int dim, long seed) {
        short[] v = new short[tokens * dim];
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < v.length; i++) v[i] = Bf16.fromFloat((float) random.nextDouble(-1, 1));
        return v;
    }

    /** Seeded token ids in [0, vocab). */
    static int[] initialIds(int tokens, int vocab, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] v = new int[tokens];
        for (int i = 0; i < tokens; i++) v[i] = random.nextInt(vocab);
        return v;
    }

    @Override
    public void start(List<TensorRef> order) {
        initial = initialReference(tokens, shape, 7);
        MemorySegment.copy(initial.x(), 0, host.segment(), ValueLayout.JAVA_SHORT, 0, initial.x().length);
        stream.copyToDevice(host.segment(), x, 0, xBytes());
        if (ids != null) {
            MemorySegment.copy(initial.ids(), 0, host.segment(), ValueLayout.JAVA_INT_UNALIGNED, xBytes(), tokens);
            stream.copyToDevice(host.segment().asSlice(xBytes(), 4L * tokens), ids, 0, 4L * tokens);
        }
        for (DeviceBuffer b : new DeviceBuffer[] {n, f, a, c, g, m, l}) if (b != null) stream.fill(b, 0, b.byteSize(), (byte) 0);
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
            if (hostFn != null) hostFn.launch(stream, launch[i]);
            else cudaOp(launch[i], w[i]);
        }
    }

    /** One operation on cuda: cuBLAS for products, liboffload_workload's kernels for the rest (LinearMath's table). */
    private void cudaOp(int role, MemorySegment w) {
        int d = shape.hidden(), q = shape.qWidth(), kv = shape.kvWidth(), in = shape.intermediate();
        DeviceBuffer normed = n != null ? n : x, last = f != null ? f : normed, keys = c != null ? c : a;
        switch (role) {
            case LinearMath.NORM -> kernels.rmsnorm(cudaStream, x.devicePointer(), w, n.devicePointer(), tokens, d, (float) shape.eps());
            case LinearMath.FINAL_NORM -> kernels.rmsnorm(cudaStream, x.devicePointer(), w, f.devicePointer(), tokens, d, (float) shape.eps());
            case LinearMath.Q -> gemm(w, normed, a, d, q, one);
            case LinearMath.K, LinearMath.V -> gemm(w, normed, keys, d, kv, one);
            case LinearMath.Q_BIAS -> kernels.expandAdd(cudaStream, a.devicePointer(), w, 0, tokens, q, 1, 1);
            case LinearMath.K_BIAS, LinearMath.V_BIAS -> kernels.expandAdd(cudaStream, keys.devicePointer(), w, 0, tokens, kv, 1, 1);
            case LinearMath.O -> {
                if (c != null) {
                    kernels.expandAdd(cudaStream, a.devicePointer(), c.devicePointer(), kv, tokens, shape.heads(), shape.group(), shape.headDim());
                    stream.fill(c, 0, c.byteSize(), (byte) 0);
                }
                gemm(w, a, x, q, d, one);
                stream.fill(a, 0, a.byteSize(), (byte) 0);
            }
            case LinearMath.GATE -> gemm(w, normed, g, d, in, zero);
            case LinearMath.UP -> gemm(w, normed, m, d, in, zero);
            case LinearMath.DOWN -> {
                if (g != null) {
                    kernels.siluMul(cudaStream, g.devicePointer(), m.devicePointer(), (long) tokens * in);
                    gemm(w, g, x, in, d, one);
                } else {
                    gemm(w, m, x, in, d, one);
                }
            }
            case LinearMath.EMBED -> kernels.embedAdd(cudaStream, x.devicePointer(), w, ids.devicePointer(), tokens, d);
            case LinearMath.LM_HEAD -> gemm(w, last, l, d, shape.vocab(), zero);
            default -> throw new IllegalStateException("role " + role);
        }
    }

    private void gemm(MemorySegment w, DeviceBuffer in, DeviceBuffer out, int inFeatures, int outFeatures, MemorySegment beta) {
        cublas.gemm(handle, tokens, inFeatures, outFeatures, w, in.devicePointer(), out.devicePointer(), one, beta);
    }

    private Products firstVisit(Group group) {
        List<DeviceTensor> tensors = group.tensors();
        LinearMath.blocks("group '" + group.name() + "'", tensors, DeviceTensor::name, DeviceTensor::dtype, DeviceTensor::shape, shape,
                false);  // dtype and shape of every role tensor
        MemorySegment[] w = new MemorySegment[tensors.size()];
        int[] launch = new int[tensors.size()];
        for (int i = 0; i < w.length; i++) {
            DeviceTensor t = tensors.get(i);
            int role = LinearMath.role(t.name());
            if (role < 0) continue;
            w[i] = hostFn != null ? t.devicePointer().reinterpret(t.byteSize()) : t.devicePointer();  // host: viewed by the kernel
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

    /** The host kernel's body, on the stream's thread: one tensor's operation, through this run's device views. */
    private void runOp(long index, DeviceViews dv) {
        int i = (int) index, role;
        MemorySegment weight;
        synchronized (table) {
            weight = table.get(i);
            role = tableRoles.get(i);
        }
        LinearMath.op(role, stateViews(dv), dv.view(weight, weight.byteSize()), shape, tokens, false, row);
    }

    @Override
    public void snapshot(int step) {
        long bytes = snapshotBytes();
        if ((step + 1) * bytes > snapshots.byteSize()) {
            throw OffloadException.invalid("linear workload: no room for a snapshot of step " + step);
        }
        stream.copyToHost(x, 0, snapshots.segment().asSlice(step * bytes, xBytes()), xBytes());
        if (l != null) stream.copyToHost(l, 0, snapshots.segment().asSlice(step * bytes + xBytes(), logitBytes()), logitBytes());
    }

    /** The snapshot of x after a step, once the compute stream has passed it. */
    public short[] snapshotOf(int step) {
        return snapshots.segment().asSlice(step * snapshotBytes(), xBytes()).toArray(ValueLayout.JAVA_SHORT);
    }

    /** The snapshot of the logits after a step (empty without lm_head). */
    public short[] logitsOf(int step) {
        return snapshots.segment().asSlice(step * snapshotBytes() + xBytes(), logitBytes()).toArray(ValueLayout.JAVA_SHORT);
    }

    /** Roundings of x per step: two per block (o_proj, down_proj), one more for the embeddings. */
    public static int roundsPerStep(List<TensorRef> order, LinearShape shape) {
        return 2 * LinearMath.blocks("the checkpoint", order, TensorRef::name, TensorRef::dtype, TensorRef::shape, shape, true).size()
                + (shape.embedded() ? 1 : 0);
    }

    @Override
    public String verify(int steps, List<TensorRef> order, Expected expected) {
        stream.synchronize();
        if (hostFn != null) hostFn.check();
        int rounds = roundsPerStep(order, shape);
        List<Object> cache = expected.statesFor("linear " + tokens + " " + shape + " " + order.size() + " @"
                + (order.isEmpty() ? 0 : order.get(0).data().address()));
        for (int step = 0; step < steps; step++) {
            while (cache.size() <= step) {
                State next = cache.isEmpty() ? initial.copy() : ((State) cache.get(cache.size() - 1)).copy();
                referenceStep(next, tokens, shape, order);
                cache.add(next);
            }
            State ref = (State) cache.get(step);
            String diff = LinearTolerance.compare(snapshotOf(step), ref.x(), rounds * (step + 1));
            if (diff != null) return "linear: step " + step + ": " + diff;
            if (l != null) {
                diff = LinearTolerance.compare(logitsOf(step), ref.l(), rounds * (step + 1) + 1);
                if (diff != null) return "linear: step " + step + ": logits: " + diff;
            }
        }
        return null;
    }

    /** The reference's state (bf16 bits; null where the model has no use for a buffer) and the token ids. */
    public record State(short[] x, short[] n, short[] f, short[] a, short[] c, short[] g, short[] m, short[] l, int[] ids) {
        public State copy() {
            return new State(x.clone(), clone(n), clone(f), a.clone(), clone(c), clone(g), m.clone(), clone(l), ids == null ? null : ids.clone());
        }

        private static short[] clone(short[] v) {
            return v == null ? null : v.clone();
        }

        LinearMath.State segments() {
            MemorySegment xs = MemorySegment.ofArray(x), as = MemorySegment.ofArray(a), ns = n != null ? MemorySegment.ofArray(n) : xs;
            return new LinearMath.State(xs, ns, f != null ? MemorySegment.ofArray(f) : ns, as, c != null ? MemorySegment.ofArray(c) : as,
                    g != null ? MemorySegment.ofArray(g) : null, MemorySegment.ofArray(m), l != null ? MemorySegment.ofArray(l) : null, ids);
        }
    }

    /** The reference's starting state: {@link #initialState}, token ids from seed 11, the rest zero. */
    public static State initialReference(int tokens, LinearShape s, long seed) {
        int t = tokens;
        return new State(initialState(tokens, s.hidden(), seed), s.normed() ? new short[t * s.hidden()] : null,
                s.finalNormed() ? new short[t * s.hidden()] : null, new short[t * s.qWidth()],
                s.group() > 1 ? new short[t * s.kvWidth()] : null, s.gated() ? new short[t * s.intermediate()] : null,
                new short[t * s.intermediate()], s.hasLmHead() ? new short[t * s.vocab()] : null,
                s.embedded() ? initialIds(tokens, s.vocab(), 11) : null);
    }

    /** As above for the old square layout of width {@code dim}. */
    public static State initialReference(int tokens, int dim, long seed) {
        return initialReference(tokens, LinearShape.square(dim), seed);
    }

    /** One step of the unoffloaded reference (double accumulation, same roundings) over tensors in execution order. */
    public static void referenceStep(State state, int tokens, LinearShape shape, List<TensorRef> order) {
        LinearMath.State st = state.segments();
        float[] row = new float[Math.max(shape.hidden(), Math.max(shape.qWidth(), shape.intermediate()))];
        for (TensorRef t : order) {
            int role = LinearMath.role(t.name());
            if (role >= 0) LinearMath.op(role, st, t.data(), shape, tokens, true, row);
        }
    }

    /** As above for the old square layout of width {@code dim}. */
    public static void referenceStep(State state, int tokens, int dim, List<TensorRef> order) {
        referenceStep(state, tokens, LinearShape.square(dim), order);
    }

    @Override
    public void close() {
        stream.synchronize();  // every launch has run before its table, stub and buffers go
        try {
            if (hostFn != null) hostFn.close();
            if (handle != null) cublas.destroy(handle);
        } finally {
            for (AutoCloseable b : new AutoCloseable[] {x, n, f, a, c, g, m, l, ids, host, snapshots}) {
                if (b == null) continue;
                try {
                    b.close();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
            arena.close();
        }
    }
}
