package dev.offload.engine;

import dev.offload.DiskIo;
import dev.offload.HostSource;
import dev.offload.OffloadException;
import dev.offload.ProgressListener;
import dev.offload.Status;
import dev.offload.graph.BlockGraph;
import dev.offload.internal.EngineSpec;
import dev.offload.internal.NativeEngine;
import dev.offload.memory.DiskCache;
import dev.offload.memory.DiskSource;
import dev.offload.memory.HostPacking;
import dev.offload.memory.SharedHostRegion;
import dev.offload.plan.ComponentPlan;
import dev.offload.plan.PackedGroup;
import dev.offload.plan.Schedule;
import dev.offload.runtime.Stream;
import java.util.ArrayList;
import java.util.List;

/**
 * From a {@link Schedule} to what acts on it: the component's host copy ({@link #pack}) and its
 * native engine ({@link #start}: taking the runtime, the schedule and the streams; {@link #spec} is
 * the one place a schedule becomes an internal.EngineSpec, and NativeEngine.create the one native
 * factory, whatever the host source). The engine derives its region and ring from the groups; they are checked against the
 * schedule's (ofl_engine_layout), so a disagreement is an INTERNAL error naming both, never a
 * silent difference.
 */
final class EngineStart {
    private EngineStart() {}

    /**
     * Packs a scheduled component into pinned host memory (PINNED: a shared region's when the config
     * names one, memory/SharedHostRegion), pageable memory (LOWMEM) or not
     * at all (DISK: the groups stay in their files; the regions and file stamps taken now serve
     * every later engine).
     */
    static HostPacking pack(Registry owner, Schedule s, BlockGraph graph, ComponentSource key) {
        // One copy for every device of the offloader (HostCopies): a replica shares the first one's.
        if (owner.settings() instanceof DeviceSettings device) {
            return device.copies().packOrShare(key, s.groups(), s.source(), () -> pack(owner, s, graph));
        }
        return pack(owner, s, graph);
    }

    private static HostPacking pack(Registry owner, Schedule s, BlockGraph graph) {
        String name = s.component();
        Settings config = owner.settings();
        return switch (s.source()) {
            case PINNED -> config.sharedHost() != null
                    ? SharedHostRegion.open(owner.runtime(), name, s.groups(), config.sharedHost(), progress(config, s))
                    : HostPacking.pack(owner.runtime(), name, s.groups(), config.slabBytes(), progress(config, s));
            case LOWMEM -> HostPacking.packPageable(owner.runtime(), name, s.groups(), config.slabBytes(), progress(config, s));
            case DISK -> HostPacking.onDisk(DiskSource.Registered.of(name, graph.tensors()));
            case AUTO -> throw new IllegalStateException("component '" + name + "': the host source is chosen before packing");
        };
    }

    /**
     * A scheduled component: packed (above), its copy stream made, its engine started unless it takes
     * turns (its engine comes with its first turn). A failure frees what was made.
     */
    static ComponentCore component(Registry owner, BlockGraph graph, Schedule schedule, ComponentSource key) {
        HostPacking host = pack(owner, schedule, graph, key);
        Stream copy = null;
        try {
            copy = owner.runtime().createStream(dev.offload.runtime.StreamKind.COPY);
            ComponentCore c = new ComponentCore(owner, graph, schedule, host, copy, key);
            if (!schedule.takesTurns()) c.start();
            dev.offload.metrics.PlanEvent.emit(schedule);
            return c;
        } catch (RuntimeException e) {
            if (copy != null) copy.close();
            host.close();
            throw e;
        }
    }

    /** The config's progress listener fed with packed bytes, or null without one. */
    private static java.util.function.LongConsumer progress(Settings config, Schedule s) {
        ProgressListener listener = config.progress();
        if (listener == null) return null;
        long total = s.groups().stream().mapToLong(PackedGroup::bytes).sum();
        long[] done = {0};
        return bytes -> listener.progress("packing " + s.component(), done[0] += bytes, total);
    }

