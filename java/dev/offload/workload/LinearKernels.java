package dev.offload.workload;

import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.runtime.WorkloadLibrary;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The linear workload's elementwise kernels on cuda (native/workload/linear_cuda.cu, declared in
 * offload_workload.h), bound by hand as {@link MixKernels} binds the mix's. Every argument is a
 * scalar or a device pointer passed by value, so a launch allocates nothing. The matrix products
 * are not here: they are cuBLAS calls ({@link Cublas}). Used on cuda only; the host backend runs
 * {@link LinearMath}'s Java loops.
 */
final class LinearKernels {
    private static volatile LinearKernels bound;
    private final MethodHandle rmsnorm, expandAdd, siluMul, embedAdd, errorName;

    private LinearKernels(SymbolLookup lookup) {
        Linker linker = Linker.nativeLinker();
        ValueLayout.OfInt i = ValueLayout.JAVA_INT;
        ValueLayout.OfLong l = ValueLayout.JAVA_LONG;
        ValueLayout p = ValueLayout.ADDRESS;
        rmsnorm = linker.downcallHandle(lookup.findOrThrow("oflw_rmsnorm_bf16"), FunctionDescriptor.of(i, p, p, p, p, i, i, ValueLayout.JAVA_FLOAT));
        expandAdd = linker.downcallHandle(lookup.findOrThrow("oflw_expand_add_bf16"), FunctionDescriptor.of(i, p, p, p, l, i, i, i, i));
        siluMul = linker.downcallHandle(lookup.findOrThrow("oflw_silu_mul_bf16"), FunctionDescriptor.of(i, p, p, p, l));
        embedAdd = linker.downcallHandle(lookup.findOrThrow("oflw_embed_add_bf16"), FunctionDescriptor.of(i, p, p, p, p, i, i));
        errorName = linker.downcallHandle(lookup.findOrThrow("oflw_cuda_error_name"), FunctionDescriptor.of(p, i));
    }

    /** The kernels, bound once and loaded onto the current device; BACKEND_UNAVAILABLE when built without nvcc. */
    static LinearKernels load() {
        LinearKernels k = bound;
        if (k != null) return k;
        synchronized (LinearKernels.class) {
            if (bound == null) {
                WorkloadLibrary.load();
                SymbolLookup lookup = SymbolLookup.loaderLookup();
                MethodHandle load = Linker.nativeLinker().downcallHandle(lookup.findOrThrow("oflw_load_linear_kernels"),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT));
                LinearKernels made = new LinearKernels(lookup);
                int err;
                try {
                    err = (int) load.invokeExact();
                } catch (Throwable t) {
                    throw new OffloadException(Status.INTERNAL, "oflw_load_linear_kernels failed: " + t, t);
                }
                if (err == -1) {
                    throw new OffloadException(Status.BACKEND_UNAVAILABLE, "the linear workload's CUDA kernels are not compiled into "
                            + "liboffload_workload (it was built without nvcc)");
                }
                made.check(err, "loading the linear workload's kernels");
                bound = made;
            }
            return bound;
        }
    }

    void rmsnorm(MemorySegment stream, MemorySegment x, MemorySegment w, MemorySegment y, int tokens, int dim, float eps) {
        int err;
        try {
            err = (int) rmsnorm.invokeExact(stream, x, w, y, tokens, dim, eps);
        } catch (Throwable t) {
            throw new OffloadException(Status.INTERNAL, "oflw_rmsnorm_bf16 failed: " + t, t);
        }
        if (err != 0) check(err, "oflw_rmsnorm_bf16(" + tokens + " x " + dim + ")");
    }

    void expandAdd(MemorySegment stream, MemorySegment y, MemorySegment src, long srcStride, int tokens, int heads, int group, int headDim) {
        int err;
        try {
            err = (int) expandAdd.invokeExact(stream, y, src, srcStride, tokens, heads, group, headDim);
        } catch (Throwable t) {
            throw new OffloadException(Status.INTERNAL, "oflw_expand_add_bf16 failed: " + t, t);
        }
        if (err != 0) check(err, "oflw_expand_add_bf16(" + tokens + " x " + heads + " x " + headDim + ")");
    }

    void siluMul(MemorySegment stream, MemorySegment g, MemorySegment m, long count) {
        int err;
        try {
            err = (int) siluMul.invokeExact(stream, g, m, count);
        } catch (Throwable t) {
            throw new OffloadException(Status.INTERNAL, "oflw_silu_mul_bf16 failed: " + t, t);
        }
        if (err != 0) check(err, "oflw_silu_mul_bf16(" + count + ")");
    }

    void embedAdd(MemorySegment stream, MemorySegment x, MemorySegment table, MemorySegment ids, int tokens, int dim) {
        int err;
        try {
            err = (int) embedAdd.invokeExact(stream, x, table, ids, tokens, dim);
        } catch (Throwable t) {
            throw new OffloadException(Status.INTERNAL, "oflw_embed_add_bf16 failed: " + t, t);
        }
        if (err != 0) check(err, "oflw_embed_add_bf16(" + tokens + " x " + dim + ")");
    }

    private void check(int err, String what) {
        if (err == 0) return;
        String name;
        try {
            name = ((MemorySegment) errorName.invokeExact(err)).reinterpret(256).getString(0);
        } catch (Throwable t) {
            name = "CUDA error " + err;
        }
        throw new OffloadException(Status.DEVICE, what + ": " + name);
    }
}
