package dev.offload.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.Strategy;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The budget's arithmetic, in the one class that does it: rooms, the turn region, the reserve, previews. */
class BudgetLedgerTest {
    private static ComponentPlan planOf(long deviceBytes) {
        return new ComponentPlan("c", Strategy.NO_OFFLOAD, List.of(), new boolean[0], 0, 0, 0, deviceBytes, List.of());
    }

    @Test
    void permanentComponentsShareWhatTheTurnRegionLeaves() {
        // 1000 budget; 700 in use: a permanent component's 300, a buffer's 100, and an active turn-taker's 300;
        // another turn-taker of 450 is off the device: the region is the larger of the two, 450.
        BudgetLedger l = BudgetLedger.of(1000, 700, 0, List.of(
                new BudgetLedger.Holding(false, true, 300, false),
                new BudgetLedger.Holding(true, true, 300, false),
                new BudgetLedger.Holding(true, false, 450, false)));
        assertEquals(400, l.permanent());
        assertEquals(450, l.region());
        assertEquals(150, l.room(Strategy.GROUP_OFFLOAD));
        assertEquals(600, l.room(Strategy.MODEL_OFFLOAD));
    }

    @Test
    void aComponentPlannedInPlaceOfItsOwnIsLeftOut() {
        BudgetLedger l = BudgetLedger.of(1000, 700, 0, List.of(
                new BudgetLedger.Holding(false, true, 300, true),
                new BudgetLedger.Holding(true, true, 300, false)));
        assertEquals(100, l.permanent());  // 700 less its own 300 and the turn-taker's 300
        assertEquals(300, l.region());
        assertEquals(600, l.forPermanent());
        BudgetLedger turning = BudgetLedger.of(1000, 400, 0, List.of(new BudgetLedger.Holding(true, true, 300, true)));
        assertEquals(0, turning.region());  // its own turn region is not counted against it
        assertEquals(900, turning.forTurn());
    }

    @Test
    void theReserveIsKeptFreeOnceAndRefusalsGiveTheNumbers() {
        BudgetLedger l = BudgetLedger.of(1000, 200, 100, List.of());
        assertEquals(800, l.room(Strategy.LAYERWISE));
        assertEquals(700, l.usable(Strategy.LAYERWISE));
        l.checkFits("a", Strategy.LAYERWISE, planOf(700));
        OffloadException e = assertThrows(OffloadException.class, () -> l.checkFits("b", Strategy.LAYERWISE, planOf(701)));
        assertEquals(Status.OUT_OF_DEVICE_MEMORY, e.status());
        assertTrue(e.getMessage().contains("'b'") && e.getMessage().contains("701") && e.getMessage().contains("reserve of 100")
                && e.getMessage().contains("800 are left"), e.getMessage());
        assertEquals(0, BudgetLedger.of(1000, 990, 100, List.of()).usable(Strategy.NO_OFFLOAD));
    }

    @Test
    void aPreviewBooksEachPlannedComponent() {
        BudgetLedger l = BudgetLedger.of(1000, 0, 0, List.of());
        l.admit(Strategy.BLOCK_PIN, planOf(300));
        l.admit(Strategy.MODEL_OFFLOAD, planOf(200));
        l.admit(Strategy.MODEL_OFFLOAD, planOf(250));
        assertEquals(300, l.permanent());
        assertEquals(250, l.region());
        assertEquals(450, l.room(Strategy.NO_OFFLOAD));
        assertEquals(700, l.room(Strategy.MODEL_OFFLOAD));
    }

    /**
     * The usable figure is the ledger's wherever it shows: the planner's room (ComponentPlan.make's
     * refusal names it, a plan of exactly that many bytes fits) and the resolver's usable budget, for
     * odd reserves. A second place that subtracted the reserve another way (twice, or not clamped)
     * would give another number here.
     */
    @Test
    void planAndResolverReportTheLedgersUsableFigureForOddReserves() {
        long model = 14592;  // ComponentPlanTest.model()'s packed bytes, all resident under NO_OFFLOAD
        for (long reserve : new long[] {1, 777, 4097, 12_345}) {
            long available = reserve + 9_999;
            long usable = BudgetLedger.usable(available, reserve);
            assertEquals(9_999, usable);
            assertEquals(usable, BudgetLedger.of(available, 0, reserve, List.of()).usable(Strategy.NO_OFFLOAD));
            OffloadException e = assertThrows(OffloadException.class, () -> ComponentPlan.make("c", Strategy.NO_OFFLOAD,
                    ComponentPlanTest.model(), false, 1, new ComponentPlan.Pinning(PinPolicy.none(), null, reserve), available));
            assertTrue(e.getMessage().contains("needs " + model + " device bytes") && e.getMessage().contains("the budget leaves " + usable + " ("),
                    e.getMessage());
            ComponentPlan fits = ComponentPlan.make("c", Strategy.NO_OFFLOAD, ComponentPlanTest.model(), false, 1,
                    new ComponentPlan.Pinning(PinPolicy.none(), null, reserve), reserve + model);
            assertEquals(model, fits.deviceBytes());
            assertEquals(BudgetLedger.usable(reserve + model, reserve), fits.deviceBytes());
            Resolver.Facts facts = new Resolver.Facts(available, java.util.OptionalLong.empty(), 5, 0, reserve);
            assertEquals(usable, facts.usable());
            assertEquals(0, new Resolver.Facts(reserve - 1, java.util.OptionalLong.empty(), 5, 0, reserve).usable());
            OffloadException over = assertThrows(OffloadException.class, () -> ComponentPlan.make("c", Strategy.GROUP_OFFLOAD,
                    ComponentPlanTest.model(), false, 2, new ComponentPlan.Pinning(PinPolicy.none(), null, reserve), reserve - 1));
            assertTrue(over.getMessage().contains("the activation reserve of " + reserve + " bytes") && over.getMessage().contains(
                    "exceeds the " + (reserve - 1) + " bytes the budget leaves"), over.getMessage());
        }
    }
}
