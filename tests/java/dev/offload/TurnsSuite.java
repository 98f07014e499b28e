package dev.offload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.Pipeline;
import dev.offload.graph.BlockGraph;
import dev.offload.graph.Grouping;
import dev.offload.graph.TensorRef;
import dev.offload.plan.PackedGroup;
import dev.offload.plan.Plan;
import dev.offload.workload.ReferenceWorkload;
import dev.offload.workload.SyntheticModel;
import dev.offload.workload.Workload;
import dev.offload.workload.WorkloadRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * MODEL_OFFLOAD and several components in one offloader, on every backend present
 * (HostTurnsTest, CudaTurnsTest): components take turns bit for bit with the peak bounded by the
 * largest component, what stays resident and the next one's prefetch; an evicted component comes
 * back; strategies mix in one budget; steps on different components run from different threads;
 * a component mid-step is never evicted: another thread's turn waits for it (first come, first
 * served, optionally bounded), and the thread holding it is refused at once.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class TurnsSuite {
    static final int TOKENS = 2, HIDDEN = 32, STEPS = 3;
    static final List<String> NAMES = List.of("text_encoder", "transformer", "vae");
    Path dir;
    Pipeline pipeline;
    Map<String, Long> sizes = new java.util.LinkedHashMap<>();

    abstract String device();

    String unavailableBecause() {
        return null;
    }

    @BeforeEach
    void requireBackend() {
        String why = unavailableBecause();
        assumeTrue(why == null, why);
    }

    @BeforeAll
    void writePipeline() throws java.io.IOException {
        dir = Files.createTempDirectory("offload-turns-");
        SyntheticModel.write(Files.createDirectories(dir.resolve("text_encoder")).resolve("model.safetensors"), 48, 2, 2, 1);
        SyntheticModel.write(Files.createDirectories(dir.resolve("transformer")).resolve("diffusion_pytorch_model.safetensors"), 64, 4, 4, 2);
        SyntheticModel.write(Files.createDirectories(dir.resolve("vae")).resolve("diffusion_pytorch_model.safetensors"), 32, 1, 1, 3);
        Files.writeString(dir.resolve("model_index.json"), "{\"_class_name\": \"TestPipeline\", \"text_encoder\": [\"transformers\", \"X\"],"
                + " \"transformer\": [\"diffusers\", \"Y\"], \"vae\": [\"diffusers\", \"Z\"]}");
        pipeline = Pipeline.open(dir);
        for (String name : NAMES) sizes.put(name, residentBytes(pipeline.component(name)));
    }

    @AfterAll
    void cleanUp() throws java.io.IOException {
        if (pipeline != null) pipeline.close();
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    static long residentBytes(Checkpoint c) {
        return BlockGraph.discover(c).groups(Grouping.blocks(1)).stream().mapToLong(g -> PackedGroup.alignUp(PackedGroup.of(g).bytes())).sum();
    }

    long largest() {
        return sizes.values().stream().mapToLong(Long::longValue).max().orElseThrow();
    }

    long workloads() {
        return NAMES.size() * ReferenceWorkload.deviceBytes(TOKENS, HIDDEN);
    }

    OffloadConfig.Builder config() {
        return OffloadConfig.builder().device(device()).h2dGbps(5);
    }

    @Test
    void threeComponentsTakeTurnsBitForBitWithinTheLargestPlusResidentPlusTheNextOnesPrefetch() {
        long total = sizes.values().stream().mapToLong(Long::longValue).sum();
        long budget = largest() + workloads() + sizes.get("vae");  // the transformer and the VAE fit together, not all three
        assertTrue(budget < total + workloads(), "the budget must not hold every component at once");
        WorkloadRun.PipelineResult r = WorkloadRun.runPipeline(pipeline, config().strategy(Strategy.MODEL_OFFLOAD).deviceBudget(budget).build(),
                "mix", STEPS, TOKENS, HIDDEN, true, null, null);
        assertEquals(Boolean.TRUE, r.verified(), r.plan());
        long bound = 0;
        for (int i = 0; i + 1 < NAMES.size(); i++) bound = Math.max(bound, sizes.get(NAMES.get(i)) + sizes.get(NAMES.get(i + 1)));
        bound = Math.max(bound, largest()) + workloads();
        assertTrue(r.peakDeviceBytes() <= bound, "peak " + r.peakDeviceBytes() + " > " + bound);
        assertTrue(r.peakDeviceBytes() >= largest(), "the largest component was resident once: " + r.peakDeviceBytes());
        assertEquals(Map.of("text_encoder", 1L, "transformer", 1L, "vae", 1L), r.activations());
        for (WorkloadRun.Result c : r.components()) {
            assertTrue(c.strategy().startsWith("model_offload"), c.strategy());
            assertEquals(0, c.h2dBytes(), "nothing streams once a component is resident");
        }
    }

    @Test
    void anEvictedComponentComesBackAndItsEarlierFiguresStayReadable() {
        // Budget: one component at a time (the transformer is the largest; the encoder and it do not fit together).
        long budget = largest() + 2 * ReferenceWorkload.deviceBytes(TOKENS, HIDDEN) + sizes.get("text_encoder") / 2;
        try (Offloader off = Offloader.open(config().strategy(Strategy.MODEL_OFFLOAD).deviceBudget(budget).timing(Timing.GROUP).build());
             Workload te = Workload.create("mix", off, TOKENS, HIDDEN, 4, true);
             Workload tr = Workload.create("mix", off, TOKENS, HIDDEN, 4, true)) {
            Map<String, BlockGraph> graphs = new java.util.LinkedHashMap<>();
            graphs.put("text_encoder", BlockGraph.discover(pipeline.component("text_encoder")));
            graphs.put("transformer", BlockGraph.discover(pipeline.component("transformer")));
            Map<String, Component> c = off.registerGraphs(graphs);
            List<TensorRef> teOrder = c.get("text_encoder").graph().tensors(), trOrder = c.get("transformer").graph().tensors();
            te.start(teOrder);
            tr.start(trOrder);
            String[] order = {"text_encoder", "transformer", "text_encoder", "transformer", "transformer", "text_encoder", "text_encoder", "transformer"};
            int teSteps = 0, trSteps = 0;
            for (String name : order) {
                boolean isTe = name.equals("text_encoder");
                try (Step s = off.step(name)) {
                    for (Group g : s) (isTe ? te : tr).group(g);
                }
                assertFalse(c.get(isTe ? "transformer" : "text_encoder").isActive(), "the other component was evicted");
                (isTe ? te : tr).snapshot(isTe ? teSteps++ : trSteps++);
            }
            assertNull(te.verify(teSteps, teOrder, new Workload.Expected()));
            assertNull(tr.verify(trSteps, trOrder, new Workload.Expected()));
            assertEquals(3, c.get("text_encoder").activations());
            assertEquals(3, c.get("transformer").activations());
            StepMetrics first = c.get("text_encoder").metrics(0, false);  // from a turn long gone
            assertEquals(0, first.step());
            assertTrue(first.stepMs() > 0, first.toString());
            Plan plan = off.plan();
            assertEquals("model_offload", plan.strategy());
            assertEquals(Math.max(sizes.get("text_encoder"), sizes.get("transformer")), plan.deviceBytes());
        }
    }

    @Test
    void strategiesMixInOneBudgetAndAnAlwaysResidentComponentNeverLeaves() {
        long ring = 2 * BlockGraph.discover(pipeline.component("transformer")).groups(Grouping.blocks(1)).stream()
                .mapToLong(g -> PackedGroup.alignUp(PackedGroup.of(g).bytes())).max().orElseThrow();
        long budget = sizes.get("text_encoder") + ring + sizes.get("vae") + workloads();
        OffloadConfig config = config().strategy(Strategy.MODEL_OFFLOAD).strategy("transformer", Strategy.GROUP_OFFLOAD)
                .alwaysResident("vae").deviceBudget(budget).build();
        WorkloadRun.PipelineResult r = WorkloadRun.runPipeline(pipeline, config, "mix", STEPS, TOKENS, HIDDEN, true, null, null);
        assertEquals(Boolean.TRUE, r.verified(), r.plan());
        assertTrue(r.components().get(1).strategy().startsWith("group_offload"), r.components().get(1).strategy());
        assertTrue(r.components().get(2).strategy().startsWith("no_offload"), r.components().get(2).strategy());
        assertTrue(r.plan().contains("plan: mixed"), r.plan());
        assertTrue(r.peakDeviceBytes() <= budget, "peak " + r.peakDeviceBytes() + " > budget " + budget);
    }

    /**
     * A component mid-step is never evicted: another thread's step of a turn-taking component waits
     * for its turn (here bounded by a turn timeout, which expires naming the component, the holder
     * and its thread; it failed at once with "cannot be evicted mid-step" before waiting existed),
     * and goes once the holder's step closes.
     */
    @Test
    @org.junit.jupiter.api.Timeout(120)  // a device-level deadlock between the two threads' streams would hang here
    void aComponentMidStepIsNeverEvictedAndStepsOnDifferentComponentsRunFromTwoThreads() throws Exception {
        long budget = largest() + 2 * ReferenceWorkload.deviceBytes(TOKENS, HIDDEN) + sizes.get("vae") / 2;
        try (Offloader off = Offloader.open(config().strategy(Strategy.MODEL_OFFLOAD).deviceBudget(budget)
                .turnTimeout(java.time.Duration.ofMillis(300)).build())) {
            Map<String, BlockGraph> graphs = new java.util.LinkedHashMap<>();
            graphs.put("vae", BlockGraph.discover(pipeline.component("vae")));
            graphs.put("transformer", BlockGraph.discover(pipeline.component("transformer")));
            off.registerGraphs(graphs);
            CountDownLatch opened = new CountDownLatch(1), tried = new CountDownLatch(1);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread holder = new Thread(() -> {
                try (Step s = off.step("transformer")) {
                    var it = s.iterator();
                    it.next();
                    opened.countDown();
                    tried.await();
                    while (it.hasNext()) it.next();
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            holder.setName("holder-thread");
            holder.start();
            opened.await();
            long t0 = System.nanoTime();
            OffloadException e = assertThrows(OffloadException.class, () -> off.step("vae"));
            long waitedMs = (System.nanoTime() - t0) / 1_000_000;
            tried.countDown();
            holder.join();
            assertNull(failure.get());
            assertEquals(Status.NOT_READY, e.status());
            assertTrue(waitedMs >= 250, "it waited for its turn until the timeout: " + waitedMs + " ms");
            assertTrue(e.getMessage().contains("component 'vae' waited 300 ms for its turn") && e.getMessage().contains("turnTimeout")
                    && e.getMessage().contains("'transformer' holds the device with an open step on thread 'holder-thread'"), e.getMessage());
            try (Step s = off.step("vae")) {  // with the transformer's step closed, the VAE evicts it
                for (Group g : s) assertTrue(g.byteSize() > 0);
            }
        }
        // Two permanent components, one thread each, every step verified
        try (Offloader off = Offloader.open(config().strategy(Strategy.GROUP_OFFLOAD).build());
             Workload a = Workload.create("mix", off, TOKENS, HIDDEN, 6, true);
             Workload b = Workload.create("mix", off, TOKENS, HIDDEN, 6, true)) {
            Map<String, BlockGraph> graphs = new java.util.LinkedHashMap<>();
            graphs.put("transformer", BlockGraph.discover(pipeline.component("transformer")));
            graphs.put("text_encoder", BlockGraph.discover(pipeline.component("text_encoder")));
            Map<String, Component> c = off.registerGraphs(graphs);
            List<String> notes = java.util.Collections.synchronizedList(new ArrayList<>());
            List<Thread> threads = new ArrayList<>();
            for (var entry : List.of(Map.entry("transformer", a), Map.entry("text_encoder", b))) {
                threads.add(new Thread(() -> {
                    List<TensorRef> order = c.get(entry.getKey()).graph().tensors();
                    entry.getValue().start(order);
                    for (int s = 0; s < 6; s++) {
                        try (Step step = off.step(entry.getKey())) {
                            for (Group g : step) entry.getValue().group(g);
                        }
                        entry.getValue().snapshot(s);
                    }
                    String note = entry.getValue().verify(6, order, new Workload.Expected());
                    if (note != null) notes.add(entry.getKey() + ": " + note);
                }));
            }
            threads.forEach(Thread::start);
            for (Thread t : threads) t.join();
            assertEquals(List.of(), notes);
        }
    }

    /**
     * Two request threads share one device: each steps its own turn-taking component 20 times, in
     * a budget that holds one component at a time. Each step waits for its turn (first come, first
     * served) instead of failing with "cannot be evicted mid-step", and every step of both is bit
     * for bit the unoffloaded reference's.
     */
    @Test
    @org.junit.jupiter.api.Timeout(300)
    void twoThreadsSteppingTwoTurnTakingComponentsWaitForTheirTurnsAndStayBitForBit() throws Exception {
        int steps = 20;
        long budget = largest() + 2 * ReferenceWorkload.deviceBytes(TOKENS, HIDDEN) + sizes.get("text_encoder") / 2;
        try (Offloader off = Offloader.open(config().strategy(Strategy.MODEL_OFFLOAD).deviceBudget(budget).build());
             Workload a = Workload.create("mix", off, TOKENS, HIDDEN, steps, true);
             Workload b = Workload.create("mix", off, TOKENS, HIDDEN, steps, true)) {
            Map<String, BlockGraph> graphs = new java.util.LinkedHashMap<>();
            graphs.put("transformer", BlockGraph.discover(pipeline.component("transformer")));
            graphs.put("text_encoder", BlockGraph.discover(pipeline.component("text_encoder")));
            Map<String, Component> c = off.registerGraphs(graphs);
            List<String> notes = java.util.Collections.synchronizedList(new ArrayList<>());
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (var entry : List.of(Map.entry("transformer", a), Map.entry("text_encoder", b))) {
                threads.add(new Thread(() -> {
                    try {
                        List<TensorRef> order = c.get(entry.getKey()).graph().tensors();
                        entry.getValue().start(order);
                        go.await();
                        for (int s = 0; s < steps; s++) {
                            try (Step step = off.step(entry.getKey())) {
                                for (Group g : step) entry.getValue().group(g);
                            }
                            entry.getValue().snapshot(s);
                        }
                        String note = entry.getValue().verify(steps, order, new Workload.Expected());
                        if (note != null) notes.add(entry.getKey() + ": " + note);
                    } catch (Throwable t) {
                        notes.add(entry.getKey() + ": " + t);
                    }
                }, "request-" + entry.getKey()));
            }
            threads.forEach(Thread::start);
            go.countDown();
            for (Thread t : threads) t.join();
            assertEquals(List.of(), notes);
            assertEquals(steps, c.get("transformer").stepsStarted());
            assertEquals(steps, c.get("text_encoder").stepsStarted());
            assertTrue(off.deviceInfo().peakBytes() <= budget, "peak " + off.deviceInfo().peakBytes() + " > budget " + budget);
        }
    }

    /**
     * A thread holding an open step of one turn-taking component that opens another's, with no room
     * for both, is refused at once (waiting would wait for itself), naming both; with its step
     * closed, the other's step goes.
     */
    @Test
    void aThreadHoldingOneTurnsStepIsRefusedAtOnceForAnotherThatWouldWaitForIt() {
        long budget = largest() + 2 * ReferenceWorkload.deviceBytes(TOKENS, HIDDEN) + sizes.get("vae") / 2;
        try (Offloader off = Offloader.open(config().strategy(Strategy.MODEL_OFFLOAD).deviceBudget(budget).build())) {
            Map<String, BlockGraph> graphs = new java.util.LinkedHashMap<>();
            graphs.put("vae", BlockGraph.discover(pipeline.component("vae")));
            graphs.put("transformer", BlockGraph.discover(pipeline.component("transformer")));
            off.registerGraphs(graphs);
            org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(30), () -> {
                try (Step held = off.step("transformer")) {
                    var it = held.iterator();
                    it.next();
                    long t0 = System.nanoTime();
                    OffloadException e = assertThrows(OffloadException.class, () -> off.step("vae"));
                    long tookMs = (System.nanoTime() - t0) / 1_000_000;
                    assertTrue(tookMs < 2000, "refused at once, not after waiting: " + tookMs + " ms");
                    assertEquals(Status.INVALID_ARGUMENT, e.status());
                    assertTrue(e.getMessage().contains("component 'vae'") && e.getMessage().contains("holds an open step of component"
                            + " 'transformer'") && e.getMessage().contains("wait for that step"), e.getMessage());
                    while (it.hasNext()) it.next();
                }
                try (Step s = off.step("vae")) {
                    for (Group g : s) assertTrue(g.byteSize() > 0);
                }
            });
            assertFalse(off.component("transformer").isActive(), "the VAE's turn evicted the transformer");
        }
    }
}
