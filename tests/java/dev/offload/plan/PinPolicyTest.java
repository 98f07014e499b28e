package dev.offload.plan;

import static dev.offload.plan.ComponentPlanTest.group;
import static dev.offload.plan.ComponentPlanTest.model;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.OffloadConfig;
import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.Strategy;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Pin policies and BLOCK_PIN in the plan. The model: head 1024, blocks b.0..b.2 of 4352, tail 512
 * packed bytes (14592 in all).
 */
class PinPolicyTest {
    static final long BLOCK = 4352, TOTAL = 14592;

    static ComponentPlan plan(Strategy s, PinPolicy policy, long available) {
        return ComponentPlan.make("dit", s, model(), false, 2, new ComponentPlan.Pinning(policy, null, 0), available);
    }

    static OffloadException refused(Strategy s, PinPolicy policy, long available) {
        return assertThrows(OffloadException.class, () -> plan(s, policy, available));
    }

    @Test
    void firstLastPinsExactlyTwoGroupsAndTheRestStream() {
        ComponentPlan p = plan(Strategy.GROUP_OFFLOAD, PinPolicy.firstLast(), 1_000_000);
        assertArrayEquals(new boolean[] {true, false, false, false, true}, p.resident());
        assertEquals(List.of("head", "tail"), p.pinnedGroups());
        assertEquals(2, p.slots());
        assertEquals(1536 + 2 * BLOCK, p.deviceBytes());
        assertEquals(3 * BLOCK, p.streamedBytesPerStep());
        assertTrue(p.describe().contains("pin first_last: 2 group(s) pinned") && p.describe().contains("pinned (2, 1.50 KiB): head, tail"),
                p.describe());
        ComponentPlan one = ComponentPlan.make("c", Strategy.GROUP_OFFLOAD, List.of(group("only", 100)), false, 2,
                new ComponentPlan.Pinning(PinPolicy.firstLast(), null, 0), 10_000);
        assertEquals(List.of("only"), one.pinnedGroups(), "one group is both the first and the last");
    }

    @Test
    void allPinsAllAndNothingStreams() {
        ComponentPlan p = plan(Strategy.GROUP_OFFLOAD, PinPolicy.all(), TOTAL);
        assertArrayEquals(new boolean[] {true, true, true, true, true}, p.resident());
        assertEquals(0, p.slots());
        assertEquals(TOTAL, p.deviceBytes());
        assertEquals(0, p.streamedBytesPerStep());
        assertTrue(p.describe().contains("nothing streams"), p.describe());
        OffloadException e = refused(Strategy.GROUP_OFFLOAD, PinPolicy.all(), TOTAL - 1);
        assertEquals(Status.INVALID_ARGUMENT, e.status());
        assertTrue(e.getMessage().contains("component 'dit': pin policy all pins 5 group(s) of 14592 bytes")
                && e.getMessage().contains("leaves " + (TOTAL - 1)), e.getMessage());
    }

    @Test
    void countPinsThatManyOfTheLargestGroupsTiesInExecutionOrder() {
        for (int n = 0; n <= 5; n++) {
            ComponentPlan p = plan(Strategy.GROUP_OFFLOAD, PinPolicy.count(n), 1_000_000);
            assertEquals(n, p.pinnedGroups().size(), p.describe());
        }
        assertEquals(List.of("b.0", "b.1"), plan(Strategy.GROUP_OFFLOAD, PinPolicy.count(2), 1_000_000).pinnedGroups());
        assertEquals(List.of("head", "b.0", "b.1", "b.2"), plan(Strategy.GROUP_OFFLOAD, PinPolicy.count(4), 1_000_000).pinnedGroups());
        OffloadException e = refused(Strategy.GROUP_OFFLOAD, PinPolicy.count(6), 1_000_000);
        assertTrue(e.getMessage().contains("component 'dit': pin policy count:6 asks for 6 groups but the component has 5"), e.getMessage());
        OffloadException small = refused(Strategy.GROUP_OFFLOAD, PinPolicy.count(2), 3 * BLOCK - 1);
        assertTrue(small.getMessage().contains("pin policy count:2 pins 2 group(s) of 8704 bytes")
                && small.getMessage().contains("one slot of 4352"), small.getMessage());
    }

