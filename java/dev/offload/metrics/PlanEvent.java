package dev.offload.metrics;

import dev.offload.plan.ComponentPlan;
import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/** A component's plan, committed when it is registered (re-plans will commit one each). */
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

    public static void emit(ComponentPlan plan) {
        PlanEvent e = new PlanEvent();
        if (!e.shouldCommit()) return;
        e.component = plan.component();
        e.strategy = plan.strategy().name();
        e.groups = plan.groups().size();
        e.slots = plan.slots();
        e.deviceBytes = plan.deviceBytes();
        e.commit();
    }
}
