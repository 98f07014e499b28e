package dev.offload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.graph.BlockGraph;
import dev.offload.runtime.DeviceBuffer;
import dev.offload.runtime.Event;
import dev.offload.runtime.HostFunction;
import dev.offload.runtime.Stream;
import dev.offload.runtime.StreamKind;
import dev.offload.workload.SyntheticModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * CUDA forbids runtime calls from a host function; here a body that calls the offloader, a
 * component, a step, a stream, an event, the runtime or a host function's close gets an
 * OffloadException naming the rule, before the call could wait for the stream running the body
 * (each of these hung the stream, or the process, before). Each refusal is caught inside the body
 * and checked from the main thread once the stream is through; nothing hangs, and the offloader
 * works on afterwards.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostFunctionCallsTest {
    Path dir;
    Checkpoint model;

    @BeforeAll
    void writeModel() throws java.io.IOException {
        dir = Files.createTempDirectory("offload-hostfn-");
        Path file = dir.resolve("model.safetensors");
        SyntheticModel.write(file, 32, 2, 2, 3);
        model = Checkpoint.open(file);
    }

    @AfterAll
    void cleanUp() throws java.io.IOException {
        model.close();
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"host", "cuda"})
    void runtimeCallsFromAHostFunctionAreRefusedNamingTheRuleAndNothingHangs(String device) {
        if (device.equals("cuda")) {
            String why = TestBackends.cudaUnavailableBecause();
            assumeTrue(why == null, why);
        }
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            try (Offloader off = Offloader.open(OffloadConfig.builder().device(device).strategy(Strategy.GROUP_OFFLOAD).h2dGbps(5).build());
                 Stream other = off.runtime().createStream(StreamKind.COMPUTE);
                 Event event = off.runtime().createEvent(false);
                 DeviceBuffer buffer = off.runtime().allocateDevice(256);
                 HostFunction neighbour = new HostFunction("neighbour", arg -> {})) {
                Component m = off.register("m", model);
                Step closed;
                try (Step s = off.step("m")) {
                    for (Group g : s) assertTrue(g.tensors().get(0).devicePointer().address() != 0);
                    closed = s;
                }
                Stream compute = off.computeStream();
                neighbour.launch(other, 0);
                Map<String, Runnable> calls = new LinkedHashMap<>();
                calls.put("Offloader.close", off::close);
                calls.put("Offloader.step", () -> off.step("m").close());
                calls.put("Offloader.register", () -> off.register("n", BlockGraph.discover(model)));
                calls.put("Offloader.registerGraphs", () -> off.registerGraphs(Map.of("n", BlockGraph.discover(model))));
                calls.put("Offloader.unregister", () -> off.unregister("m"));
                calls.put("Offloader.component", () -> off.component("m"));
                calls.put("Offloader.prefetch", () -> off.prefetch("m"));
                calls.put("Offloader.plan", off::plan);
                calls.put("Offloader.deviceInfo", off::deviceInfo);
                calls.put("Component.metrics", () -> m.metrics(0, true));
                calls.put("Component.close", m::close);
                calls.put("Step.metrics", closed::metrics);
                calls.put("Stream.synchronize (its own)", compute::synchronize);
                calls.put("Stream.synchronize (another)", other::synchronize);
                calls.put("Event.synchronize", event::synchronize);
                calls.put("DeviceRuntime.allocateDevice", () -> off.runtime().allocateDevice(64));
                calls.put("DeviceRuntime.allocatePinned", () -> off.runtime().allocatePinned(64));
                calls.put("DeviceRuntime.createStream", () -> off.runtime().createStream(StreamKind.COPY));
                calls.put("DeviceRuntime.close", () -> off.runtime().close());
                calls.put("DeviceBuffer.close", buffer::close);
                calls.put("Stream.close", other::close);
                calls.put("HostFunction.close (another)", neighbour::close);
                Map<String, Object> outcome = new ConcurrentHashMap<>();
                HostFunction[] self = new HostFunction[1];
                calls.put("HostFunction.close (its own)", () -> self[0].close());
                try (HostFunction fn = new HostFunction("calls the runtime", arg -> {
                    for (Map.Entry<String, Runnable> call : calls.entrySet()) {
                        try {
                            call.getValue().run();
                            outcome.put(call.getKey(), "returned");
                        } catch (Throwable t) {
                            outcome.put(call.getKey(), t);
                        }
                    }
                })) {
                    self[0] = fn;
                    fn.launch(compute, 0);
                    event.record(compute);  // after the launch: synchronizing it in the body would wait for the body
                    compute.synchronize();
                    fn.check();
                }
                assertEquals(calls.keySet(), outcome.keySet());
                for (Map.Entry<String, Object> o : outcome.entrySet()) {
                    assertTrue(o.getValue() instanceof OffloadException e && e.status() == Status.INVALID_ARGUMENT
                            && e.getMessage().contains("called from a host function: CUDA forbids runtime calls from a host function")
                            && e.getMessage().contains("'calls the runtime'"), o.getKey() + ": " + o.getValue());
                }
                // nothing was done: everything still works from the main thread
                assertFalse(m.isClosed());
                assertFalse(other.isClosed() || buffer.isClosed() || off.isClosed());
                try (Step s = off.step("m")) {
                    for (Group g : s) assertTrue(g.tensors().get(0).devicePointer().address() != 0);
                }
                assertEquals(2, m.stepsStarted());
                other.synchronize();
                event.synchronize();
            }
        });
    }
}