    @Test
    void aPredicatePinsExactlyWhatItSelects() {
        List<String> seen = new ArrayList<>();
        PinPolicy odd = PinPolicy.matching((name, index, spec) -> {
            seen.add(name + "@" + index + ":" + spec.tensors().size());
            return index % 2 == 1;
        });
        ComponentPlan p = plan(Strategy.GROUP_OFFLOAD, odd, 1_000_000);
        assertEquals(List.of("b.0", "b.2"), p.pinnedGroups());
        assertEquals(List.of("head@0:1", "b.0@1:2", "b.1@2:2", "b.2@3:2", "tail@4:1"), seen);
        assertEquals(List.of(), plan(Strategy.GROUP_OFFLOAD, PinPolicy.matching((n, i, g) -> false), 1_000_000).pinnedGroups());
    }

    @Test
    void aPredicateThatThrowsIsAClearErrorNamingTheGroup() {
        IllegalStateException boom = new IllegalStateException("boom");
        PinPolicy bad = PinPolicy.matching((name, index, spec) -> {
            if (name.equals("b.1")) throw boom;
            return false;
        });
        OffloadException e = refused(Strategy.GROUP_OFFLOAD, bad, 1_000_000);
        assertEquals(Status.INVALID_ARGUMENT, e.status());
        assertTrue(e.getMessage().contains("component 'dit': the pin predicate threw on group 'b.1' (index 2)")
                && e.getMessage().contains("boom"), e.getMessage());
        assertSame(boom, e.getCause());
        assertThrows(OffloadException.class, () -> PinPolicy.matching(null));
    }

    @Test
    void policiesParseFromTextAndUnknownOnesAreRefused() {
        assertInstanceOf(PinPolicy.None.class, PinPolicy.parse("none"));
        assertInstanceOf(PinPolicy.FirstLast.class, PinPolicy.parse("first_last"));
        assertInstanceOf(PinPolicy.FirstLast.class, PinPolicy.parse("First-Last"));
        assertInstanceOf(PinPolicy.All.class, PinPolicy.parse("ALL"));
        assertInstanceOf(PinPolicy.Budget.class, PinPolicy.parse("budget"));
        assertEquals(PinPolicy.count(3), PinPolicy.parse("count:3"));
        assertEquals("count:3", PinPolicy.parse(" count:3 ").toString());
        OffloadException unknown = assertThrows(OffloadException.class, () -> PinPolicy.parse("first"));
        assertTrue(unknown.getMessage().contains("unknown pin policy 'first'")
                && unknown.getMessage().contains("none, first_last, all, count:N, budget"), unknown.getMessage());
        assertTrue(assertThrows(OffloadException.class, () -> PinPolicy.parse("count:x")).getMessage().contains("whole number"));
        assertTrue(assertThrows(OffloadException.class, () -> PinPolicy.parse("count:-1")).getMessage().contains(">= 0"));
        assertThrows(OffloadException.class, () -> PinPolicy.parse(null));
    }

    @Test
    void configsCheckPoliciesWhenBuilt() {
        assertInstanceOf(PinPolicy.None.class, OffloadConfig.builder().build().pin());
        assertInstanceOf(PinPolicy.Budget.class, OffloadConfig.builder().strategy(Strategy.BLOCK_PIN).build().pin());
        OffloadException block = assertThrows(OffloadException.class,
                () -> OffloadConfig.builder().strategy(Strategy.BLOCK_PIN).pin(PinPolicy.firstLast()).build());
        assertTrue(block.getMessage().contains("BLOCK_PIN") && block.getMessage().contains("first_last"), block.getMessage());
        OffloadException none = assertThrows(OffloadException.class,
                () -> OffloadConfig.builder().strategy(Strategy.NO_OFFLOAD).pin(PinPolicy.count(1)).build());
        assertTrue(none.getMessage().contains("NO_OFFLOAD") && none.getMessage().contains("count:1"), none.getMessage());
        assertThrows(OffloadException.class, () -> OffloadConfig.builder().pin(null));
        assertThrows(OffloadException.class, () -> OffloadConfig.builder().activationReserve(-1).build());
        assertThrows(OffloadException.class, () -> new ComputeProfile(new double[] {1, Double.NaN}, 10));
        assertThrows(OffloadException.class, () -> new ComputeProfile(new double[] {1}, 0));
        assertEquals(Strategy.BLOCK_PIN, Strategy.parse("block_pin"));
        assertEquals(Strategy.BLOCK_PIN, Strategy.parse("Block-Pin"));
    }

