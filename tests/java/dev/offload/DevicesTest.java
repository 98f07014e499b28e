package dev.offload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.runtime.DeviceInfo;
import dev.offload.runtime.PeerCopy;
import dev.offload.workload.ReferenceWorkload;
import dev.offload.workload.SyntheticModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several devices in one offloader (issue 20), on the host backend's emulated devices host:0..2:
 * a replicated component stepped from two threads (bit-exact, one host copy, each device in its
 * budget), a pipeline placed across two devices with the encoder's output handed over by a peer
 * copy, and the refusals.
 */
class DevicesTest {
    static final int TOKENS = 2, HIDDEN = 32;
    @TempDir
    Path dir;

    private Path model(String name, int dim, int blocks, long seed) {
        Path file = dir.resolve(name + ".safetensors");
        SyntheticModel.write(file, dim, blocks, blocks, seed);
        return file;
    }

    @Test
    void aReplicatedComponentSteppedFromTwoThreadsIsBitExactWithOneHostCopyAndEachDeviceInItsBudget() throws Exception {
        try (Checkpoint model = Checkpoint.open(model("dit", 64, 4, 11))) {
            long budget = model.totalBytes() / 2 + ReferenceWorkload.deviceBytes(TOKENS, HIDDEN);
            OffloadConfig config = OffloadConfig.builder().devices("host:0", "host:1").replicate(true).strategy(Strategy.GROUP_OFFLOAD)
                    .deviceBudget(budget).build();
            try (Offloader off = Offloader.open(config)) {
                List<ReferenceWorkload> workloads = List.of(new ReferenceWorkload(off, "host:0", TOKENS, HIDDEN, 10),
                        new ReferenceWorkload(off, "host:1", TOKENS, HIDDEN, 10));
                Component dit = off.register("dit", model);
                assertEquals(List.of("host:0", "host:1"), off.plan().placement().get("dit").devices());
                var order = dit.graph().tensors();
                ExecutorService threads = Executors.newFixedThreadPool(2);
                List<Future<String>> results = new ArrayList<>();
                for (ReferenceWorkload w : workloads) {
                    results.add(threads.submit(() -> {
                        w.start(order);
                        for (int s = 0; s < 10; s++) {
                            w.step("dit");
                            w.snapshot(s);
                        }
                        return w.verify(10, order, new dev.offload.workload.Workload.Expected());
                    }));
                }
                for (Future<String> r : results) assertNull(r.get());
                threads.shutdown();
                long hostPeak = 0;
                for (String d : List.of("host:0", "host:1")) {
                    DeviceInfo info = off.runtime(d).info();
                    assertTrue(info.peakBytes() <= budget, d + " peaked at " + info.peakBytes() + " bytes over its budget " + budget);
                    assertTrue(info.peakBytes() > 0, d + " held nothing");
                    hostPeak += info.hostPeakBytes();
                }
                for (ReferenceWorkload w : workloads) hostPeak -= w.pinnedBytes();
                assertTrue(hostPeak <= 1.05 * model.totalBytes(), "host peak " + hostPeak + " bytes for a model of " + model.totalBytes()
                        + ": more than one copy");
                assertTrue(hostPeak >= model.totalBytes(), "host peak " + hostPeak);
                var thrown = assertThrows(OffloadException.class, () -> off.step("dit"));
                assertTrue(thrown.getMessage().contains("name the device"), thrown.getMessage());
                for (ReferenceWorkload w : workloads) w.close();
            }
        }
    }

    @Test
    void aPipelineOnTwoDevicesHandsTheEncodersOutputAcrossByAPeerCopyEveryStepVerified() {
        try (Checkpoint encoder = Checkpoint.open(model("text_encoder", 32, 2, 3));
             Checkpoint transformer = Checkpoint.open(model("transformer", 64, 4, 5));
             Checkpoint vae = Checkpoint.open(model("vae", 32, 1, 7))) {
            OffloadConfig config = OffloadConfig.builder().devices("host:0", "host:1").place("text_encoder", "host:0")
                    .place("transformer", "host:1").place("vae", "host:1").strategy(Strategy.GROUP_OFFLOAD).deviceBudget(8 << 20).build();
            try (Offloader off = Offloader.open(config);
                 ReferenceWorkload first = new ReferenceWorkload(off, "host:0", TOKENS, HIDDEN, 0);
                 ReferenceWorkload second = new ReferenceWorkload(off, "host:1", TOKENS, HIDDEN, 0);
                 PeerCopy handOver = PeerCopy.between(off.runtime("host:0"), off.computeStream("host:0"), off.runtime("host:1"),
                         off.computeStream("host:1"))) {
                Component te = off.register("text_encoder", encoder);
                Component dit = off.register("transformer", transformer);
                Component dec = off.register("vae", vae);
                assertEquals("host:0", off.plan().placement().get("text_encoder").device());
                assertEquals("host:1", off.plan().placement().get("vae").device());
                for (int s = 0; s < 3; s++) {
                    int[] expect = ReferenceWorkload.initialState(TOKENS, HIDDEN, 100 + s);
                    first.load(expect);
                    first.step("text_encoder");
                    handOver.copy(first.state(), 0, second.state(), 0, first.state().byteSize());
                    second.step("transformer");
                    second.step("vae");
                    ReferenceWorkload.referenceStep(expect, TOKENS, HIDDEN, te.graph().tensors());
                    ReferenceWorkload.referenceStep(expect, TOKENS, HIDDEN, dit.graph().tensors());
                    ReferenceWorkload.referenceStep(expect, TOKENS, HIDDEN, dec.graph().tensors());
                    assertTrue(java.util.Arrays.equals(expect, second.read()), "step " + s + " differs from the unoffloaded pipeline");
                }
                assertEquals(0, off.runtime("host:0").info().usedBytes() - te.plan().deviceBytes() - ReferenceWorkload.deviceBytes(TOKENS, HIDDEN));
            }
        }
    }

