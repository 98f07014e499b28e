package dev.offload.plan;

import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.Strategy;
import java.util.Collection;

/**
 * The one place where device-budget arithmetic lives (docs/PLANS.md, "How the budget is shared"):
 * registration, overrides, AUTO's re-plans and previews all ask it how much room a component has,
 * and whether a plan fits it with the activation reserve kept free.
 *
 * <p>The budget is held in two parts. <b>Permanent</b>: the device bytes in use by everything but the
 * turn-taking (MODEL_OFFLOAD) components: permanent components' regions, workload buffers. <b>The
 * turn region</b>: as large as the largest turn-taking component's plan, since each turn needs that
 * much. A permanent component gets what both leave; a turn-taking one what permanent leaves. A
 * component planned again in place of its own arrangement (an override, a re-plan) is left out of
 * both. The activation reserve: a planner is handed the room and keeps the reserve free inside it
 * through this class ({@link #keepReserve} in ComponentPlan.make, {@link #usable(long, long)} in the
 * resolver), and {@link #checkFits} holds every plan to it: a plan fits its room when its device
 * bytes plus the reserve do. Turns ask it for the device bytes free now ({@link #free}); the
 * resolver and the planner take their shares of a room through {@link #left}. Nothing outside this
 * class subtracts the reserve or a share from a budget (BudgetLedgerTest checks the figures agree).
 *
 * <p>A ledger is a snapshot, taken under the offloader's lock; {@link #admit} books a component
 * planned but not yet registered (a preview of several at once).
 */
public final class BudgetLedger {
    /** What one registered component holds: whether it takes turns, whether it is on the device now, and its plan's device bytes. */
    public record Holding(boolean takesTurns, boolean onDevice, long deviceBytes, boolean plannedInPlace) {}

    private final long budget;
    private final long used;
    private final long reserve;
    private long permanent;
    private long region;

    private BudgetLedger(long budget, long used, long reserve, long permanent, long region) {
        this.budget = budget;
        this.used = used;
        this.reserve = reserve;
        this.permanent = permanent;
        this.region = region;
    }

    /**
     * The ledger now: {@code usedBytes}, the device bytes the runtime has handed out (every region and
     * buffer), less the turn-taking components on the device, and the in-place one's.
     */
    public static BudgetLedger of(long budget, long usedBytes, long reserve, Collection<Holding> holdings) {
        if (reserve < 0) throw OffloadException.invalid("activation reserve must be >= 0 bytes, got " + reserve);
        long permanent = usedBytes, region = 0;
        for (Holding h : holdings) {
            if (!h.takesTurns() && !h.plannedInPlace()) continue;
            if (h.onDevice()) permanent -= h.deviceBytes();
            if (h.takesTurns() && !h.plannedInPlace()) region = Math.max(region, h.deviceBytes());
        }
        return new BudgetLedger(budget, usedBytes, reserve, permanent, region);
    }

    public long budget() {
        return budget;
    }

    public long reserve() {
        return reserve;
    }

    /** Device bytes held for good (everything but the turn-taking components). */
    public long permanent() {
        return permanent;
    }

    /** The turn region: the largest turn-taking component's plan. */
    public long region() {
        return region;
    }

    /** The room a component of this strategy has: a turn-taking one everything not permanent; a permanent one what the turns leave too. */
    public long room(Strategy strategy) {
        return strategy == Strategy.MODEL_OFFLOAD ? forTurn() : forPermanent();
    }

    /** Room for a permanent component: the turns keep their region (may be negative when over-committed). */
    public long forPermanent() {
        return budget - permanent - region;
    }

    /** Room for a turn-taking component: everything not permanent. */
    public long forTurn() {
        return budget - permanent;
    }

    /** The room less the activation reserve: what a planner may fill (never negative). */
    public long usable(Strategy strategy) {
        return usable(room(strategy), reserve);
    }

    /** Device bytes not handed out now (budget less every region and buffer): what a turn may take without evicting. */
    public long free() {
        return budget - used;
    }

    /** {@code room} less the activation reserve, never negative: what a planner may fill (the resolver's usable budget). */
    public static long usable(long room, long reserve) {
        return Math.max(0, room - reserve);
    }

    /**
     * The room a plan of {@code component} may fill in {@code available} device bytes with
     * {@code reserve} kept free (ComponentPlan.make); a reserve larger than the room is the
     * configuration's fault: INVALID_ARGUMENT with both numbers.
     */
    public static long keepReserve(String component, long available, long reserve) {
        if (reserve < 0) throw OffloadException.invalid("activation reserve must be >= 0 bytes, got " + reserve);
        long room = available - reserve;
        if (room < 0) {
            throw OffloadException.invalid("component '" + component + "': the activation reserve of " + reserve
                    + " bytes (" + dev.offload.Size.format(reserve) + ") exceeds the " + available + " bytes the budget leaves");
        }
        return room;
    }

    /** What is left of {@code room} once {@code taken} is held (negative when over-committed): a share after others' shares. */
    public static long left(long room, long taken) {
        return room - taken;
    }

    /** Refuses a plan that does not fit its room with the reserve kept free: OUT_OF_DEVICE_MEMORY with the numbers. */
    public void checkFits(String name, Strategy strategy, ComponentPlan plan) {
        long room = room(strategy);
        if (plan.deviceBytes() + reserve > room) {
            throw new OffloadException(Status.OUT_OF_DEVICE_MEMORY, "component '" + name + "': its plan needs " + plan.deviceBytes()
                    + " device bytes plus a reserve of " + reserve + " but " + Math.max(0, room) + " are left in the budget");
        }
    }

    /** This device's room for placing components across several devices (plan.Placement), nothing booked yet. */
    public DeviceRoom placing() {
        return new DeviceRoom(this);
    }

    /**
     * One device's room while plan.Placement places components on several devices: what a permanent
     * component may fill there ({@link #usable}, reserve kept) less what the placement booked on it.
     * Placement books each component on every device it puts it on (by hand, replicated or largest
     * first) and reads {@link #left} to choose; it does no arithmetic of its own.
     */
    public static final class DeviceRoom {
        private final BudgetLedger ledger;
        private long booked;

        private DeviceRoom(BudgetLedger ledger) {
            this.ledger = ledger;
        }

        /** Books {@code bytes} (a component's bytes if whole) on this device. */
        public void book(long bytes) {
            booked += bytes;
        }

        /** The room left for the next component: usable less what was booked (negative when over-committed). */
        public long left() {
            return BudgetLedger.left(ledger.usable(Strategy.GROUP_OFFLOAD), booked);
        }

        /** The bytes booked so far. */
        public long booked() {
            return booked;
        }

        public long budget() {
            return ledger.budget();
        }
    }

    /** Books a planned component as if registered (a preview planning several): it then holds its share. */
    public void admit(Strategy strategy, ComponentPlan plan) {
        if (strategy == Strategy.MODEL_OFFLOAD) region = Math.max(region, plan.deviceBytes());
        else permanent += plan.deviceBytes();
    }
}
