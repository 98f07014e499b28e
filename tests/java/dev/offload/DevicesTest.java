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
