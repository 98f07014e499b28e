package dev.offload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.runtime.DeviceInfo;
import dev.offload.runtime.PeerCopy;
import dev.offload.workload.ReferenceWorkload;
import dev.offload.workload.SyntheticModel;
import dev.offload.workload.Workload;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two devices of one offloader (issue 20), on any backend: a component replicated on both and
 * stepped from a thread per device (10 steps each, bit-exact, one host copy, each device within its
 * budget, no pageable copy), and a pipeline split across them whose encoder output crosses by a
 * PeerCopy in stream order, every step verified. Subclasses name the two devices and say why they
 * cannot run here (then every test skips by assumption): HostTwoDevicesTest (host:0, host:1, always
 * runs, so the suite is checked on every machine), CudaTwoDevicesTest (cuda:0, cuda:1: two GPUs),
 * CudaOneGpuTwoEnginesTest (two runtimes on one GPU).
 */
abstract class TwoDevicesSuite {
    static final int TOKENS = 2, HIDDEN = 32, STEPS = 10;
    @TempDir
    Path dir;

    abstract String first();

    abstract String second();

    /** Null where both devices open here; otherwise why the tests skip. */
    abstract String unavailableBecause();

    @BeforeEach
    void needsBothDevices() {
        String why = unavailableBecause();
        assumeTrue(why == null, why);
    }

    private Path model(String name, int dim, int blocks, long seed) {
        Path file = dir.resolve(name + ".safetensors");
        SyntheticModel.write(file, dim, blocks, blocks, seed);
        return file;
    }

    @Test
    void aComponentReplicatedOnBothDevicesSteppedFromTwoThreadsIsBitExactWithOneHostCopy() throws Exception {
        List<String> devices = List.of(first(), second());
        try (Checkpoint model = Checkpoint.open(model("dit", 64, 4, 11))) {
            long budget = model.totalBytes() / 2 + ReferenceWorkload.deviceBytes(TOKENS, HIDDEN);
            OffloadConfig config = OffloadConfig.builder().devices(first(), second()).replicate(true).strategy(Strategy.GROUP_OFFLOAD)
                    .deviceBudget(budget).build();
            try (Offloader off = Offloader.open(config)) {
                List<ReferenceWorkload> workloads = new ArrayList<>();
                ExecutorService threads = Executors.newFixedThreadPool(2);
                try {
                    for (String d : devices) workloads.add(new ReferenceWorkload(off, d, TOKENS, HIDDEN, STEPS));
                    Component dit = off.register("dit", model);
                    assertEquals(devices, off.plan().placement().get("dit").devices());
                    var order = dit.graph().tensors();
                    List<Future<String>> results = new ArrayList<>();
                    for (ReferenceWorkload w : workloads) {
                        results.add(threads.submit(() -> {
                            w.start(order);
                            for (int s = 0; s < STEPS; s++) {
                                w.step("dit");
                                w.snapshot(s);
                            }
                            return w.verify(STEPS, order, new Workload.Expected());
                        }));
                    }
                    for (int i = 0; i < 2; i++) assertNull(results.get(i).get(), devices.get(i));
                    long hostPeak = 0;
                    for (String d : devices) {
                        DeviceInfo info = off.runtime(d).info();
                        assertTrue(info.peakBytes() > 0 && info.peakBytes() <= budget, d + " peaked at " + info.peakBytes() + " of " + budget);
                        assertEquals(0, off.runtime(d).pageableCopies(), d + ": copies from pageable memory made the caller wait");
                        hostPeak += info.hostPeakBytes();
                    }
                    for (ReferenceWorkload w : workloads) hostPeak -= w.pinnedBytes();
                    assertTrue(hostPeak >= model.totalBytes() && hostPeak <= 1.05 * model.totalBytes(),
                            "host peak " + hostPeak + " bytes for a model of " + model.totalBytes() + ": not one copy");
                } finally {
                    threads.shutdown();
                    for (ReferenceWorkload w : workloads) w.close();
                }
            }
        }
    }

    @Test
    void aPipelineAcrossBothDevicesHandsTheEncodersOutputOverByAPeerCopyEveryStepVerified() {
        try (Checkpoint encoder = Checkpoint.open(model("text_encoder", 32, 2, 3));
             Checkpoint transformer = Checkpoint.open(model("transformer", 64, 4, 5));
             Checkpoint vae = Checkpoint.open(model("vae", 32, 1, 7))) {
            OffloadConfig config = OffloadConfig.builder().devices(first(), second()).place("text_encoder", first())
                    .place("transformer", second()).place("vae", second()).strategy(Strategy.GROUP_OFFLOAD).deviceBudget(8 << 20).build();
            try (Offloader off = Offloader.open(config);
                 ReferenceWorkload from = new ReferenceWorkload(off, first(), TOKENS, HIDDEN, 0);
                 ReferenceWorkload to = new ReferenceWorkload(off, second(), TOKENS, HIDDEN, 0);
                 PeerCopy handOver = PeerCopy.between(off.runtime(first()), off.computeStream(first()), off.runtime(second()),
                         off.computeStream(second()))) {
                Component te = off.register("text_encoder", encoder);
                Component dit = off.register("transformer", transformer);
                Component dec = off.register("vae", vae);
                for (int s = 0; s < 3; s++) {
                    int[] expect = ReferenceWorkload.initialState(TOKENS, HIDDEN, 100 + s);
                    from.load(expect);
                    from.step("text_encoder");
                    handOver.copy(from.state(), 0, to.state(), 0, from.state().byteSize());
                    to.step("transformer");
                    to.step("vae");
                    ReferenceWorkload.referenceStep(expect, TOKENS, HIDDEN, te.graph().tensors());
                    ReferenceWorkload.referenceStep(expect, TOKENS, HIDDEN, dit.graph().tensors());
                    ReferenceWorkload.referenceStep(expect, TOKENS, HIDDEN, dec.graph().tensors());
                    assertTrue(java.util.Arrays.equals(expect, to.read()), "step " + s + " differs from the unoffloaded pipeline");
                }
            }
        }
    }
}
