package dev.offload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.checkpoint.Pipeline;
import dev.offload.graph.BlockGraph;
import dev.offload.graph.Grouping;
import dev.offload.graph.TensorRef;
import dev.offload.metrics.Trace;
import dev.offload.plan.PackedGroup;
import dev.offload.runtime.Event;
import dev.offload.workload.ReferenceWorkload;
import dev.offload.workload.SyntheticModel;
import dev.offload.workload.Workload;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Issue 18's acceptance on the host backend: a MODEL_OFFLOAD pipeline of three components whose
 * turns keep their overlap. The budget holds the transformer and the VAE together but not the text
 * encoder beside the transformer, so the transformer's turn evicts the encoder while the encoder's
 * last step still runs on the device (a 400 ms stream delay at its end), and the VAE is prefetched
 * before the transformer's last step. Each turn returns to the host before the current component's
 * last step is done (an event recorded after the delay is still pending), makes no device-wide wait
 * (the runtime's count of them does not move), and on the trace the next component's first copy
 * starts before the current one's last compute span ends; every step is verified bit for bit. Before
 * the fix, the eviction waited for that step's figures and its engine's end synchronized the shared
 * streams and freed its memory with a device-wide wait, so the transformer's loads began only after
 * the encoder's last step. The same holds for components read from their files (DISK) or from pageable
 * memory (LOWMEM): their resident groups load through the staging ring on the reader thread, behind
 * the region's fences on the device, and a retired engine's ring goes back to the runtime's pool
 * behind its copy fence instead of through a pinned free (a device-wide wait).
 */
class TurnOverlapTest {
    static final int TOKENS = 2, HIDDEN = 32, STEPS = 2;
    static final List<String> NAMES = List.of("text_encoder", "transformer", "vae");
    static final Duration LAST_STEP_DELAY = Duration.ofMillis(400);

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = HostSource.class, names = {"PINNED", "DISK", "LOWMEM"})
    void theNextComponentLoadsBehindTheCurrentOnesLastStepWithNoDeviceWideWait(HostSource source) throws Exception {
        SyntheticModel.write(Files.createDirectories(dir.resolve("text_encoder")).resolve("model.safetensors"), 48, 2, 2, 1);
        SyntheticModel.write(Files.createDirectories(dir.resolve("transformer")).resolve("diffusion_pytorch_model.safetensors"), 64, 4, 4, 2);
        SyntheticModel.write(Files.createDirectories(dir.resolve("vae")).resolve("diffusion_pytorch_model.safetensors"), 32, 1, 1, 3);
        Files.writeString(dir.resolve("model_index.json"), "{\"_class_name\": \"TestPipeline\", \"text_encoder\": [\"transformers\", \"X\"],"
                + " \"transformer\": [\"diffusers\", \"Y\"], \"vae\": [\"diffusers\", \"Z\"]}");
        try (Pipeline pipeline = Pipeline.open(dir)) {
            Map<String, BlockGraph> graphs = new LinkedHashMap<>();
            Map<String, Long> sizes = new LinkedHashMap<>();
            for (String name : NAMES) {
                graphs.put(name, BlockGraph.discover(pipeline.component(name)));
                sizes.put(name, graphs.get(name).groups(Grouping.blocks(1)).stream().mapToLong(g -> PackedGroup.alignUp(PackedGroup.of(g).bytes())).sum());
            }
            long workloads = NAMES.size() * ReferenceWorkload.deviceBytes(TOKENS, HIDDEN);
            long budget = sizes.get("transformer") + sizes.get("vae") + workloads;
            assertTrue(sizes.get("text_encoder") + sizes.get("transformer") + workloads > budget, "the encoder must not fit beside the transformer");
            OffloadConfig config = OffloadConfig.builder().device("host").h2dGbps(5).strategy(Strategy.MODEL_OFFLOAD).deviceBudget(budget)
                    .source(source).trace(true).build();
            try (Offloader off = Offloader.open(config)) {
                List<Workload> workloadsOf = new ArrayList<>();
                try {
                    for (int i = 0; i < NAMES.size(); i++) workloadsOf.add(Workload.create("mix", off, TOKENS, HIDDEN, STEPS, true));
                    Map<String, Component> registered = off.registerGraphs(graphs);
                    List<List<TensorRef>> orders = new ArrayList<>();
                    for (int i = 0; i < NAMES.size(); i++) {
                        orders.add(registered.get(NAMES.get(i)).graph().tensors());
                        workloadsOf.get(i).start(orders.get(i));
                    }
                    long syncsBefore = off.runtime().deviceSyncs();
                    try (Event afterDelay = off.runtime().createEvent(false)) {
                        for (int i = 0; i < NAMES.size(); i++) {
                            Workload w = workloadsOf.get(i);
                            for (int step = 0; step < STEPS; step++) {
                                boolean last = step == STEPS - 1;
                                if (last && i + 1 < NAMES.size()) off.prefetch(NAMES.get(i + 1));  // as `run` does
                                long opened = System.nanoTime();
                                try (Step s = off.step(NAMES.get(i))) {
                                    long turnMs = (System.nanoTime() - opened) / 1_000_000;
                                    if (step == 0 && i > 0) {
                                        assertFalse(afterDelay.query(), "the turn to '" + NAMES.get(i) + "' (" + turnMs
                                                + " ms) waited for '" + NAMES.get(i - 1) + "''s last step to finish on the device");
                                    }
                                    int groups = registered.get(NAMES.get(i)).groupCount();
                                    for (Group g : s) {
                                        w.group(g);
                                        if (last && g.index() == groups - 1) {  // the last step ends with a long stretch of device work
                                            g.computeStream().delay(LAST_STEP_DELAY);
                                            afterDelay.record(g.computeStream());
                                        }
                                    }
                                }
                                w.snapshot(step);
                            }
                        }
                        afterDelay.synchronize();
                    }
                    assertEquals(syncsBefore, off.runtime().deviceSyncs(), "device-wide waits made by the turns");
                    for (int i = 0; i < NAMES.size(); i++) {
                        assertNull(workloadsOf.get(i).verify(STEPS, orders.get(i), new Workload.Expected()), NAMES.get(i) + " bit for bit");
                    }
                    Trace trace = off.trace();
                    for (int i = 0; i + 1 < NAMES.size(); i++) {
                        double currentLastComputeEnd = Double.NEGATIVE_INFINITY, nextFirstCopy = Double.POSITIVE_INFINITY;
                        for (Trace.Event e : trace.events()) {
                            Object step = e.args().get("step");
                            if (e.track().equals("compute: " + NAMES.get(i)) && Long.valueOf(STEPS - 1).equals(step)) {
                                currentLastComputeEnd = Math.max(currentLastComputeEnd, e.startUs() + e.durationUs());
                            }
                            if (e.track().equals("copy: " + NAMES.get(i + 1))) nextFirstCopy = Math.min(nextFirstCopy, e.startUs());
                        }
                        assertTrue(Double.isFinite(currentLastComputeEnd) && Double.isFinite(nextFirstCopy), "spans of " + NAMES.get(i)
                                + " and " + NAMES.get(i + 1) + " on the trace");
                        assertTrue(nextFirstCopy < currentLastComputeEnd, "'" + NAMES.get(i + 1) + "''s first copy at " + nextFirstCopy
                                + " us starts before '" + NAMES.get(i) + "''s last compute span ends at " + currentLastComputeEnd + " us");
                    }
                } finally {
                    for (Workload w : workloadsOf) w.close();
                }
            }
        }
    }
}
