package dev.offload.plan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.Strategy;
import dev.offload.checkpoint.DType;
import dev.offload.graph.GroupSpec;
import dev.offload.graph.TensorRef;
import dev.offload.memory.HostPacking;
import dev.offload.runtime.DeviceRuntime;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ComponentPlanTest {
    static final Arena ARENA = Arena.ofAuto();

    static PackedGroup group(String name, long... tensorBytes) {
        List<TensorRef> tensors = new ArrayList<>();
        for (int i = 0; i < tensorBytes.length; i++) {
            tensors.add(new TensorRef(name + "." + i, DType.U8, new long[] {tensorBytes[i]}, ARENA.allocate(Math.max(1, tensorBytes[i])).asSlice(0, tensorBytes[i])));
        }
        GroupSpec.Role role = name.equals("head") ? GroupSpec.Role.HEAD : name.equals("tail") ? GroupSpec.Role.TAIL : GroupSpec.Role.BLOCKS;
        return PackedGroup.of(new GroupSpec(name, tensors, role));
    }

    static List<PackedGroup> model() {
        return List.of(group("head", 1000), group("b.0", 4096, 10), group("b.1", 4096, 10), group("b.2", 4096, 10), group("tail", 300));
    }

    @Test
    void packingAlignsEveryTensorTo256Bytes() {
        PackedGroup g = group("g", 10, 300, 0, 5);
        assertArrayEquals(new long[] {0, 256, 768, 768}, g.offsets());
        assertEquals(1024, g.bytes());
    }

    @Test
    void layerwiseKeepsHeadAndTailAndShrinksTheWindowToFit() {
        // blocks pack to 4096 + 256 -> 4352 bytes; head 1024, tail 512
        ComponentPlan roomy = ComponentPlan.make("c", Strategy.LAYERWISE, model(), false, 3, 1_000_000);
        assertEquals(3, roomy.slots());
        assertEquals(2, roomy.prefetchDepth());
        assertArrayEquals(new boolean[] {true, false, false, false, true}, roomy.resident());
        assertEquals(1536 + 3 * 4352, roomy.deviceBytes());

        ComponentPlan tight = ComponentPlan.make("c", Strategy.LAYERWISE, model(), false, 3, 1536 + 2 * 4352 + 100);
        assertEquals(2, tight.slots());
        assertTrue(tight.describe().contains("2 slot(s)") && tight.describe().contains("wanted 3"), tight.describe());

        ComponentPlan streamed = ComponentPlan.make("c", Strategy.LAYERWISE, model(), false, 3, 4352 + 100);
        assertArrayEquals(new boolean[5], streamed.resident());
        assertEquals(1, streamed.slots());
        assertEquals(0, streamed.prefetchDepth());
        assertTrue(streamed.describe().contains("streaming them too"), streamed.describe());
    }

    @Test
    void groupOffloadUsesTwoSlotsOrEightAtLeafLevel() {
        assertEquals(2, ComponentPlan.make("c", Strategy.GROUP_OFFLOAD, model(), false, 2, 1_000_000).slots());
        assertEquals(5, ComponentPlan.make("c", Strategy.GROUP_OFFLOAD, model(), true, 2, 1_000_000).slots(),
                "at leaf level up to 8, and never more slots than streamed groups");
        assertEquals(3, ComponentPlan.make("c", Strategy.GROUP_OFFLOAD, model(), true, 2, 3 * 4352 + 255).slots());
        ComponentPlan one = ComponentPlan.make("c", Strategy.GROUP_OFFLOAD, model(), false, 2, 4352 * 2 - 1);
        assertEquals(1, one.slots());
        assertTrue(one.describe().contains("no prefetch"), one.describe());
    }

    @Test
    void budgetsTooSmallNameBothNumbers() {
        OffloadException small = assertThrows(OffloadException.class,
                () -> ComponentPlan.make("dit", Strategy.GROUP_OFFLOAD, model(), false, 2, 4000));
        assertEquals(Status.INVALID_ARGUMENT, small.status());
        assertTrue(small.getMessage().contains("component 'dit'") && small.getMessage().contains("4000")
                && small.getMessage().contains("'b.0' of 4352 bytes"), small.getMessage());
        OffloadException all = assertThrows(OffloadException.class,
                () -> ComponentPlan.make("dit", Strategy.NO_OFFLOAD, model(), false, 2, 10_000));
        assertTrue(all.getMessage().contains("NO_OFFLOAD needs 14592 device bytes"), all.getMessage());
    }

    @Test
    void aPlanNeverAsksForMoreThanTheBudget() {
        Random random = new Random(3);
        for (int trial = 0; trial < 500; trial++) {
            List<PackedGroup> groups = new ArrayList<>();
            groups.add(group("head", random.nextInt(5000)));
            int n = 1 + random.nextInt(12);
            for (int i = 0; i < n; i++) groups.add(group("b." + i, random.nextInt(20_000), random.nextInt(300)));
            if (random.nextBoolean()) groups.add(group("tail", random.nextInt(3000)));
            long largest = groups.stream().mapToLong(g -> PackedGroup.alignUp(g.bytes())).max().orElseThrow();
            long available = largest + random.nextInt(200_000);
            for (Strategy s : new Strategy[] {Strategy.GROUP_OFFLOAD, Strategy.LAYERWISE}) {
                ComponentPlan p = ComponentPlan.make("c", s, groups, random.nextBoolean() && s == Strategy.GROUP_OFFLOAD,
                        1 + random.nextInt(6), available);
                assertTrue(p.deviceBytes() <= available, s + " asks " + p.deviceBytes() + " of " + available);
                assertTrue(p.slots() >= 1 && p.prefetchDepth() == p.slots() - 1);
            }
        }
    }

    @Test
    void hostPackingHoldsOneAlignedCopyInSlabsOfTheTargetSize() {
        List<PackedGroup> groups = new ArrayList<>();
        Random random = new Random(9);
        for (int g = 0; g < 10; g++) {
            PackedGroup p = group("g" + g, 100_000 + random.nextInt(200_000), 7, random.nextInt(5000));
            for (TensorRef t : p.spec().tensors()) {
                for (long i = 0; i < t.byteSize(); i++) t.data().set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
            }
            groups.add(p);
        }
        long model = groups.stream().mapToLong(PackedGroup::bytes).sum();
        try (DeviceRuntime rt = DeviceRuntime.open("host", 1 << 20);
             HostPacking packing = HostPacking.pack(rt, groups, 1 << 20)) {
            assertTrue(packing.pinnedBytes() >= model && packing.pinnedBytes() <= model + 10 * 4096, packing.pinnedBytes() + " for " + model);
            assertEquals(packing.pinnedBytes(), rt.info().hostUsedBytes());
            for (int g = 0; g < groups.size(); g++) {
                MemorySegment packed = packing.group(g);
                assertEquals(groups.get(g).bytes(), packed.byteSize());
                List<TensorRef> tensors = groups.get(g).spec().tensors();
                for (int i = 0; i < tensors.size(); i++) {
                    long at = groups.get(g).offsets()[i];
                    assertEquals(-1, packed.asSlice(at, tensors.get(i).byteSize()).mismatch(tensors.get(i).data()));
                    assertEquals(0, packed.address() % 4096, "groups start on a page");
                    assertEquals(0, (packed.address() + at) % 256, "tensors start on 256 bytes");
                }
            }
        }
    }
}
