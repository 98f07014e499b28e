package dev.offload;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.Pipeline;
import dev.offload.graph.BlockGraph;
import dev.offload.runtime.DeviceInfo;
import dev.offload.runtime.DeviceRuntime;
import dev.offload.runtime.Stream;
import dev.offload.runtime.StreamKind;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The public face: opens a device, registers components (checkpoints, block graphs, or a
 * {@link Pipeline}'s components with {@link #registerAll}), and runs
 * steps that stream each component's groups through the device.
 *
 * <pre>{@code
 * try (Offloader off = Offloader.open(OffloadConfig.builder().deviceBudget(Size.gib(12)).build())) {
 *     off.register("transformer", checkpoint);
 *     try (Step s = off.step("transformer")) {
 *         for (Group g : s) { launch(s.computeStream(), g.tensor("attn.to_q.weight").devicePointer()); }
 *     }
 * }
 * }</pre>
 *
 * <p>One compute stream and one copy stream serve every component. Registering packs the
 * component's weights into pinned host memory (after which its checkpoint may be closed) and takes
 * its device region from the budget at once.
 */
public final class Offloader implements AutoCloseable {
    private final OffloadConfig config;
    private final DeviceRuntime runtime;
    private final Stream compute;
    private final Stream copy;
    private final Map<String, Component> components = new LinkedHashMap<>();
    private volatile boolean closed;
    /** The timeline, when the config asks for a trace (components record into it). */
    final dev.offload.metrics.Trace trace;

    private Offloader(OffloadConfig config, DeviceRuntime runtime, Stream compute, Stream copy) {
        this.config = config;
        this.runtime = runtime;
        this.compute = compute;
        this.copy = copy;
        this.trace = config.trace() ? new dev.offload.metrics.Trace() : null;
    }

    public static Offloader open(OffloadConfig config) {
        DeviceRuntime runtime = DeviceRuntime.open(config.device(), config.deviceBudget());
        Stream compute = null;
        try {
            compute = runtime.createStream(StreamKind.COMPUTE);
            Stream copy = runtime.createStream(StreamKind.COPY);
            return new Offloader(config, runtime, compute, copy);
        } catch (RuntimeException e) {
            if (compute != null) compute.close();
            runtime.close();
            throw e;
        }
    }

    public OffloadConfig config() {
        return config;
    }

    /**
     * Discovers the checkpoint's block graph (BlockDiscovery's rules) and registers it. A checkpoint
     * with no tensors is refused, naming it.
     */
    public synchronized Component register(String name, Checkpoint checkpoint) {
        ensureOpen();
        if (checkpoint.tensors().isEmpty()) {
            throw OffloadException.invalid(checkpoint.name() + ": no tensors, nothing to stream (component '" + name + "')");
        }
        return register(name, BlockGraph.discover(checkpoint));
    }

    /**
     * Registers each component of a pipeline under its own name ("transformer", "vae", a bundle's
     * "diffusion_model", ...), in the pipeline's order; returns them by name. Components registered
     * before a failing one stay registered.
     */
    public synchronized Map<String, Component> registerAll(Pipeline pipeline) {
        ensureOpen();
        Map<String, Component> out = new LinkedHashMap<>();
        pipeline.components().forEach((name, checkpoint) -> out.put(name, register(name, checkpoint)));
        return java.util.Collections.unmodifiableMap(out);
    }

    public synchronized Component register(String name, BlockGraph graph) {
        ensureOpen();
        if (name == null || name.isBlank()) throw OffloadException.invalid("component name is empty");
        if (components.containsKey(name)) throw OffloadException.invalid("component '" + name + "' is registered already");
        DeviceInfo info = runtime.info();
        Component c = Component.create(this, name, graph, info.budgetBytes(), info.usedBytes());
        components.put(name, c);
        return c;
    }

    public synchronized Component component(String name) {
        ensureOpen();
        Component c = components.get(name);
        if (c == null) {
            throw OffloadException.invalid("no component named '" + name + "'; registered: " + new ArrayList<>(components.keySet()));
        }
        return c;
    }

    /** Starts a step of a component: iterate it for its groups in execution order, then close it. */
    public Step step(String name) {
        if (closed) throw new OffloadException(Status.CLOSED, "offloader is closed: no step of component '" + name + "'");
        return component(name).step();
    }

    public List<Component> components() {
        synchronized (this) {
            return List.copyOf(components.values());
        }
    }

    /**
     * The timeline of every component's steps (config {@code trace(true)}): host steps, copies and
     * compute per group, back-pressure marks. Reads the figures of closed steps not yet read
     * (waiting for the device where needed), so it is complete up to the last closed step.
     * {@link dev.offload.metrics.Trace#writeChromeJson} writes it for Perfetto.
     */
    public dev.offload.metrics.Trace trace() {
        ensureOpen();
        if (trace == null) throw OffloadException.invalid("this offloader was opened without a trace: OffloadConfig.builder().trace(true)");
        for (Component c : components()) c.flushTrace();
        return trace;
    }

    /** The stream to launch compute on; the same for every step and component. */
    public Stream computeStream() {
        ensureOpen();
        return compute;
    }

    Stream copyStream() {
        return copy;
    }

    /** The runtime, for a workload's own buffers (they count against the same budget). */
    public DeviceRuntime runtime() {
        ensureOpen();
        return runtime;
    }

    public DeviceInfo deviceInfo() {
        ensureOpen();
        return runtime.info();
    }

    void ensureOpen() {
        if (closed) throw new OffloadException(Status.CLOSED, "offloader is closed");
    }

    /**
     * Closes every component, then the streams and the device. Idempotent. A step in flight on
     * another thread is not interrupted mid-call: each component waits for its engine call in
     * flight to return, and the step's next call fails with CLOSED naming the component.
     */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        RuntimeException first = null;
        for (Component c : components.values()) {
            try {
                c.close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        compute.close();
        copy.close();
        runtime.close();
        if (first != null) throw first;
    }
}
