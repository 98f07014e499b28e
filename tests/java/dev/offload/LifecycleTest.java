package dev.offload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.DType;
import dev.offload.checkpoint.Pipeline;
import dev.offload.graph.TensorRef;
import dev.offload.runtime.PinnedBuffer;
import dev.offload.workload.SyntheticModel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Components' lifecycle on the host backend: pipelines sharing components by reference count, a
 * scoped strategy override that restores the arrangement (on exceptions too) and refuses a second
 * one, tensors added (LoRA) and removed with a re-plan, and no allocation left behind.
 */
class LifecycleTest {
    @TempDir
    Path dir;

    Path pipelineFolder() throws java.io.IOException {
        Path root = dir.resolve("pipe");
        SyntheticModel.write(Files.createDirectories(root.resolve("text_encoder")).resolve("model.safetensors"), 32, 2, 1, 1);
        SyntheticModel.write(Files.createDirectories(root.resolve("transformer")).resolve("diffusion_pytorch_model.safetensors"), 48, 3, 3, 2);
        Files.writeString(root.resolve("model_index.json"), "{\"_class_name\": \"P\", \"text_encoder\": [\"a\", \"B\"], \"transformer\": [\"c\", \"D\"]}");
        return root;
    }

    /** One step of a component; every group's tensors copied back (stream order, pinned) and compared with {@code expected}. */
    static int stepAndCompare(Offloader off, String name, Map<String, MemorySegment> expected) {
        int checked = 0;
        try (PinnedBuffer back = off.runtime().allocatePinned(64 << 20)) {
            Map<String, Long> at = new HashMap<>();
            Map<String, Long> size = new HashMap<>();
            long offset = 0;
            try (Step s = off.step(name)) {
                for (Group g : s) {
                    for (DeviceTensor t : g.tensors()) {
                        s.computeStream().copyToHost(t.devicePointer(), back.segment().asSlice(offset, t.byteSize()), t.byteSize());
                        at.put(t.name(), offset);
                        size.put(t.name(), t.byteSize());
                        offset += t.byteSize();
                    }
                }
            }
            off.computeStream().synchronize();
            assertEquals(expected.keySet(), at.keySet(), "the step's tensors");
            for (var e : at.entrySet()) {
                assertEquals(-1, back.segment().asSlice(e.getValue(), size.get(e.getKey())).mismatch(expected.get(e.getKey())), e.getKey());
                checked++;
            }
        }
        return checked;
    }

    static Map<String, MemorySegment> bytesOf(Checkpoint c) {
        Map<String, MemorySegment> out = new HashMap<>();
        c.tensors().forEach(t -> out.put(t.name(), c.data(t)));
        return out;
    }

    static void assertNothingAllocated(Offloader off) {
        var info = off.deviceInfo();
        assertEquals(0, info.usedBytes(), "device bytes left");
        assertEquals(0, info.hostUsedBytes(), "pinned host bytes left");
    }

