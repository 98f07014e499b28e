package dev.offload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.graph.Grouping;
import dev.offload.workload.SyntheticModel;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/**
 * An override to another grouping streams from the host copy the component was packed with, where
 * that copy serves it (memory.PackedLayout): leaf level from a one-block-per-group copy (each leaf
 * group a slice of its block's packed group) and LAYERWISE from a two-blocks-per-group copy. Every
 * tensor arrives bit-exact, nothing is pinned again, and the scope's close restores the packed
 * grouping. A grouping the copy cannot serve (blocks from a leaf-level copy) is refused, saying why,
 * the component left as it was. Before, an override kept the grouping, and LAYERWISE over two
 * blocks per group was refused.
 */
class RegroupingOverrideTest {
    @TempDir
    static Path dir;

    private static Path model(String name) {
        Path file = dir.resolve(name + ".safetensors");
        SyntheticModel.write(file, 48, 3, 2, 5);
        return file;
    }

    @ParameterizedTest
    @EnumSource(value = HostSource.class, names = {"PINNED", "LOWMEM", "DISK"})
    void leafLevelFromABlockLevelCopyStreamsItsSlicesBitExactAndPinsNothingMore(HostSource source) {
        try (Checkpoint ckpt = Checkpoint.open(model("leaf-" + source));
             Offloader off = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).blocksPerGroup(1)
                     .source(source).deviceBudget(16 << 20).build())) {
            Component c = off.register("model", ckpt);
            Map<String, MemorySegment> expected = LifecycleTest.bytesOf(ckpt);
            int blockGroups = c.groupCount();
            var blockPlan = c.plan();
            long pinned = off.deviceInfo().hostUsedBytes();
            LifecycleTest.stepAndCompare(off, "model", expected);
            try (ArrangementScope scope = off.override("model", Strategy.GROUP_OFFLOAD, Grouping.leaf())) {
                assertEquals(Grouping.leaf(), c.setup().grouping());
                assertEquals(ckpt.tensors().size(), c.groupCount(), "one group per tensor");
                assertTrue(c.groupCount() > blockGroups);
                // LOWMEM and DISK pin only a staging ring, sized by the engine's groups
                if (source == HostSource.PINNED) assertEquals(pinned, off.deviceInfo().hostUsedBytes(), "nothing pinned again: slices of the copy");
                for (int i = 0; i < 2; i++) assertEquals(ckpt.tensors().size(), LifecycleTest.stepAndCompare(off, "model", expected));
                assertTrue(c.metrics(c.stepsStarted() - 1, true).h2dBytes() > 0, "streamed");
                if (source == HostSource.PINNED) assertEquals(pinned, off.deviceInfo().hostUsedBytes());
            }
            assertEquals(Grouping.blocks(1), c.setup().grouping());
            assertSame(blockPlan, c.plan(), "the packed grouping's plan is back");
            assertEquals(blockGroups, c.groupCount());
            LifecycleTest.stepAndCompare(off, "model", expected);
        }
    }

    @Test
    void layerwiseFromTwoBlocksPerGroupStreamsOneBlockSlices() {
        try (Checkpoint ckpt = Checkpoint.open(model("two"));
             Offloader off = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).blocksPerGroup(2)
                     .deviceBudget(16 << 20).build())) {
            Component c = off.register("model", ckpt);
            Map<String, MemorySegment> expected = LifecycleTest.bytesOf(ckpt);
            int twoBlockGroups = c.groupCount();
            long pinned = off.deviceInfo().hostUsedBytes();
            try (ArrangementScope scope = off.override("model", Strategy.LAYERWISE)) {
                assertEquals(Grouping.blocks(1), c.setup().grouping());
                assertTrue(c.groupCount() > twoBlockGroups, c.groupCount() + " groups");
                assertEquals(ckpt.tensors().size(), LifecycleTest.stepAndCompare(off, "model", expected));
                assertEquals(pinned, off.deviceInfo().hostUsedBytes(), "nothing pinned again");
            }
            assertEquals(twoBlockGroups, c.groupCount());
        }
    }

    @Test
    void aGroupingTheCopyCannotServeIsRefusedSayingWhyAndNothingChanges() {
        try (Checkpoint ckpt = Checkpoint.open(model("refused"));
             Offloader off = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).leafLevel()
                     .deviceBudget(16 << 20).build())) {
            Component c = off.register("model", ckpt);
            var plan = c.plan();
            OffloadException blocks = assertThrows(OffloadException.class, () -> off.override("model", Strategy.GROUP_OFFLOAD, Grouping.blocks(1)));
            assertEquals(Status.INVALID_ARGUMENT, blocks.status());
            assertTrue(blocks.getMessage().contains("override of 'model': GROUP_OFFLOAD at 1 block per group needs groups that its host copy,"
                    + " packed at leaf level, cannot serve") && blocks.getMessage().contains("spans packed groups"), blocks.getMessage());
            OffloadException layerwise = assertThrows(OffloadException.class, () -> off.override("model", Strategy.LAYERWISE));
            assertTrue(layerwise.getMessage().contains("cannot serve"), layerwise.getMessage());
            OffloadException leafLayerwise = assertThrows(OffloadException.class, () -> off.override("model", Strategy.LAYERWISE, Grouping.leaf()));
            assertTrue(leafLayerwise.getMessage().contains("LAYERWISE streams 1 block per group, not leaf level"), leafLayerwise.getMessage());
            assertSame(plan, c.plan(), "nothing changed");
            assertEquals(ckpt.tensors().size(), LifecycleTest.stepAndCompare(off, "model", LifecycleTest.bytesOf(ckpt)));
            try (var scope = off.override("model", Strategy.GROUP_OFFLOAD)) {  // no override left open by the refusals
                assertEquals(Grouping.leaf(), c.setup().grouping());
            }
        }
    }
}
