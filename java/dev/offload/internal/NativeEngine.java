package dev.offload.internal;

import dev.offload.files.NativePaths;

import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.internal.ffi.offload_h;
import dev.offload.internal.ffi.ofl_disk_extent;
import dev.offload.internal.ffi.ofl_disk_source;
import dev.offload.internal.ffi.ofl_disk_stats;
import dev.offload.internal.ffi.ofl_engine_layout;
import dev.offload.internal.ffi.ofl_engine_config;
import dev.offload.internal.ffi.ofl_group_span;
import dev.offload.internal.ffi.ofl_group_desc;
import dev.offload.internal.ffi.ofl_step_metrics;
import dev.offload.internal.ffi.ofl_runtime_stats;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Owner of a native prefetch engine (offload.h documents the protocol). acquire and release are
 * one downcall each and allocate nothing: their out-parameter lives in this owner's arena, the
 * device address is read as a plain long, and error text is built only once a call has failed.
 * One thread drives an engine at a time (Step enforces it).
 */
public final class NativeEngine extends NativeResource {
    private final MemorySegment addressOut;
    private final MemorySegment metrics;
    private final MemorySegment runtime;   // the runtime's handle, for its pageable-copy count
    private final MemorySegment stats;

    private NativeEngine(MemorySegment handle, String description, MemorySegment runtime) {
        super(handle, description);
        this.addressOut = arena().allocate(ValueLayout.ADDRESS);
        this.metrics = arena().allocate(ofl_step_metrics.layout());
        this.stats = arena().allocate(ofl_runtime_stats.layout());
        this.runtime = runtime;
    }

    /**
     * The one factory: the engine {@code spec} describes, on the runtime {@code runtime} with the
     * streams {@code compute} and {@code copy} (native handles: this layer knows no owner above it).
     * Without a reader, ofl_engine_create; with one, ofl_engine_create_from_disk (its files, or the
     * groups' host bytes with OFL_DISK_FROM_HOST).
     */
    public static NativeEngine create(MemorySegment runtime, EngineSpec spec, MemorySegment compute, MemorySegment copy) {
        String description = spec.description();
        int count = spec.groups().size();
        try (Arena temp = Arena.ofConfined()) {
            MemorySegment desc = ofl_group_desc.allocateArray(count, temp);
            for (int g = 0; g < count; g++) {
                EngineSpec.Group group = spec.groups().get(g);
                MemorySegment d = ofl_group_desc.asSlice(desc, g);
                ofl_group_desc.host_address(d, group.host());
                ofl_group_desc.bytes(d, group.bytes());
                ofl_group_desc.resident(d, group.resident() ? 1 : 0);
                ofl_group_desc.reserved(d, 0);
            }
            MemorySegment config = temp.allocate(ofl_engine_config.layout());
            ofl_engine_config.struct_size(config, (int) ofl_engine_config.sizeof());
            ofl_engine_config.slots(config, spec.slots());
            ofl_engine_config.prefetch_depth(config, spec.prefetchDepth());
            ofl_engine_config.timing(config, spec.timing());
            ofl_engine_config.steps_ahead(config, spec.stepsAhead());
            ofl_engine_config.trace(config, spec.trace() ? 1 : 0);
            EngineSpec.Reader reader = spec.reader();
            if (reader == null) {
                return new NativeEngine(Native.pointerResult(out -> offload_h.ofl_engine_create(runtime, desc, count, config,
                        compute, copy, out), "creating the prefetch engine of " + description), description, runtime);
            }
            MemorySegment source = diskSource(reader, temp);
            String what = reader.fromHost() ? "creating the low-memory engine of " : "creating the disk-source engine of ";
            return new NativeEngine(Native.pointerResult(out -> offload_h.ofl_engine_create_from_disk(runtime, desc, count,
                    source, config, compute, copy, out), what + description), description, runtime);
        }
    }

    /** The reader's ofl_disk_source: its files (their raw bytes, never re-encoded text: NativePaths), extents, ring and flags. */
    private static MemorySegment diskSource(EngineSpec.Reader reader, Arena temp) {
        MemorySegment source = temp.allocate(ofl_disk_source.layout());
        ofl_disk_source.struct_size(source, (int) ofl_disk_source.sizeof());
        ofl_disk_source.staging_bytes(source, reader.stagingBytes());
        ofl_disk_source.flags(source, reader.flags());
        ofl_disk_source.reader_threads(source, reader.readerThreads());
        if (reader.fromHost()) return source;
        var files = reader.files();
        MemorySegment paths = temp.allocate(ValueLayout.ADDRESS, Math.max(1, files.size()));
        for (int f = 0; f < files.size(); f++) paths.setAtIndex(ValueLayout.ADDRESS, f, NativePaths.cString(files.get(f), temp));
        var extents = reader.extents();
        MemorySegment ext = ofl_disk_extent.allocateArray(Math.max(1, extents.size()), temp);
        for (int i = 0; i < extents.size(); i++) {
            DiskExtent e = extents.get(i);
            MemorySegment x = ofl_disk_extent.asSlice(ext, i);
            ofl_disk_extent.group(x, e.group());
            ofl_disk_extent.file(x, e.file());
            ofl_disk_extent.file_offset(x, e.fileOffset());
            ofl_disk_extent.bytes(x, e.bytes());
            ofl_disk_extent.group_offset(x, e.groupOffset());
        }
        ofl_disk_source.file_count(source, files.size());
        ofl_disk_source.paths(source, paths);
        ofl_disk_source.extents(source, ext);
        ofl_disk_source.extent_count(source, extents.size());
        return source;
    }

