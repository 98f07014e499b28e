package dev.offload.metrics;

import dev.offload.plan.Schedule;
import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/** A component's schedule, committed when it is registered and at each re-plan or override; read from the Schedule as it stands. */
@Name("dev.offload.Plan")
@Label("Offload Plan")
@Category("offload")
@Description("Where a component's groups live: strategy, groups, ring slots, device bytes")
@StackTrace(false)
public final class PlanEvent extends Event {
    @Label("Component") String component;
    @Label("Strategy") String strategy;
    @Label("Groups") int groups;
    @Label("Slots") int slots;
    @Label("Device bytes") @Description("Resident region plus ring") @DataAmount(DataAmount.BYTES) long deviceBytes;
    @Label("Host source") @Description("PINNED, DISK or LOWMEM") String source;
    @Label("Takes turns") @Description("MODEL_OFFLOAD: on the device only during its turn") boolean takesTurns;

    public static void emit(Schedule s) {
        PlanEvent e = new PlanEvent();
        if (!e.shouldCommit()) return;
        e.component = s.component();
        e.strategy = s.strategy().name();
        e.groups = s.groups().size();
        e.slots = s.slots();
        e.deviceBytes = s.deviceBytes();
        e.source = s.source().name();
        e.takesTurns = s.takesTurns();
        e.commit();
    }
}