    /**
     * Issue 20: steps on different devices from different threads do not wait for each other. host:0's
     * compute stream is held by a host function that blocks until the test lets it go, and a thread
     * steps host:0's component into it; meanwhile another thread's 5 steps of a component on host:1
     * complete and verify bit-exact, while host:0 is still held.
     */
    @Test
    void aStepOnOneDeviceCompletesWhileAnotherDeviceIsHeld() throws Exception {
        java.util.concurrent.CountDownLatch held = new java.util.concurrent.CountDownLatch(1);
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try (Checkpoint a = Checkpoint.open(model("a", 32, 2, 13)); Checkpoint b = Checkpoint.open(model("b", 32, 2, 17))) {
            OffloadConfig config = OffloadConfig.builder().devices("host:0", "host:1").place("a", "host:0").place("b", "host:1")
                    .strategy(Strategy.GROUP_OFFLOAD).deviceBudget(8 << 20).build();
            try (Offloader off = Offloader.open(config);
                 ReferenceWorkload zero = new ReferenceWorkload(off, "host:0", TOKENS, HIDDEN, 1);
                 ReferenceWorkload one = new ReferenceWorkload(off, "host:1", TOKENS, HIDDEN, 5);
                 dev.offload.runtime.HostFunction hold = new dev.offload.runtime.HostFunction("held device",
                         arg -> held.await(60, java.util.concurrent.TimeUnit.SECONDS))) {
                try {
                    off.register("a", a);
                    Component cb = off.register("b", b);
                    hold.launch(off.computeStream("host:0"), 0);  // host:0 is busy until the latch opens
                    Future<Long> onZero = threads.submit(() -> zero.step("a"));
                    Future<String> onOne = threads.submit(() -> {
                        one.start(cb.graph().tensors());
                        for (int s = 0; s < 5; s++) {
                            one.step("b");
                            one.snapshot(s);
                        }
                        return one.verify(5, cb.graph().tensors(), new dev.offload.workload.Workload.Expected());
                    });
                    assertNull(onOne.get(30, java.util.concurrent.TimeUnit.SECONDS));  // a shared lock on the step path: a timeout
                    assertEquals(1, held.getCount(), "host:0 was let go before host:1's steps were done");
                    held.countDown();
                    assertEquals(0L, onZero.get(30, java.util.concurrent.TimeUnit.SECONDS));
                } finally {
                    held.countDown();
                }
            }
        } finally {
            threads.shutdownNow();
            assertTrue(threads.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS));
        }
    }

    @Test
    void autoPlacesLargestFirstAndRefusesWhatItCannotRoute() {
        try (Checkpoint small = Checkpoint.open(model("small", 32, 1, 3));
             Checkpoint big = Checkpoint.open(model("big", 64, 4, 5));
             Checkpoint mid = Checkpoint.open(model("mid", 48, 2, 9))) {
            OffloadConfig config = OffloadConfig.builder().devices("host:0", "host:1", "host:2").strategy(Strategy.GROUP_OFFLOAD)
                    .deviceBudget(8 << 20).build();
            try (Offloader off = Offloader.open(config)) {
                off.registerGraphs(new java.util.LinkedHashMap<>(java.util.Map.of("small", dev.offload.graph.BlockGraph.discover(small),
                        "big", dev.offload.graph.BlockGraph.discover(big), "mid", dev.offload.graph.BlockGraph.discover(mid))));
                var placement = off.plan().placement();
                assertEquals("host:0", placement.get("big").device(), placement.toString());
                assertEquals("host:1", placement.get("mid").device(), placement.toString());
                assertEquals("host:2", placement.get("small").device(), placement.toString());
                assertTrue(placement.get("big").reason().startsWith("largest first"), placement.get("big").reason());
                var thrown = assertThrows(OffloadException.class, () -> off.step("big", "host:1"));
                assertTrue(thrown.getMessage().contains("not on device 'host:1'"), thrown.getMessage());
                thrown = assertThrows(OffloadException.class, () -> off.runtime("host:7"));
                assertTrue(thrown.getMessage().contains("host:7"), thrown.getMessage());
                try (Step s = off.step("mid")) {
                    assertEquals(off.computeStream("host:1"), s.computeStream());
                }
            }
        }
        var thrown = assertThrows(OffloadException.class, () -> OffloadConfig.builder().devices("host:0", "host:1").place("x", "host:2").build());
        assertTrue(thrown.getMessage().contains("'host:2', which is not one of the devices"), thrown.getMessage());
        thrown = assertThrows(OffloadException.class, () -> OffloadConfig.builder().devices("host:0", "host:0").build());
        assertTrue(thrown.getMessage().contains("named twice"), thrown.getMessage());
    }
}