    /** Bytes of a file that land at {@code groupOffset} of group {@code group}'s packed layout (offload.h: ofl_disk_extent). */
    public record DiskExtent(int group, int file, long fileOffset, long bytes, long groupOffset) {}

    /** Cumulative figures of the engine's disk reader (offload.h: ofl_disk_stats); zeros without one. */
    public record DiskStats(int stagingSlots, long stagingBytes, long unitBytes, long bytesRead, long groupsRead, double readMs,
                            double stallMs, int ioMode, int readerThreads, double probeBufferedGbps, double probeDirectGbps) {
        /** "buffered", "direct" (O_DIRECT), "memory" (OFL_DISK_FROM_HOST) or "none" (no reader). */
        public String io() {
            if (readerThreads == 0) return "none";
            if (ioMode == offload_h.OFL_DISK_IO_DIRECT()) return "direct";
            return ioMode == offload_h.OFL_DISK_IO_BUFFERED() ? "buffered" : "memory";
        }
    }

    public DiskStats diskStats() {
        try (Arena temp = Arena.ofConfined()) {
            MemorySegment out = temp.allocate(ofl_disk_stats.layout());
            ofl_disk_stats.struct_size(out, (int) ofl_disk_stats.sizeof());
            check(offload_h.ofl_engine_disk_stats(handle(), out), "reading the disk figures of " + this);
            return new DiskStats(ofl_disk_stats.staging_slots(out), ofl_disk_stats.staging_bytes(out),
                    ofl_disk_stats.staging_unit_bytes(out), ofl_disk_stats.bytes_read(out), ofl_disk_stats.groups_read(out),
                    ofl_disk_stats.read_ms(out), ofl_disk_stats.stall_ms(out), ofl_disk_stats.io_mode(out),
                    ofl_disk_stats.reader_threads(out), ofl_disk_stats.probe_buffered_gbps(out), ofl_disk_stats.probe_direct_gbps(out));
        }
    }

    /**
     * Gives the engine's device region back without waiting for the device (offload.h:
     * ofl_engine_retire): fenced by events at its last use, so the next engine's copies into that
     * space queue behind them. Stepping fails afterwards; the figures still answer until close.
     */
    public void retire() {
        check(offload_h.ofl_engine_retire(handle()), "retiring " + this);
    }

    /** What the engine allocated and how its ring is shaped (offload.h: ofl_engine_layout). */
    public record Layout(int slots, int prefetchDepth, long residentBytes, long slotBytes, long deviceBytes) {}

    public Layout layout() {
        try (Arena temp = Arena.ofConfined()) {
            MemorySegment out = temp.allocate(ofl_engine_layout.layout());
            ofl_engine_layout.struct_size(out, (int) ofl_engine_layout.sizeof());
            Native.check(offload_h.ofl_engine_layout_get(handle(), out), "reading the layout of " + this);
            return new Layout(ofl_engine_layout.slots(out), ofl_engine_layout.prefetch_depth(out), ofl_engine_layout.resident_bytes(out),
                    ofl_engine_layout.slot_bytes(out), ofl_engine_layout.device_bytes(out));
        }
    }

    /** Device address of group g's packed bytes, usable by work queued on the compute stream from now on. */
    public long acquire(int group) {
        int status = offload_h.ofl_engine_acquire(handle(), group, addressOut);
        if (status != 0) throw failure(status, "acquiring group ", group);
        return addressOut.get(ValueLayout.JAVA_LONG, 0);
    }

    /** Releases group and acquires group + 1 (same step) in one downcall; the device address of group + 1. */
    public long advance(int group) {
        int status = offload_h.ofl_engine_advance(handle(), group, addressOut);
        if (status != 0) throw failure(status, "advancing from group ", group);
        return addressOut.get(ValueLayout.JAVA_LONG, 0);
    }

    public void release(int group) {
        int status = offload_h.ofl_engine_release(handle(), group);
        if (status != 0) throw failure(status, "releasing group ", group);
    }

    /** Skips a group in its place (offload.h: ofl_engine_skip). */
    public void skip(int group) {
        int status = offload_h.ofl_engine_skip(handle(), group);
        if (status != 0) throw failure(status, "skipping group ", group);
    }

    private OffloadException failure(int status, String what, int group) {
        return failure(Status.of(status), what + group + " of " + this, Native.lastError());
    }

