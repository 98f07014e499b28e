package dev.offload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.DType;
import dev.offload.checkpoint.SafetensorsWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A named shared host region in one JVM (several offloaders stand for several processes; the
 * cross-process figures are cli/SharedHostProcessesTest's): created, then mapped, bit for bit;
 * rebuilt, saying why, when stale (a source touched), foreign (another model under the name) or
 * incomplete (no complete mark); an offloader mapping the old region keeps it across a rebuild;
 * the region is registered as pinned; the last close leaves it, or removes it when asked.
 */
class SharedHostTest {
    @TempDir
    Path dir;
    Path shm;

    @BeforeEach
    void folder() throws IOException {
        Path base = Files.isDirectory(SharedHost.DEFAULT_FOLDER) ? SharedHost.DEFAULT_FOLDER : dir;
        shm = Files.createTempDirectory(base, "offload-shared-host-test-");
    }

    @AfterEach
    void removeFolder() throws IOException {
        try (Stream<Path> s = Files.walk(shm)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    Path model(String name, long seed) {
        List<SafetensorsWriter.Spec> specs = new ArrayList<>();
        specs.add(new SafetensorsWriter.Spec("embed.weight", DType.F16, new long[] {64, 96}));
        for (int i = 0; i < 4; i++) {
            specs.add(new SafetensorsWriter.Spec("blocks." + i + ".attn.weight", DType.BF16, new long[] {96, 96}));
            specs.add(new SafetensorsWriter.Spec("blocks." + i + ".mlp.weight", DType.F32, new long[] {96, 80}));
        }
        specs.add(new SafetensorsWriter.Spec("norm_out.weight", DType.F32, new long[] {96}));
        Path file = dir.resolve(name);
        java.util.Random random = new java.util.Random(seed);
        SafetensorsWriter.write(file, specs, Map.of(), (spec, target) -> {
            for (long i = 0; i < target.byteSize(); i++) target.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
        });
        return file;
    }

    String device = "host";

    OffloadConfig config(SharedHost region) {
        return OffloadConfig.builder().device(device).strategy(Strategy.GROUP_OFFLOAD).h2dGbps(10).sharedHost(region).build();
    }

    /** Registers the model in a fresh offloader, checks two steps bit for bit, and gives the outcome (the offloader stays open). */
    record Opened(Offloader off, Checkpoint checkpoint, Component component) implements AutoCloseable {
        @Override
        public void close() {
            off.close();
            checkpoint.close();
        }
    }

    Opened open(Path model, SharedHost region) {
        Checkpoint ckpt = Checkpoint.open(model);
        Offloader off = Offloader.open(config(region));
        Component c = off.register("model", ckpt);
        var expected = LifecycleTest.bytesOf(ckpt);
        for (int s = 0; s < 2; s++) assertEquals(expected.size(), LifecycleTest.stepAndCompare(off, "model", expected));
        return new Opened(off, ckpt, c);
    }

    /** The one region file of component "model" under {@code name} in the folder (its name ends in the layout's 8 hex digits). */
    Path regionFile(String name) throws IOException {
        try (Stream<Path> s = Files.list(shm)) {
            List<Path> found = s.filter(p -> p.getFileName().toString().startsWith("offload-" + name + ".model.")).toList();
            assertEquals(1, found.size(), "one region named " + name + ": " + found);
            return found.get(0);
        }
    }

    /**
     * Two groupings of one model under one name (two processes or devices planning differently) keep
     * a region each: neither rebuilds the other's, each maps its own again, and the files differ by
     * the layout's hash only. On the old code (one file per name and component) each open rebuilt
     * the other's region ("rebuilt: ... another layout").
     */
    @Test
    void twoGroupingsUnderOneNameKeepARegionEach() throws Exception {
        Path model = model("m.safetensors", 9);
        SharedHost region = SharedHost.named("t6").in(shm);
        List<String> outcomes = new ArrayList<>();
        for (int round = 0; round < 2; round++) {
            for (int blocks : new int[] {1, 2}) {
                try (Checkpoint ckpt = Checkpoint.open(model);
                     Offloader off = Offloader.open(OffloadConfig.builder().device(device).strategy(Strategy.GROUP_OFFLOAD).h2dGbps(10)
                             .blocksPerGroup(blocks).sharedHost(region).build())) {
                    Component c = off.register("model", ckpt);
                    var expected = LifecycleTest.bytesOf(ckpt);
                    assertEquals(expected.size(), LifecycleTest.stepAndCompare(off, "model", expected));
                    outcomes.add(c.sharedHost().substring(0, c.sharedHost().indexOf(':')) + " " + c.plan().groups().size());
                }
            }
        }
        assertEquals("created", outcomes.get(0).split(" ")[0], outcomes.toString());
        assertEquals(List.of("created", "created", "mapped", "mapped"), outcomes.stream().map(o -> o.split(" ")[0]).toList(), outcomes.toString());
        assertFalse(outcomes.get(0).split(" ")[1].equals(outcomes.get(1).split(" ")[1]), "two groupings: " + outcomes);
        try (Stream<Path> s = Files.list(shm)) {
            List<String> regions = s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("offload-")).sorted().toList();
            assertEquals(2, regions.size(), regions.toString());
            for (String n : regions) assertTrue(n.matches("offload-t6\\.model\\.[0-9a-f]{8}"), n);
        }
    }

    @Test
    void theSecondOpenMapsTheFirstsRegionBitForBitAndItStaysAfterTheLastClose() throws Exception {
        Path model = model("m.safetensors", 1);
        SharedHost region = SharedHost.named("t1").in(shm);
        try (Opened a = open(model, region)) {
            Path file = regionFile("t1");
            assertTrue(file.getFileName().toString().matches("offload-t1\\.model\\.[0-9a-f]{8}"), file.toString());
            assertTrue(a.component().sharedHost().startsWith("created: " + file + " ("), a.component().sharedHost());
            assertEquals(0, a.component().hostBytesPageable());
            assertEquals(Files.size(file), a.component().hostBytes(), "the whole region, registered as pinned");
            assertEquals(Files.size(file), a.off().deviceInfo().hostUsedBytes(), "counted as the runtime's pinned host bytes");
            Object inode = Files.getAttribute(file, "unix:ino");
            try (Opened b = open(model, region)) {
                assertTrue(b.component().sharedHost().startsWith("mapped: " + file + " ("), b.component().sharedHost());
                assertEquals(inode, Files.getAttribute(file, "unix:ino"), "mapped, not packed again");
            }
        }
        Path file = regionFile("t1");
        assertTrue(Files.isRegularFile(file), "the last close leaves the region in place");
        try (Opened again = open(model, region)) {
            assertTrue(again.component().sharedHost().startsWith("mapped: "), again.component().sharedHost());
        }
        try (var list = Files.list(shm)) {
            String name = file.getFileName().toString();
            assertEquals(List.of("." + name + ".lock", name), list.map(p -> p.getFileName().toString()).sorted().toList(),
                    "the region and its lock file, no temporary");
        }
    }

    @Test
    void onCudaEachMappingIsRegisteredPortableAndTheEngineTakesItAsPinned() throws Exception {
        String why = TestBackends.cudaUnavailableBecause();
        org.junit.jupiter.api.Assumptions.assumeTrue(why == null, why);
        device = "cuda";  // the engine refuses pageable groups on cuda: a mapping not registered would fail to start
        Path model = model("m.safetensors", 8);
        SharedHost region = SharedHost.named("tc").in(shm);
        try (Opened a = open(model, region); Opened b = open(model, region)) {
            assertTrue(a.component().sharedHost().startsWith("created: "), a.component().sharedHost());
            assertTrue(b.component().sharedHost().startsWith("mapped: "), b.component().sharedHost());
            assertEquals(0, b.component().hostBytesPageable());
        }
    }

    @Test
    void aStaleRegionIsRebuiltSayingWhyAndAProcessMappingTheOldOneKeepsIt() throws Exception {
        Path model = model("m.safetensors", 2);
        SharedHost region = SharedHost.named("t2").in(shm);
        try (Opened old = open(model, region)) {
            Path file = regionFile("t2");
            Object inode = Files.getAttribute(file, "unix:ino");
            Files.setLastModifiedTime(model, FileTime.fromMillis(Files.getLastModifiedTime(model).toMillis() + 5000));
            try (Opened rebuilt = open(model, region)) {
                assertEquals("rebuilt: " + file + " was stale: " + model.toAbsolutePath() + " changed since it was packed (modification time"
                        + " changed, change time changed (written, renamed into place, or its times set))", rebuilt.component().sharedHost());
                assertFalse(inode.equals(Files.getAttribute(file, "unix:ino")), "a new object renamed over the name");
            }
            var expected = LifecycleTest.bytesOf(old.checkpoint());
            assertEquals(expected.size(), LifecycleTest.stepAndCompare(old.off(), "model", expected), "the old mapping still serves its steps");
        }
    }

    @Test
    void aForeignRegionUnderTheNameIsRebuiltSayingWhose() throws Exception {
        Path first = model("first.safetensors", 3), second = model("second.safetensors", 4);
        SharedHost region = SharedHost.named("t3").in(shm);
        try (Opened a = open(first, region)) {
            assertTrue(a.component().sharedHost().startsWith("created: "));
        }
        Path file = regionFile("t3");  // the second model has the same layout: the same region name
        try (Opened b = open(second, region)) {
            assertEquals("rebuilt: " + file + " was foreign: it was packed from other files (" + first.toAbsolutePath() + ")",
                    b.component().sharedHost());
        }
        Files.writeString(file, "not a region at all, just text");
        try (Opened c = open(second, region)) {
            assertEquals("rebuilt: " + file + " was foreign: it is not an offload shared host region (no OFLSHM01 mark)", c.component().sharedHost());
        }
    }

    @Test
    void aRegionWithoutItsCompleteMarkIsNeverMapped() throws Exception {
        Path model = model("m.safetensors", 5);
        SharedHost region = SharedHost.named("t4").in(shm);
        try (Opened a = open(model, region)) {
            assertTrue(a.component().sharedHost().startsWith("created: "));
        }
        Path file = regionFile("t4");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(8), 8);  // the mark a writer stopped while packing never wrote
        }
        try (Opened b = open(model, region)) {
            assertEquals("rebuilt: " + file + " was incomplete: its complete mark is missing (its writer was stopped while packing)",
                    b.component().sharedHost());
        }
        try (Opened c = open(model, region)) {
            assertTrue(c.component().sharedHost().startsWith("mapped: "), c.component().sharedHost());
        }
    }

    @Test
    void theLastCloseRemovesTheRegionWhenAsked() throws Exception {
        Path model = model("m.safetensors", 6);
        SharedHost region = SharedHost.named("t5").in(shm).removedAtClose();
        try (Opened a = open(model, region)) {
            Path file = regionFile("t5");
            try (Opened b = open(model, region)) {
                assertTrue(b.component().sharedHost().startsWith("mapped: "));
            }
            assertTrue(Files.exists(file), "another user still maps it");
        }
        try (var list = Files.list(shm)) {
            assertEquals(List.of(), list.toList(), "the last close removed the region and its lock file");
        }
    }

    @Test
    void aPrivateCopyHasNoRegionAndBadNamesAndSourcesAreRefused() throws Exception {
        Path model = model("m.safetensors", 7);
        try (Checkpoint ckpt = Checkpoint.open(model);
             Offloader off = Offloader.open(OffloadConfig.builder().device("host").h2dGbps(10).build())) {
            assertNull(off.register("model", ckpt).sharedHost());
        }
        for (String bad : new String[] {"", ".hidden", "a/b", "-x"}) {
            OffloadException e = assertThrows(OffloadException.class, () -> SharedHost.named(bad));
            assertEquals(Status.INVALID_ARGUMENT, e.status());
        }
        OffloadException e = assertThrows(OffloadException.class,
                () -> OffloadConfig.builder().source(HostSource.DISK).sharedHost(SharedHost.named("x")).build());
        assertTrue(e.getMessage().contains("needs the PINNED source, got DISK"), e.getMessage());
        SharedHost missing = SharedHost.named("x").in(shm.resolve("nope"));
        try (Checkpoint ckpt = Checkpoint.open(model); Offloader off = Offloader.open(config(missing))) {
            e = assertThrows(OffloadException.class, () -> off.register("model", ckpt));
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().contains("the folder " + shm.resolve("nope") + " does not exist"), e.getMessage());
        }
    }
}
