package dev.offload.workload;

import dev.offload.DeviceTensor;
import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.runtime.WorkloadLibrary;
import dev.offload.runtime.DeviceBuffer;
import dev.offload.runtime.Stream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The mix workload's kernel (native/workload/offload_workload.h), bound by hand: a user of the C
 * API, as a Java inference engine with its own kernels would be. On the host backend a layer is
 * the library's host kernel queued with {@link Stream#launchHostKernel} (it views the device memory
 * it reads and writes, as the strict host backend requires); its argument block must
 * live until it runs, so there is one block per device tensor, made the first time and reused
 * (device tensors are stable per device place). On cuda a layer is a kernel launch on the stream's
 * cudaStream_t, whose arguments are copied at launch, so one block serves every launch.
 */
final class MixKernels implements AutoCloseable {
    private static final long ARGS_BYTES = 40;  // oflw_mix_args: 3 pointers, 2 uint32, 1 uint64
    private static volatile Bound bound;

    private record Bound(MemorySegment hostFn, MethodHandle mixCuda, MethodHandle loadKernels, MethodHandle errorName, boolean hasCuda) {}

    private final Arena arena = Arena.ofShared();
    private final Stream stream;
    private final MemorySegment cudaStream;  // NULL on the host backend
    private final DeviceBuffer state;
    private final DeviceBuffer scratch;
    private final int tokens;
    private final int hidden;
    private final Map<DeviceTensor, MemorySegment> hostArgs = new IdentityHashMap<>();
    private final MemorySegment cudaArgs;

    MixKernels(Stream stream, DeviceBuffer state, DeviceBuffer scratch, int tokens, int hidden) {
        this.stream = stream;
        this.cudaStream = stream.nativeHandle();
        this.state = state;
        this.scratch = scratch;
        this.tokens = tokens;
        this.hidden = hidden;
        this.cudaArgs = arena.allocate(ARGS_BYTES, 8);
        Bound b = bind();
        if (!cudaStream.equals(MemorySegment.NULL)) {
            if (!b.hasCuda()) {
                throw new OffloadException(Status.BACKEND_UNAVAILABLE, "the mix workload's CUDA kernels are not compiled into "
                        + "liboffload_workload (it was built without nvcc)");
            }
            check(invokeInt(b.loadKernels()), "loading the mix kernels");
        }
    }

    private static Bound bind() {
        Bound b = bound;
        if (b != null) return b;
        synchronized (MixKernels.class) {
            if (bound == null) {
                WorkloadLibrary.load();
                SymbolLookup lookup = SymbolLookup.loaderLookup();
                Linker linker = Linker.nativeLinker();
                MethodHandle hasCuda = linker.downcallHandle(lookup.findOrThrow("oflw_has_cuda"), FunctionDescriptor.of(ValueLayout.JAVA_INT));
                boolean cuda;
                try {
                    cuda = (int) hasCuda.invokeExact() == 1;
                } catch (Throwable t) {
                    throw new OffloadException(Status.INTERNAL, "oflw_has_cuda failed: " + t, t);
                }
                bound = new Bound(lookup.findOrThrow("oflw_mix_host"),
                        linker.downcallHandle(lookup.findOrThrow("oflw_mix_cuda"),
                                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS)),
                        linker.downcallHandle(lookup.findOrThrow("oflw_load_kernels"), FunctionDescriptor.of(ValueLayout.JAVA_INT)),
                        linker.downcallHandle(lookup.findOrThrow("oflw_cuda_error_name"),
                                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT)),
                        cuda);
            }
            return bound;
        }
    }

    /** Queues one mix layer with these weights on the stream given at construction. */
    void layer(DeviceTensor weights) {
        if (cudaStream.equals(MemorySegment.NULL)) {
            MemorySegment args = hostArgs.get(weights);
            if (args == null) {
                args = arena.allocate(ARGS_BYTES, 8);
                fill(args, weights);
                hostArgs.put(weights, args);
            }
            stream.launchHostKernel(bound.hostFn(), args);
        } else {
            fill(cudaArgs, weights);
            int err;
            try {
                err = (int) bound.mixCuda().invokeExact(cudaStream, cudaArgs);
            } catch (Throwable t) {
                throw new OffloadException(Status.INTERNAL, "oflw_mix_cuda failed: " + t, t);
            }
            if (err != 0) check(err, "launching the mix kernel on " + stream);
        }
    }

    private void fill(MemorySegment args, DeviceTensor weights) {
        args.set(ValueLayout.ADDRESS, 0, state.devicePointer());
        args.set(ValueLayout.ADDRESS, 8, scratch.devicePointer());
        args.set(ValueLayout.JAVA_INT, 16, tokens);
        args.set(ValueLayout.JAVA_INT, 20, hidden);
        args.set(ValueLayout.ADDRESS, 24, weights.devicePointer());
        args.set(ValueLayout.JAVA_LONG, 32, weights.byteSize());
    }

    private static int invokeInt(MethodHandle h) {
        try {
            return (int) h.invokeExact();
        } catch (Throwable t) {
            throw new OffloadException(Status.INTERNAL, "liboffload_workload call failed: " + t, t);
        }
    }

    private static void check(int err, String what) {
        if (err == 0) return;
        String name;
        try {
            name = ((MemorySegment) bound.errorName().invokeExact(err)).reinterpret(256).getString(0);
        } catch (Throwable t) {
            name = "CUDA error " + err;
        }
        throw new OffloadException(Status.DEVICE, what + ": " + name);
    }

    /** Frees the argument blocks; the stream must have run every launch (synchronize it first). */
    @Override
    public void close() {
        arena.close();
    }
}