    /**
     * The error of a call that failed: {@code action} (what this call did), then the native message.
     * A failed disk read ("disk source: reading group G from 'FILE': why") is what went wrong first,
     * often for another group than the call's (the reader runs ahead, and its error stays for
     * every later call): it leads, with this engine's component put in, and the call follows in
     * brackets: "reading group 11 of component 'model' from 'FILE': why (found when skipping group 1)".
     */
    private OffloadException failure(Status status, String action, String nativeMessage) {
        Matcher read = DISK_READ.matcher(nativeMessage);
        if (!read.matches()) return new OffloadException(status, action + ": " + nativeMessage);
        return new OffloadException(status, "reading group " + read.group(1) + " of " + this + " from " + read.group(2)
                + " (found when " + action + ")");
    }

    private static final Pattern DISK_READ = Pattern.compile("disk source: reading group (\\d+) from (.*)", Pattern.DOTALL);

    private void check(int status, String action) {
        if (status != 0) throw failure(Status.of(status), action, Native.lastError());
    }

    /**
     * Figures of one completed step, as the native engine reports them (times NaN when not timed);
     * pageableCopies: the runtime's count of copies from or into pageable memory since it opened
     * (offload.h: ofl_runtime_stats), as of the read; -1 when the runtime is closed already.
     */
    public record Step(long step, long h2dBytes, long hostWaits, double hostBlockedMs, double stepMs, double computeMs,
                       double computeIdleMs, double copyMs, double copyBusyMs, long peakDeviceBytes, long peakHostBytes,
                       double beginMs, long pageableCopies) {}

    /** One group's place on a step's timeline, ms from the step's begin (offload.h: ofl_group_span). */
    /** A group's spans in a step; readStartNs/readEndNs: a disk source's read (System.nanoTime's clock), 0 when none. */
    public record Span(int group, boolean streamed, double copyStartMs, double copyEndMs, double computeStartMs,
                       double computeEndMs, long readStartNs, long readEndNs) {}

    /** The spans of a completed step's groups (an engine made with trace); null without wait while it runs. */
    public Span[] stepSpans(long step, int groups, boolean wait) {
        try (Arena temp = Arena.ofConfined()) {
            MemorySegment out = ofl_group_span.allocateArray(groups, temp);
            int status = offload_h.ofl_engine_step_spans(handle(), step, wait ? 1 : 0, out, groups);
            if (status == Status.NOT_READY.code() && !wait) return null;
            if (status != 0) check(status, "reading the spans of step " + step + " of " + this);
            Span[] spans = new Span[groups];
            for (int g = 0; g < groups; g++) {
                MemorySegment s = ofl_group_span.asSlice(out, g);
                spans[g] = new Span(ofl_group_span.group(s), ofl_group_span.streamed(s) != 0, ofl_group_span.copy_start_ms(s),
                        ofl_group_span.copy_end_ms(s), ofl_group_span.compute_start_ms(s), ofl_group_span.compute_end_ms(s),
                        ofl_group_span.read_start_ns(s), ofl_group_span.read_end_ns(s));
            }
            return spans;
        }
    }

    /**
     * Figures of a completed step: null when {@code wait} is false and they are not ready (the
     * device is still running the step, or its last group was not released yet: the caller tells
     * the two apart); with {@code wait}, waits for the step's compute. INVALID_ARGUMENT for a step
     * older than the kept history.
     */
    public Step stepMetrics(long step, boolean wait) {
        ofl_step_metrics.struct_size(metrics, (int) ofl_step_metrics.sizeof());
        int status = offload_h.ofl_engine_step_metrics(handle(), step, wait ? 1 : 0, metrics);
        if (status == Status.NOT_READY.code() && !wait) {
            return null;
        }
        if (status != 0) check(status, "reading the figures of step " + step + " of " + this);
        return new Step(ofl_step_metrics.step(metrics), ofl_step_metrics.h2d_bytes(metrics), ofl_step_metrics.host_waits(metrics),
                ofl_step_metrics.host_blocked_ms(metrics), ofl_step_metrics.step_ms(metrics), ofl_step_metrics.compute_ms(metrics),
                ofl_step_metrics.compute_idle_ms(metrics), ofl_step_metrics.copy_ms(metrics), ofl_step_metrics.copy_busy_ms(metrics),
                ofl_step_metrics.peak_device_bytes(metrics), ofl_step_metrics.peak_host_bytes(metrics),
                ofl_step_metrics.begin_ms(metrics), pageableCopies());
    }

    private long pageableCopies() {
        ofl_runtime_stats.struct_size(stats, (int) ofl_runtime_stats.sizeof());
        return offload_h.ofl_runtime_stats_get(runtime, stats) == 0 ? ofl_runtime_stats.pageable_copies(stats) : -1;
    }

    @Override
    protected int destroy(MemorySegment handle) {
        return offload_h.ofl_engine_destroy(handle);
    }
}
