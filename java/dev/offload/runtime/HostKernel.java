package dev.offload.runtime;

import java.lang.foreign.Arena;

/**
 * Java emulated device code run in stream order on the host backend: a {@link HostFunction} launched
 * as a host kernel ({@link Stream#launchHostKernel}), whose body gets {@link DeviceViews}, the only
 * way host code reaches device memory there (a device address itself faults: the strict host
 * backend, docs/ENGINE.md). Each run gets its own views, valid until that run's body returns (a view
 * kept longer throws IllegalStateException when used). Everything else (one stub made once, failures kept and rethrown by
 * {@link #check()}, close waiting for the streams it was launched on, runtime calls refused in the
 * body) is {@link HostFunction}'s. There are no host kernels on cuda: launching one is refused there
 * (NOT_SUPPORTED); a CUDA kernel on the stream's native handle does that work.
 */
public final class HostKernel implements AutoCloseable {
    /** The Java side of a host kernel: {@code views} grants access to device memory during this run of the body only. */
    @FunctionalInterface
    public interface Body {
        void run(long argument, DeviceViews views) throws Exception;
    }

    private final HostFunction function;

    public HostKernel(String name, Body body) {
        this.function = new HostFunction(name, argument -> {
            try (Arena run = Arena.ofConfined()) {  // the run's views: closed when the body returns (DeviceViews)
                body.run(argument, new DeviceViews(run));
            }
        }, true);
    }

    /** Queues this kernel with {@code argument} on the stream; allocates nothing. */
    public void launch(Stream stream, long argument) {
        function.launch(stream, argument);
    }

    /** Throws (as an OffloadException naming this kernel) the first failure of a run so far. */
    public void check() {
        function.check();
    }

    @Override
    public void close() {
        function.close();
    }
}
