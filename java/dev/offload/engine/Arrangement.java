package dev.offload.engine;

import dev.offload.OffloadException;
import dev.offload.Strategy;
import dev.offload.graph.Grouping;

import dev.offload.plan.BudgetLedger;
import dev.offload.plan.ComponentPlan;
import dev.offload.plan.PinPolicy;
import dev.offload.plan.Planner;
import dev.offload.plan.Setup;
import java.util.List;

/**
 * A scoped arrangement (diffusers' "model-level offload for the VAE during decode",
 * Offloader.override, whose ArrangementScope is this one's handle): the component runs under another strategy until the scope closes,
 * which restores the previous arrangement (the same plan object), also when the block it guards
 * throws (try-with-resources). The host copy stays: another grouping (a grouping given, or
 * LAYERWISE's one block per group) is taken only where the copy serves it without packing again
 * (leaf level or fewer blocks per group from a block-level copy: {@link #open}). A second override of a component with one open
 * fails, naming the first: one component, one arrangement at a time. Opening fails during the
 * component's step; closing waits for a step open on another thread (and fails, the scope staying
 * open, for one open on the closing thread). Closing is idempotent.
 */
public final class Arrangement implements AutoCloseable {
    private final Registry owner;
    private final ComponentCore component;
    private final String name;
    private final Setup previous;
    private final ComponentPlan previousPlan;
    private final AutoFollowUp suspended;
    private final Strategy strategy;
    private boolean closed;

    Arrangement(Registry owner, ComponentCore component, Setup previous, ComponentPlan previousPlan, AutoFollowUp suspended,
                     Strategy strategy) {
        this.owner = owner;
        this.component = component;
        String name = component.name();
        this.name = name;
        this.previous = previous;
        this.previousPlan = previousPlan;
        this.suspended = suspended;
        this.strategy = strategy;
    }

    public Strategy strategy() {
        return strategy;
    }

    /**
     * Registry.override: runs {@code c} under {@code strategy}, grouped by {@code grouping} (null: its
     * own; LAYERWISE: one block per group), called under the offloader's lock. Another grouping than
     * the component's is taken only where its host copy serves it (HostPacking.groupsFor: every group
     * a run of a packed group's tensors), so nothing is packed or pinned again.
     */
    static Arrangement open(Registry off, ComponentCore c, Strategy strategy, Grouping grouping) {
        String name = c.name();
        if (strategy == null || strategy == Strategy.AUTO) throw OffloadException.invalid("override of '" + name + "': give a concrete strategy");
        Arrangement open = off.override(name);
        if (open != null) {
            throw OffloadException.invalid("component '" + name + "' already has an arrangement override open (" + open
                    + "); close it before applying another");
        }
        if (c.hasOpenStep()) throw OffloadException.invalid("component '" + name + "' is running a step: override it between steps");
        Setup previous = c.setup();
        Settings config = off.settings();
        PinPolicy pin = ComponentPlan.Pinning.defaults(strategy).policy();
        Grouping wanted = grouping != null ? grouping : previous.grouping();
        Setup next = new Setup(strategy, wanted, config.window(), new ComponentPlan.Pinning(pin, null, config.activationReserve()));
        if (grouping != null && !next.grouping().equals(grouping)) {
            throw OffloadException.invalid("override of '" + name + "': " + strategy + " streams " + words(next.grouping()) + ", not "
                    + words(grouping));
        }
        ComponentPlan previousPlan = c.plan();
        ComponentPlan plan = planInPlace(off, c, next);
        String unserved = next.grouping().equals(previous.grouping()) ? null : c.host().cannotServe(plan.groups());
        if (unserved != null) {
            throw OffloadException.invalid("override of '" + name + "': " + strategy + " at " + words(next.grouping()) + " needs groups that"
                    + " its host copy, packed at " + words(previous.grouping()) + ", cannot serve: " + unserved + " (an override packs nothing again: a copy"
                    + " serves a grouping whose every group is a run of one packed group's tensors, such as leaf level from blocks)");
        }
        AutoFollowUp suspended = off.suspendFollowUp(name);
        if (strategy != Strategy.MODEL_OFFLOAD) off.turns().evictIdle();
        try {
            c.replace(next, plan, false);
        } catch (RuntimeException e) {
            off.resumeFollowUp(name, suspended);
            throw e;
        }
        Arrangement scope = new Arrangement(off, c, previous, previousPlan, suspended, strategy);
        off.overrideOpened(name, scope);
        return scope;
    }

    /** "leaf level", "1 block per group", "2 blocks per group". */
    private static String words(Grouping g) {
        return g instanceof Grouping.Blocks b ? b.perGroup() + (b.perGroup() == 1 ? " block" : " blocks") + " per group" : "leaf level";
    }

    /** A plan for a registered component under another setup, in the room it would have in place of its own. */
    private static ComponentPlan planInPlace(Registry off, ComponentCore c, Setup setup) {
        BudgetLedger ledger = off.admission().ledger(c);
        ComponentPlan plan = Planner.plan(c.name(), c.graph(), setup, ledger.budget(), ledger.room(setup.strategy()));
        ledger.checkFits(c.name(), setup.strategy(), plan);
        return plan;
    }

    /**
     * Restores the previous arrangement (idempotent). A step open on another thread is waited for
     * (outside the offloader's lock): try-with-resources calls close once, so failing would leave the
     * override on for good. A step open on this thread is an error, the scope staying open: close
     * the step first, then the scope.
     */
    @Override
    public void close() {
        Evictions marks = owner.evictions();
        while (true) {  // what the restore closes (its engine, idle turn-taking ones) drained outside the lock (Evictions)
            boolean done = marks.drainThen(() -> closed || owner.isClosed() || owner.registered().get(name) != component ? List.of()
                    : marks.replacing(name, previous.strategy() != Strategy.MODEL_OFFLOAD), this::restore);
            if (done) return;
            component.awaitNoOpenStep();  // another thread's step; then try again
        }
    }

    /** Under the offloader's lock: restores, or says (false) that a step open on another thread must be waited for. */
    private boolean restore() {
        if (closed) return true;
        ComponentCore c = owner.registered().get(name);
        if (c != component || owner.isClosed()) {  // unregistered (or replaced) or closed meanwhile: nothing to restore
            closed = true;
            owner.overrideClosed(name, this);
            return true;
        }
        if (!c.hasOpenStep()) {
            if (previous.strategy() != Strategy.MODEL_OFFLOAD) owner.turns().evictIdle();
            boolean profile = suspended != null && suspended.rebase(c.stepsStarted());
            c.replace(previous, previousPlan, profile);  // a failure keeps the override (open, retryable)
            closed = true;
            owner.overrideClosed(name, this);
            owner.resumeFollowUp(name, suspended);
            return true;
        }
        if (c.stepOwnedByCurrentThread()) {
            throw OffloadException.invalid("component '" + name + "' is running a step on this thread: close the step before the override");
        }
        return false;
    }

    @Override
    public String toString() {
        return strategy.name().toLowerCase(java.util.Locale.ROOT) + " over " + previous.label();
    }
}