    @Test
    void pipelinesShareComponentsByReferenceAndTheLastUnregisterFreesEverything() throws Exception {
        Path folder = pipelineFolder();
        try (Pipeline a = Pipeline.open(folder); Pipeline b = Pipeline.open(folder);
             Offloader off = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).build())) {
            Map<String, Component> first = off.registerAll(a);
            long device = off.deviceInfo().usedBytes(), host = off.deviceInfo().hostUsedBytes();
            Map<String, Component> second = off.registerAll(b);
            for (String name : first.keySet()) {
                assertSame(first.get(name), second.get(name), name);
                assertEquals(2, first.get(name).references(), name);
            }
            assertEquals(device, off.deviceInfo().usedBytes(), "one copy on the device");
            assertEquals(host, off.deviceInfo().hostUsedBytes(), "one copy in pinned memory");
            off.unregisterAll(a);
            assertTrue(stepAndCompare(off, "transformer", bytesOf(b.component("transformer"))) > 0, "b still runs after a left");
            assertEquals(1, off.component("transformer").references());
            off.unregisterAll(b);
            assertTrue(off.components().isEmpty());
            assertNothingAllocated(off);
            assertThrows(OffloadException.class, () -> off.unregister("transformer"));
        }
    }

    /** Null where an argument is required: INVALID_ARGUMENT naming it, never a NullPointerException. */
    @Test
    void nullArgumentsAreInvalidArgumentsNamingWhatIsMissing() throws Exception {
        Path file = dir.resolve("nulls.safetensors");
        SyntheticModel.write(file, 32, 2, 1, 3);
        assertEquals(Status.INVALID_ARGUMENT, assertThrows(OffloadException.class, () -> Offloader.open(null)).status());
        try (Checkpoint c = Checkpoint.open(file); Offloader off = Offloader.open(OffloadConfig.builder().device("host").build())) {
            List<org.junit.jupiter.api.function.Executable> calls = List.of(
                    () -> off.register("m", (Checkpoint) null),
                    () -> off.register("m", (dev.offload.graph.BlockGraph) null),
                    () -> off.registerAll(null),
                    () -> off.registerGraphs(null),
                    () -> off.preview(null, java.util.OptionalLong.empty()));
            for (var call : calls) {
                OffloadException e = assertThrows(OffloadException.class, call);
                assertEquals(Status.INVALID_ARGUMENT, e.status());
                assertTrue(e.getMessage().endsWith(" is null"), e.getMessage());
            }
            off.register("m", c);
            assertTrue(assertThrows(OffloadException.class, () -> off.addTensors("m", null)).getMessage().contains("component 'm'"));
            assertTrue(assertThrows(OffloadException.class, () -> off.removeTensors("m", null)).getMessage().contains("component 'm'"));
            OffloadException threw = assertThrows(OffloadException.class, () -> off.removeTensors("m", n -> {
                throw new IllegalStateException("no");
            }));
            assertTrue(threw.getMessage().contains("component 'm'") && threw.getMessage().contains("no"), threw.getMessage());
            assertEquals(1, off.components().size(), "nothing changed");
        }
    }

    @Test
    void anotherSourceUnderARegisteredNameIsRefusedNamingBoth() throws Exception {
        Path folder = pipelineFolder();
        Path other = dir.resolve("other.safetensors");
        SyntheticModel.write(other, 32, 2, 1, 9);
        try (Pipeline p = Pipeline.open(folder); Checkpoint c = Checkpoint.open(other);
             Offloader off = Offloader.open(OffloadConfig.builder().device("host").build())) {
            off.registerAll(p);
            var e = assertThrows(OffloadException.class, () -> off.register("text_encoder", c));
            assertTrue(e.getMessage().contains("registered already from") && e.getMessage().contains("other.safetensors")
                    && e.getMessage().contains("unregister it first"), e.getMessage());
            assertEquals(1, off.component("text_encoder").references());
            // the same file touched since: said so, not the same path twice
            Path same = p.component("text_encoder").files().get(0);
            java.nio.file.Files.setLastModifiedTime(same, java.nio.file.attribute.FileTime.fromMillis(
                    java.nio.file.Files.getLastModifiedTime(same).toMillis() + 7000));
            try (Checkpoint touched = Checkpoint.open(same)) {
                var t = assertThrows(OffloadException.class, () -> off.register("text_encoder", touched));
                assertTrue(t.getMessage().contains("the same file(s), changed since"), t.getMessage());
            }
        }
    }

    @Test
    void aScopedOverrideRestoresTheArrangementAlsoOnExceptionsAndASecondOneFails() throws Exception {
        Path folder = pipelineFolder();
        try (Pipeline p = Pipeline.open(folder);
             Offloader off = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD)
                     .deviceBudget(8 << 20).build())) {
            off.registerAll(p);
            Component vae = off.component("transformer");
            Map<String, MemorySegment> expected = bytesOf(p.component("transformer"));
            var before = vae.plan();
            assertThrows(IllegalStateException.class, () -> {
                try (ArrangementScope scope = off.override("transformer", Strategy.MODEL_OFFLOAD)) {
                    assertEquals(Strategy.MODEL_OFFLOAD, vae.setup().strategy());
                    var second = assertThrows(OffloadException.class, () -> off.override("transformer", Strategy.NO_OFFLOAD));
                    assertTrue(second.getMessage().contains("already has an arrangement override open"), second.getMessage());
                    stepAndCompare(off, "transformer", expected);
                    stepAndCompare(off, "transformer", expected);
                    assertEquals(0, vae.metrics(vae.stepsStarted() - 1, true).h2dBytes(), "resident: nothing streams");
                    throw new IllegalStateException("decode failed");
                }
            });
            assertEquals(Strategy.GROUP_OFFLOAD, vae.setup().strategy());
            assertSame(before, vae.plan(), "the previous plan is back");
            stepAndCompare(off, "transformer", expected);
            assertTrue(vae.metrics(vae.stepsStarted() - 1, true).h2dBytes() > 0, "streaming again");
            try (var scope = off.override("transformer", Strategy.NO_OFFLOAD)) {  // a new override once the first is closed
                stepAndCompare(off, "transformer", expected);
            }
        }
    }

    /**
     * An override on an AUTO component whose profiling is pending, closed while a step is open
     * (refused, still open, retryable), then closed: AUTO's follow-up moves to the restored
     * engine's steps, profiles, re-plans, and every step still sees its weights.
     */
    @Test
    void anOverrideOfAnAutoComponentMidFollowUpRestoresAndTheFollowUpGoesOn() throws Exception {
        Path file = dir.resolve("auto.safetensors");
        SyntheticModel.write(file, 48, 6, 2, 8);
        try (Checkpoint ckpt = Checkpoint.open(file);
             Offloader off = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.AUTO).h2dGbps(5)
                     .deviceBudget(ckpt.totalBytes() / 2).build())) {
            Component c = off.register("model", ckpt);
            var expected = bytesOf(ckpt);
            stepAndCompare(off, "model", expected);
            stepAndCompare(off, "model", expected);  // step 1: the profiled one
            ArrangementScope scope = off.override("model", Strategy.LAYERWISE);
            stepAndCompare(off, "model", expected);
            Step open = off.step("model");
            var refused = assertThrows(OffloadException.class, scope::close);
            assertTrue(refused.getMessage().contains("running a step"), refused.getMessage());
            open.close();
            scope.close();
            scope.close();  // idempotent
            assertEquals(Strategy.GROUP_OFFLOAD, c.setup().strategy(), "the size rule's arrangement is back");
            for (int s = 0; s < 5; s++) assertEquals(expected.size(), stepAndCompare(off, "model", expected));
            String explained = off.plan().explain();
            assertTrue(explained.contains("re-planned after step"), explained);
        }
    }

    /**
     * Closing an override while another thread holds a step waits for that step, then restores
     * (try-with-resources calls close once: failing there left the override on for good, refusing
     * every later override and tensor change).
     */
    @Test
    void closingAnOverrideWaitsForAStepOnAnotherThread() throws Exception {
        Path file = dir.resolve("override.safetensors");
        SyntheticModel.write(file, 48, 4, 2, 9);
        try (Checkpoint ckpt = Checkpoint.open(file);
             Offloader off = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).build())) {
            Component c = off.register("model", ckpt);
            var expected = bytesOf(ckpt);
            ArrangementScope scope = off.override("model", Strategy.NO_OFFLOAD);
            java.util.concurrent.CountDownLatch opened = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
            Thread stepper = new Thread(() -> {
                try (Step step = off.step("model")) {
                    opened.countDown();
                    release.await();
                    for (Group g : step) g.index();
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            stepper.start();
            assertTrue(opened.await(10, java.util.concurrent.TimeUnit.SECONDS));
            Thread closer = new Thread(() -> {
                try {
                    scope.close();
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            closer.start();
            closer.join(300);
            assertTrue(closer.isAlive(), "close waits for the other thread's step");
            assertEquals(Strategy.NO_OFFLOAD, c.setup().strategy(), "still overridden while the step runs");
            release.countDown();
            stepper.join(10_000);
            closer.join(10_000);
            assertFalse(closer.isAlive());
            assertEquals(null, failure.get());
            assertEquals(Strategy.GROUP_OFFLOAD, c.setup().strategy(), "restored once the step closed");
            try (ArrangementScope again = off.override("model", Strategy.LAYERWISE)) {  // a new override opens
                assertEquals(expected.size(), stepAndCompare(off, "model", expected));
            }
            assertEquals(expected.size(), stepAndCompare(off, "model", expected));
        }
    }

    @Test
    void tensorsAddedAndRemovedReplanWithoutReopeningAndLeaveNothingBehind() throws Exception {
        Path file = dir.resolve("model.safetensors");
        SyntheticModel.write(file, 48, 3, 2, 4);
        try (Arena arena = Arena.ofConfined(); Checkpoint ckpt = Checkpoint.open(file);
             Offloader off = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).build())) {
            Component c = off.register("model", ckpt);
            int groups = c.groupCount();
            long hostBefore = off.deviceInfo().hostUsedBytes(), copyBefore = c.hostBytes();
            Map<String, MemorySegment> expected = bytesOf(ckpt);
            java.util.Random random = new java.util.Random(3);
            List<TensorRef> lora = new java.util.ArrayList<>();
            for (String name : List.of("transformer_blocks.1.attn.to_q.lora_A.weight", "transformer_blocks.1.attn.to_q.lora_B.weight")) {
                MemorySegment data = arena.allocate(4 * 48 * 2);
                for (long i = 0; i < data.byteSize(); i++) data.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
                lora.add(new TensorRef(name, DType.F16, new long[] {4, 48}, data));
                expected.put(name, data);
            }
            Component withLora = off.addTensors("model", lora);
            assertEquals(groups, withLora.groupCount(), "the adapters join block 1's group");
            assertTrue(withLora.graph().tensors().stream().anyMatch(t -> t.name().endsWith("lora_A.weight")));
            long before = c.plan().groups().stream().mapToLong(g -> g.bytes()).sum();
            long after = withLora.plan().groups().stream().mapToLong(g -> g.bytes()).sum();
            assertEquals(before + 2 * 512, after, "two adapters of 384 bytes, each on a 256-byte boundary");
            assertTrue(withLora.hostBytes() >= copyBefore);
            assertSame(withLora, off.component("model"));
            assertFalse(c == withLora);
            assertEquals(expected.size(), stepAndCompare(off, "model", expected));
            var e = assertThrows(OffloadException.class, () -> off.addTensors("model", List.of(lora.get(0))));
            assertTrue(e.getMessage().contains("appears twice"), e.getMessage());
            assertSame(withLora, off.component("model"), "a refused change leaves the component as it was");
            Component without = off.removeTensors("model", n -> n.contains(".lora_"));
            lora.forEach(t -> expected.remove(t.name()));
            assertEquals(hostBefore, off.deviceInfo().hostUsedBytes());
            assertEquals(expected.size(), stepAndCompare(off, "model", expected));
            off.unregister("model");
            assertNothingAllocated(off);
            // a component whose checkpoint is closed keeps running, and a change is refused, losing nothing
            Checkpoint closing = Checkpoint.open(file);
            off.register("again", closing);
            closing.close();
            var refused = assertThrows(OffloadException.class, () -> off.addTensors("again", List.of(lora.get(0))));
            assertTrue(refused.getMessage().contains("no longer readable") && refused.getMessage().contains("keep the checkpoint open"),
                    refused.getMessage());
            assertEquals(expected.size(), stepAndCompare(off, "again", expected));
            assertEquals(0, without.references(), "unregistered");
        }
    }
}