    /** The engine of a scheduled component on the registry's runtime, its compute stream and the component's copy stream. */
    static NativeEngine start(Registry owner, Schedule s, HostPacking host, Stream copy) {
        NativeEngine engine = open(owner, s, host, copy);
        ComponentPlan plan = s.plan();
        NativeEngine.Layout l = engine.layout();
        long device = Math.max(plan.deviceBytes(), PackedGroup.ALIGN);
        if (l.slots() != plan.slots() || l.prefetchDepth() != plan.prefetchDepth() || l.residentBytes() != plan.residentBytes()
                || l.slotBytes() != plan.slotBytes() || l.deviceBytes() != device) {
            engine.close();
            throw new OffloadException(Status.INTERNAL, "component '" + s.component() + "': the engine derived " + l + " but the schedule says"
                    + " slots " + plan.slots() + ", prefetch " + plan.prefetchDepth() + ", resident " + plan.residentBytes() + ", slot "
                    + plan.slotBytes() + ", device " + device + " bytes");
        }
        return engine;
    }

    private static NativeEngine open(Registry owner, Schedule s, HostPacking host, Stream copy) {
        String name = s.component();
        if (s.source() != HostSource.DISK) {
            return NativeEngine.create(owner.runtime().handle(), spec(s, host, null), owner.computeStream().handle(), copy.handle());
        }
        // No host copy: the engine reads the groups from their files.
        Settings config = owner.settings();
        DiskSource.Registered registered = host.disk();
        registered.checkUnchanged(name);  // a turn, re-plan or override after the file changed: an IO error, not other bytes
        DiskCache.Result cached = DiskCache.source(name, s.groups(), config.diskCache(), registered::region,
                new DiskCache.Options(config.diskCacheMaxBytes(), config.diskCacheCheck()));
        owner.noteDiskCache(name, cached.outcome());
        NativeEngine engine = NativeEngine.create(owner.runtime().handle(), spec(s, host, cached.source()), owner.computeStream().handle(),
                copy.handle());
        // The native reader stamps the files it opened and checks each read against that; a file
        // replaced between the check above and its open would be stamped as it is now. Checked
        // again once open: a path that no longer names the registered file fails here.
        try {
            registered.checkUnchanged(name);
        } catch (RuntimeException e) {
            engine.close();
            throw e;
        }
        return engine;
    }

    /**
     * The native engine's spec, read from the schedule: the one place a Schedule becomes an
     * internal.EngineSpec. Groups and residency from its plan, ring and timing from the plan and its
     * streaming; the reader from its host source: none (PINNED), staging from host memory (LOWMEM) or
     * {@code files} (DISK) with the schedule's disk I/O as the native flag.
     */
    static EngineSpec spec(Schedule s, HostPacking host, DiskSource files) {
        ComponentPlan plan = s.plan();
        Schedule.Streaming st = s.streaming();
        List<EngineSpec.Group> groups = new ArrayList<>(plan.groups().size());
        // the host copy's own groups, or slices of them for another grouping (an override's: HostPacking.groupsFor)
        java.lang.foreign.MemorySegment[] memory = s.source() == HostSource.DISK ? null : host.groupsFor(s.component(), plan.groups());
        for (int g = 0; g < plan.groups().size(); g++) {
            boolean resident = plan.resident()[g];
            groups.add(s.source() == HostSource.DISK ? EngineSpec.Group.inFiles(plan.groups().get(g).bytes(), resident)
                    : EngineSpec.Group.inMemory(memory[g], resident));
        }
        EngineSpec.Reader reader = switch (s.source()) {
            case PINNED -> null;
            case LOWMEM -> EngineSpec.Reader.fromHost(st.stagingBytes(), st.readerThreads());
            case DISK -> EngineSpec.Reader.fromFiles(files.files(), files.extents(), st.stagingBytes(), ioFlags(st.diskIo()), st.readerThreads());
            case AUTO -> throw new IllegalStateException("component '" + s.component() + "': a schedule's host source is never AUTO");
        };
        return new EngineSpec(groups, plan.slots(), plan.prefetchDepth(), s.timing().code(), st.stepsAhead(), s.spans(), reader,
                "component '" + s.component() + "'");
    }

    /** The reader's OFL_DISK_IO_* flag for a disk I/O choice (AUTO: none, the reader's default choice). */
    static int ioFlags(DiskIo io) {
        return switch (io) {
            case AUTO -> EngineSpec.Reader.IO_DEFAULT;
            case BUFFERED -> EngineSpec.Reader.IO_BUFFERED;
            case DIRECT -> EngineSpec.Reader.IO_DIRECT;
            case PROBE -> EngineSpec.Reader.IO_PROBE;
        };
    }
}
