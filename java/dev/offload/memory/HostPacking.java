package dev.offload.memory;

import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.checkpoint.FileBacking;
import dev.offload.graph.TensorRef;
import dev.offload.plan.PackedGroup;
import dev.offload.runtime.DeviceRuntime;
import dev.offload.runtime.PinnedBuffer;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The memory layer: the one host copy of a component's weights: groups packed (PackedGroup's layout) into pinned
 * slabs. Slabs are sized up front from the groups they will hold, about {@code slabTarget} bytes
 * each (larger when one group is larger), so the pinned bytes are the model's bytes plus alignment,
 * never twice the model. Each group lies whole in one slab: one group, one copy. Tensors of an open
 * safetensors file are read from the file with positional reads ({@link FileBacking}), not through
 * its mapping: a file truncated meanwhile is an IO error naming it, never a SIGBUS.
 *
 * <p>Host memory guard: before anything is allocated, the slabs' total must fit in the available
 * host memory less a margin ({@link HostMemory#require}); otherwise packing fails at once with
 * OUT_OF_HOST_MEMORY. A pinned allocation that still fails (page-locking is limited apart from
 * free memory: {@code ulimit -l}, cgroups) fails packing too, naming the component, on both
 * backends: the engine refuses pageable group memory (offload.h; the strict host backend as cuda),
 * because a copy from it would block the calling thread. Only the LOWMEM source holds a pageable
 * copy ({@link #packPageable}), which its engine stages through a pinned ring.
 */
public final class HostPacking implements AutoCloseable {
    private static final long GROUP_ALIGN = 4096;
    /** Test hook: allocates a pinned slab (runtime.allocatePinned when null). */
    static volatile java.util.function.BiFunction<DeviceRuntime, Long, PinnedBuffer> pinnedAllocator;
    private final List<AutoCloseable> slabs;
    private final List<MemorySegment> groups;
    private final long pinnedBytes;
    private final long pageableBytes;

    private final PackedLayout layout;  // where each tensor lies (serving another grouping), else null (no copy)
    private final DiskSource.Registered disk;  // the DISK source's files, else null
    private final String sharedHost;  // a shared region's outcome (SharedHostRegion), else null
    private final java.util.concurrent.atomic.AtomicInteger holders = new java.util.concurrent.atomic.AtomicInteger(1);
    private volatile Runnable lastClosed;

    private HostPacking(List<AutoCloseable> slabs, List<MemorySegment> groups, long pinnedBytes, long pageableBytes, PackedLayout layout,
                        DiskSource.Registered disk, String sharedHost) {
        this.layout = layout;
        this.slabs = slabs;
        this.groups = groups;
        this.pinnedBytes = pinnedBytes;
        this.pageableBytes = pageableBytes;
        this.disk = disk;
        this.sharedHost = sharedHost;
    }

    /** A copy in a shared region (SharedHostRegion): {@code owners} closed in order (registration, mapping, use). */
    static HostPacking shared(List<AutoCloseable> owners, List<PackedGroup> packed, List<MemorySegment> groups, long pinnedBytes, String outcome) {
        return new HostPacking(owners, groups, pinnedBytes, 0, new PackedLayout(packed), null, outcome);
    }

    /** How a shared host region was opened: "created: ...", "mapped: ..." or "rebuilt: ..." and why; null for a private copy. */
    public String sharedHost() {
        return sharedHost;
    }

    /** No host copy at all (the DISK source reads groups from their files). */
    public static HostPacking none() {
        return new HostPacking(List.of(), List.of(), 0, 0, null, null, null);
    }

    /** No host copy: the DISK source reads the groups from the files registered in {@code files}. */
    public static HostPacking onDisk(DiskSource.Registered files) {
        return new HostPacking(List.of(), List.of(), 0, 0, null, files, null);
    }

    /** The DISK source's registered files; null for a host copy. */
    public DiskSource.Registered disk() {
        return disk;
    }

    public static HostPacking pack(DeviceRuntime runtime, List<PackedGroup> packed, long slabTarget) {
        return pack(runtime, "(unnamed)", packed, slabTarget);
    }

    /** Packs a component's groups; {@code component} names it in errors and warnings. */
    public static HostPacking pack(DeviceRuntime runtime, String component, List<PackedGroup> packed, long slabTarget) {
        return pack(runtime, component, packed, slabTarget, true, null);
    }

    /** As above; {@code packedBytes} hears the bytes of each group once it is packed (progress), may be null. */
    public static HostPacking pack(DeviceRuntime runtime, String component, List<PackedGroup> packed, long slabTarget,
                                   java.util.function.LongConsumer packedBytes) {
        return pack(runtime, component, packed, slabTarget, true, packedBytes);
    }

    /**
     * Packs a component's groups into ordinary (pageable) memory, pinning nothing: the LOWMEM source,
     * whose engine stages each group through its pinned ring ({@link #pageableBytes()} = the copy).
     */
    public static HostPacking packPageable(DeviceRuntime runtime, String component, List<PackedGroup> packed, long slabTarget,
                                           java.util.function.LongConsumer packedBytes) {
        return pack(runtime, component, packed, slabTarget, false, packedBytes);
    }

    private static HostPacking pack(DeviceRuntime runtime, String component, List<PackedGroup> packed, long slabTarget, boolean pin,
                                    java.util.function.LongConsumer packedBytes) {
        // Plan: which slab and offset each group gets, and each slab's exact size.
        List<Long> slabSizes = new ArrayList<>();
        int[] slabOf = new int[packed.size()];
        long[] offsetOf = new long[packed.size()];
        long used = 0;
        for (int g = 0; g < packed.size(); g++) {
            long bytes = Math.max(packed.get(g).bytes(), 1);
            long start = (used + GROUP_ALIGN - 1) / GROUP_ALIGN * GROUP_ALIGN;
            if (slabSizes.isEmpty() || (start + bytes > slabTarget && used > 0)) {
                if (!slabSizes.isEmpty()) slabSizes.set(slabSizes.size() - 1, used);
                slabSizes.add(0L);
                start = 0;
            }
            slabOf[g] = slabSizes.size() - 1;
            offsetOf[g] = start;
            used = start + bytes;
        }
        slabSizes.set(slabSizes.size() - 1, used);
        long total = 0;
        for (long size : slabSizes) total += size;
        HostMemory.require(component, total);

        List<AutoCloseable> slabs = new ArrayList<>();
        Map<Path, FileChannel> files = new HashMap<>();
        List<MemorySegment> segments = new ArrayList<>();
        long pinned = 0, pageable = 0;
        try {
            for (long size : slabSizes) {
                PinnedBuffer buffer = pin ? allocatePinned(runtime, component, size, total) : null;  // pin: never null
                if (buffer != null) {
                    slabs.add(buffer);
                    segments.add(buffer.segment());
                    pinned += size;
                } else {
                    Arena arena = Arena.ofShared();
                    slabs.add(arena);
                    segments.add(arena.allocate(size, GROUP_ALIGN));
                    pageable += size;
                }
            }
            List<MemorySegment> groups = new ArrayList<>();
            for (int g = 0; g < packed.size(); g++) {
                PackedGroup p = packed.get(g);
                MemorySegment target = segments.get(slabOf[g]).asSlice(offsetOf[g], p.bytes());
                target.fill((byte) 0);  // alignment padding is defined, never stale memory
                List<TensorRef> tensors = p.spec().tensors();
                for (int i = 0; i < tensors.size(); i++) {
                    TensorRef t = tensors.get(i);
                    MemorySegment into = target.asSlice(p.offsets()[i], t.byteSize());
                    var region = FileBacking.of(t.data());
                    if (region.isPresent()) {
                        read(files, region.get(), into, t.name());
                    } else {
                        MemorySegment.copy(t.data(), 0, into, 0, t.byteSize());
                    }
                }
                groups.add(target);
                if (packedBytes != null) packedBytes.accept(p.bytes());
            }
            closeAll(new ArrayList<>(files.values()));
            return new HostPacking(slabs, groups, pinned, pageable, new PackedLayout(packed), null, null);
        } catch (RuntimeException | Error e) {
            closeAll(new ArrayList<>(files.values()));
            closeAll(slabs);
            throw e;
        }
    }

    /**
     * Reads a tensor's bytes from its file with positional reads (never through the mapping): a file
     * that ends early was truncated after it was opened, an IO error naming it and the tensor.
     */
    private static void read(Map<Path, FileChannel> files, FileBacking.Region region, MemorySegment into, String tensor) {
        Path file = region.file();
        try {
            FileChannel channel = files.get(file);
            if (channel == null) files.put(file, channel = FileChannel.open(file, StandardOpenOption.READ));
            for (long done = 0; done < into.byteSize(); ) {
                long chunk = Math.min(into.byteSize() - done, 1L << 30);
                ByteBuffer buffer = into.asSlice(done, chunk).asByteBuffer();
                while (buffer.hasRemaining()) {
                    long at = region.position() + done + buffer.position();
                    if (channel.read(buffer, at) < 0) {
                        throw new OffloadException(Status.IO, file + ": ends at byte " + at + ", inside tensor '" + tensor
                                + "' (bytes " + region.position() + " to " + (region.position() + into.byteSize())
                                + "): the file was truncated or replaced after it was opened");
                    }
                }
                done += chunk;
            }
        } catch (IOException e) {
            throw OffloadException.io(file + ": cannot read tensor '" + tensor + "'", e);
        }
    }

    /**
     * A pinned slab; a failed pinning is an error naming the component on every backend: the engine
     * refuses pageable group memory (a copy from it would block the calling thread).
     */
    private static PinnedBuffer allocatePinned(DeviceRuntime runtime, String component, long size, long total) {
        try {
            var hook = pinnedAllocator;
            return hook != null ? hook.apply(runtime, size) : runtime.allocatePinned(size);
        } catch (OffloadException e) {
            if (e.status() != Status.OUT_OF_HOST_MEMORY) throw e;
            throw new OffloadException(Status.OUT_OF_HOST_MEMORY, "component '" + component + "': pinning a slab of " + size
                    + " bytes (of " + total + " for the component) failed, and the " + runtime.info().backend()
                    + " engine needs pinned (page-locked) group memory: a copy from pageable memory would block. Raise the "
                    + "locked-memory limit (ulimit -l), free host memory, or use the low-memory or disk source "
                    + "(OffloadConfig.source(LOWMEM or DISK), --source lowmem|disk)",
                    e);
        }
    }

    private static void closeAll(List<AutoCloseable> slabs) {
        for (AutoCloseable slab : slabs) {
            try {
                slab.close();
            } catch (Exception ignored) {
                // closing a pinned buffer or an arena fails only when it was closed already
            }
        }
    }

    /** Group g's packed bytes in pinned memory. */
    public MemorySegment group(int g) {
        return groups.get(g);
    }

    /**
     * Each of {@code groups}' host bytes: this copy's own groups, or slices of them when {@code groups}
     * are another grouping of the same tensors whose every group is a run of a packed group's tensors
     * (PackedLayout: leaf level from a block-level copy). No bytes are copied or pinned. An
     * INVALID_ARGUMENT naming the component and the group when the copy cannot serve them. Taken when
     * an engine starts, never on the step path.
     */
    public MemorySegment[] groupsFor(String component, List<PackedGroup> groups) {
        MemorySegment[] out = new MemorySegment[groups.size()];
        String why = layout == null ? "it has no host copy" : layout.serve(groups, this.groups, out);
        if (why != null) throw OffloadException.invalid("component '" + component + "': its host copy cannot serve these groups: " + why);
        return out;
    }

    /** Null when this copy can serve {@code groups} (groupsFor; a DISK source reads any grouping from its files), else why not. */
    public String cannotServe(List<PackedGroup> groups) {
        if (disk != null) return null;
        return layout == null ? "it has no host copy" : layout.serve(groups, this.groups, new MemorySegment[groups.size()]);
    }

    /** Bytes of the host copy in pinned (page-locked) memory. */
    public long pinnedBytes() {
        return pinnedBytes;
    }

    /** Bytes of the host copy in ordinary memory: the LOWMEM source's whole copy ({@link #packPageable}); else 0. */
    public long pageableBytes() {
        return pageableBytes;
    }

    /**
     * One more holder of this copy (a component replicated on another device streams from the same
     * slabs: engine.HostCopies); each holder closes it once, and the last close frees the slabs.
     * Returns false once the last holder has closed it (then it must be packed again).
     */
    public boolean retain() {
        return holders.getAndUpdate(n -> n == 0 ? 0 : n + 1) > 0;
    }

    /** Runs {@code then} once the last holder has closed this copy (engine.HostCopies forgets it); set once, by its maker. */
    public void whenLastClosed(Runnable then) {
        lastClosed = then;
    }

    @Override
    public void close() {
        if (holders.getAndUpdate(n -> Math.max(0, n - 1)) != 1) return;
        try {
            closeAll(slabs);
        } finally {
            Runnable then = lastClosed;
            if (then != null) then.run();
        }
    }
}