    @Test
    void blockPinPinsAsManyAsFitBesideTwoSlotsLargestFirst() {
        // Room for everything: every group pinned, no ring.
        ComponentPlan roomy = plan(Strategy.BLOCK_PIN, PinPolicy.budget(), TOTAL);
        assertEquals(5, roomy.pinnedGroups().size());
        assertEquals(0, roomy.slots());
        // One block pinned beside 2 slots of 4352; the next block, the head or the tail would not fit.
        ComponentPlan one = plan(Strategy.BLOCK_PIN, PinPolicy.budget(), 3 * BLOCK);
        assertEquals(List.of("b.0"), one.pinnedGroups());
        assertEquals(2, one.slots());
        assertEquals(3 * BLOCK, one.deviceBytes());
        // A byte short of everything: a second block would leave two streamed blocks' slots beside
        // it (17408), all three leave 2 slots of the head (15104); the head still fits beside b.0.
        ComponentPlan almost = plan(Strategy.BLOCK_PIN, PinPolicy.budget(), TOTAL - 1);
        assertEquals(List.of("head", "b.0"), almost.pinnedGroups(), almost.describe());
        assertEquals(TOTAL - 512, almost.deviceBytes());
        // Below the ring's two slots: nothing pinned, GROUP_OFFLOAD's plan (one slot).
        ComponentPlan tight = plan(Strategy.BLOCK_PIN, PinPolicy.budget(), 2 * BLOCK - 1);
        assertEquals(List.of(), tight.pinnedGroups());
        assertEquals(1, tight.slots());
        assertTrue(tight.describe().contains("nothing more pinned"), tight.describe());
        assertTrue(one.describe().contains("pin budget (BLOCK_PIN): 1 more group(s) pinned, largest first")
                && one.describe().contains("pinned (1, 4.25 KiB): b.0"), one.describe());
        // The same through GROUP_OFFLOAD with budget(), and BLOCK_PIN's default pinning is budget().
        assertArrayEquals(one.resident(), plan(Strategy.GROUP_OFFLOAD, PinPolicy.budget(), 3 * BLOCK).resident());
        assertArrayEquals(one.resident(), ComponentPlan.make("dit", Strategy.BLOCK_PIN, model(), false, 2, 3 * BLOCK).resident());
    }

    @Test
    void pinningTheLargestStreamedGroupShrinksTheSlotsSoMoreFit() {
        // One big block and small ones: two slots of the big one do not fit, but once it is pinned the
        // slots are 1024 bytes, and the head fits too.
        List<PackedGroup> groups = new ArrayList<>(List.of(group("head", 1000)));
        for (int i = 0; i < 5; i++) groups.add(group(i == 2 ? "big" : "b." + i, i == 2 ? 9984 : 1000));
        groups.add(group("tail", 1000));
        ComponentPlan p = ComponentPlan.make("c", Strategy.BLOCK_PIN, groups, false, 2, ComponentPlan.Pinning.defaults(Strategy.BLOCK_PIN),
                9984 + 2 * 1024 + 1024);
        assertEquals(List.of("head", "big"), p.pinnedGroups(), p.describe());
        assertEquals(1024, p.slotBytes());
        assertEquals(2, p.slots());
        assertEquals(9984 + 1024 + 2 * 1024, p.deviceBytes());
    }

