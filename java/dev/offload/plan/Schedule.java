package dev.offload.plan;

import dev.offload.DiskIo;
import dev.offload.HostSource;
import dev.offload.OffloadException;
import dev.offload.Strategy;
import dev.offload.Timing;
import java.util.List;

/**
 * What one component's engine does, decided once: the one output of planning for a component and
 * the one input of what acts on it: the packing of its host copy and the native engine's creation
 * (engine.EngineStart: one factory taking the runtime, this and its streams) read it, and the
 * component holds it; the group places, figures and traces read its plan.
 *
 * <ul>
 *   <li>{@link #plan()}: the groups in execution order (each with its tensors, packed offsets,
 *       bytes and role), which are resident and which stream, ring slots, prefetch depth, device
 *       bytes, and the reasons for each choice;
 *   <li>{@link #setup()}: the strategy, grouping, window and pinning it was planned from, and so
 *       whether it takes turns on the device (MODEL_OFFLOAD);
 *   <li>{@link #source()}: where its streamed weights live on the host (never AUTO: chosen at
 *       admission), and {@link #streaming()}: the staging ring, disk reads, steps ahead and timing;
 *   <li>{@link #profiling()}: whether its engine keeps per-group spans for AUTO's re-plan.
 * </ul>
 */
public record Schedule(String component, Setup setup, ComponentPlan plan, HostSource source, Streaming streaming, boolean profiling) {
    /**
     * How the engine streams: the staging ring's bytes (0: the engine's default), disk reads, reader
     * threads (0: default), how many steps the host may run ahead, the timing level and whether the
     * engine keeps per-group spans for a trace.
     */
    public record Streaming(long stagingBytes, DiskIo diskIo, int readerThreads, int stepsAhead, Timing timing, boolean trace) {
        public Streaming {
            if (diskIo == null || timing == null) throw OffloadException.invalid("schedule: disk I/O and timing are required");
        }
    }

    public Schedule {
        if (component == null || setup == null || plan == null || source == null || streaming == null) {
            throw OffloadException.invalid("schedule: component, setup, plan, source and streaming are required");
        }
        if (source == HostSource.AUTO) throw OffloadException.invalid("schedule of component '" + component + "': the host source is chosen before");
        if (plan.strategy() != setup.strategy()) {
            throw OffloadException.invalid("schedule of component '" + component + "': plan " + plan.strategy() + " for setup " + setup.strategy());
        }
    }

    /** The same component under another setup and plan (a re-plan or an override): source and streaming stay. */
    public Schedule replanned(Setup newSetup, ComponentPlan newPlan, boolean profile) {
        return new Schedule(component, newSetup, newPlan, source, streaming, profile);
    }

    public Strategy strategy() {
        return setup.strategy();
    }

    /** Whether it takes turns on the device (MODEL_OFFLOAD): its engine exists only during its turn. */
    public boolean takesTurns() {
        return setup.strategy() == Strategy.MODEL_OFFLOAD;
    }

    public List<PackedGroup> groups() {
        return plan.groups();
    }

    /** The engine's timing level: per group while profiling, else the configured one. */
    public Timing timing() {
        return profiling ? Timing.GROUP : streaming.timing();
    }

    /** Whether the engine keeps per-group spans (a trace, or AUTO's profiling). */
    public boolean spans() {
        return profiling || streaming.trace();
    }

    public List<String> reasons() {
        return plan.reasons();
    }

    // What readers read (plan --json, Offloader.plan(), metrics, traces, JFR events): the figures as
    // the plan decided them, read here, never worked out again from the groups.

    /** "group_offload (2 blocks/group)", ...: the setup's label. */
    public String label() {
        return setup.label();
    }

    public int slots() {
        return plan.slots();
    }

    public int prefetchDepth() {
        return plan.prefetchDepth();
    }

    public long slotBytes() {
        return plan.slotBytes();
    }

    public long residentBytes() {
        return plan.residentBytes();
    }

    /** The ring's device bytes: its slots times the slot size. */
    public long ringBytes() {
        return plan.ringBytes();
    }

    /** The resident region plus the ring. */
    public long deviceBytes() {
        return plan.deviceBytes();
    }

    public List<String> pinnedGroups() {
        return plan.pinnedGroups();
    }

    public long streamedBytesPerStep() {
        return plan.streamedBytesPerStep();
    }
}