    @Test
    void aComputeProfilePinsTheGroupsWhoseCopyMostExceedsTheirCompute() {
        // 4352 bytes copy in 1 ms; b.0 and b.2 compute 100 ms (their copies hide), b.1 none.
        ComputeProfile profile = new ComputeProfile(new double[] {0, 100, 0, 100, 0}, BLOCK / 1e6);
        assertEquals(1.0, profile.copyMs(BLOCK), 1e-12);
        ComponentPlan p = ComponentPlan.make("dit", Strategy.BLOCK_PIN, model(), false, 2,
                new ComponentPlan.Pinning(PinPolicy.budget(), profile, 0), 3 * BLOCK);
        assertEquals(List.of("b.1"), p.pinnedGroups());
        assertTrue(p.describe().contains("copy-over-compute excess"), p.describe());
        ComponentPlan counted = ComponentPlan.make("dit", Strategy.GROUP_OFFLOAD, model(), false, 2,
                new ComponentPlan.Pinning(PinPolicy.count(3), profile, 0), 1_000_000);
        assertEquals(List.of("head", "b.1", "tail"), counted.pinnedGroups());
        OffloadException e = assertThrows(OffloadException.class, () -> ComponentPlan.make("dit", Strategy.BLOCK_PIN, model(), false, 2,
                new ComponentPlan.Pinning(PinPolicy.budget(), new ComputeProfile(new double[3], 1), 0), 1_000_000));
        assertTrue(e.getMessage().contains("component 'dit': the compute profile has 3 per-group times but the component has 5 groups"),
                e.getMessage());
    }

    @Test
    void theActivationReserveStaysFree() {
        ComponentPlan p = ComponentPlan.make("dit", Strategy.BLOCK_PIN, model(), false, 2,
                new ComponentPlan.Pinning(PinPolicy.budget(), null, BLOCK), 4 * BLOCK);
        assertEquals(List.of("b.0"), p.pinnedGroups());
        assertTrue(p.deviceBytes() <= 3 * BLOCK && p.describe().contains("activation reserve 4.25 KiB kept free"), p.describe());
        OffloadException e = assertThrows(OffloadException.class, () -> ComponentPlan.make("dit", Strategy.GROUP_OFFLOAD, model(), false,
                2, new ComponentPlan.Pinning(PinPolicy.none(), null, 5000), 4000));
        assertTrue(e.getMessage().contains("activation reserve of 5000 bytes") && e.getMessage().contains("4000"), e.getMessage());
    }

    @Test
    void layerwisePoliciesAddToHeadAndTail() {
        ComponentPlan defaults = ComponentPlan.make("c", Strategy.LAYERWISE, model(), false, 2, 1_000_000);
        ComponentPlan firstLast = ComponentPlan.make("c", Strategy.LAYERWISE, model(), false, 2,
                new ComponentPlan.Pinning(PinPolicy.firstLast(), null, 0), 1_000_000);
        assertArrayEquals(defaults.resident(), firstLast.resident(), "first and last are the head and the tail here");
        ComponentPlan more = ComponentPlan.make("c", Strategy.LAYERWISE, model(), false, 2,
                new ComponentPlan.Pinning(PinPolicy.count(1), null, 0), 1_000_000);
        assertEquals(List.of("head", "b.0", "tail"), more.pinnedGroups());
        // Six blocks: head and tail, a window of 2 and one pinned block fill 1536 + 3 * 4352 bytes.
        List<PackedGroup> six = new ArrayList<>(List.of(group("head", 1000)));
        for (int i = 0; i < 6; i++) six.add(group("b." + i, 4096, 10));
        six.add(group("tail", 300));
        ComponentPlan budget = ComponentPlan.make("c", Strategy.LAYERWISE, six, false, 2,
                new ComponentPlan.Pinning(PinPolicy.budget(), null, 0), 1536 + 3 * BLOCK);
        assertEquals(List.of("head", "b.0", "tail"), budget.pinnedGroups(), budget.describe());
        assertEquals(2, budget.slots());
        // Head and tail still fall back to streaming when they do not fit; a required pin does not.
        ComponentPlan streamed = ComponentPlan.make("c", Strategy.LAYERWISE, model(), false, 3,
                new ComponentPlan.Pinning(PinPolicy.matching((n, i, g) -> n.equals("b.1")), null, 0), 2 * BLOCK + 100);
        assertEquals(List.of("b.1"), streamed.pinnedGroups(), streamed.describe());
        assertTrue(streamed.describe().contains("streaming them too"), streamed.describe());
    }

    @Test
    void noOffloadTakesOnlyNoneOrAll() {
        assertEquals(5, plan(Strategy.NO_OFFLOAD, PinPolicy.all(), TOTAL).pinnedGroups().size());
        OffloadException e = refused(Strategy.NO_OFFLOAD, PinPolicy.firstLast(), TOTAL);
        assertTrue(e.getMessage().contains("component 'dit': NO_OFFLOAD keeps every group resident"), e.getMessage());
    }

    @Test
    void everyPolicyPlanStaysWithinTheBudgetAndStreamsTheUnpinnedBytes() {
        Random random = new Random(17);
        for (int trial = 0; trial < 500; trial++) {
            List<PackedGroup> groups = new ArrayList<>();
            groups.add(group("head", random.nextInt(5000)));
            int n = 1 + random.nextInt(12);
            for (int i = 0; i < n; i++) groups.add(group("b." + i, random.nextInt(20_000), random.nextInt(300)));
            if (random.nextBoolean()) groups.add(group("tail", random.nextInt(3000)));
            long total = groups.stream().mapToLong(PackedGroup::bytes).sum();
            long largest = groups.stream().mapToLong(g -> PackedGroup.alignUp(g.bytes())).max().orElseThrow();
            long available = largest + random.nextInt(300_000);
            long reserve = random.nextBoolean() ? 0 : random.nextInt(5000);
            ComputeProfile profile = null;
            if (random.nextBoolean()) {
                double[] ms = new double[groups.size()];
                for (int g = 0; g < ms.length; g++) ms[g] = random.nextDouble() * 2;
                profile = new ComputeProfile(ms, 0.005 + random.nextDouble() * 0.02);
            }
            boolean leaf = random.nextBoolean();
            for (Strategy s : new Strategy[] {Strategy.BLOCK_PIN, Strategy.GROUP_OFFLOAD, Strategy.LAYERWISE}) {
                PinPolicy policy = s == Strategy.BLOCK_PIN ? PinPolicy.budget()
                        : List.of(PinPolicy.budget(), PinPolicy.firstLast(), PinPolicy.count(random.nextInt(groups.size() + 1)),
                                PinPolicy.matching((name, i, g) -> i % 3 == 0)).get(random.nextInt(4));
                ComponentPlan p;
                try {
                    p = ComponentPlan.make("c", s, groups, leaf && s != Strategy.LAYERWISE, 1 + random.nextInt(4),
                            new ComponentPlan.Pinning(policy, profile, reserve), available);
                } catch (OffloadException e) {
                    assertEquals(Status.INVALID_ARGUMENT, e.status());
                    assertFalse(policy instanceof PinPolicy.Budget && reserve == 0 && s != Strategy.LAYERWISE, e.getMessage());
                    continue;
                }
                assertTrue(p.deviceBytes() <= available - reserve, s + " " + policy + " asks " + p.deviceBytes() + " of " + available);
                long pinned = 0;
                for (int g = 0; g < groups.size(); g++) if (p.resident()[g]) pinned += groups.get(g).bytes();
                assertEquals(total - pinned, p.streamedBytesPerStep());
                if (policy instanceof PinPolicy.Count c && s == Strategy.GROUP_OFFLOAD) assertEquals(c.n(), p.pinnedGroups().size());
                if (p.pinnedGroups().size() < groups.size()) assertTrue(p.slots() >= 1 && p.prefetchDepth() == p.slots() - 1);
                else assertEquals(0, p.slots());
            }
        }
    }
}
