package dev.offload.memory;

import dev.offload.OffloadException;
import dev.offload.checkpoint.FileBacking;
import dev.offload.graph.TensorRef;
import dev.offload.internal.NativeEngine;
import dev.offload.plan.PackedGroup;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The memory layer's DISK source: where each packed group's bytes lie in the checkpoint's files, as
 * extents the native reader reads (offload.h: ofl_disk_extent). Each tensor is one extent: its file
 * and data offset ({@link FileBacking}) and its offset in the group's packed layout
 * ({@link PackedGroup}); alignment padding is no extent and the reader zeroes it, as packing does. A
 * tensor with no file behind it (a synthetic or in-memory graph) cannot be streamed from disk: an
 * INVALID_ARGUMENT naming the tensor and the component. Nothing here reads or allocates host
 * memory for the weights: host memory stays the native staging ring. Files stay {@link Path}s, so a
 * name that is not valid text in the JVM's encoding (non-UTF-8 bytes) reaches the native reader as
 * its raw bytes (internal.NativePaths).
 */
public record DiskSource(List<Path> files, List<NativeEngine.DiskExtent> extents) {
    public DiskSource {
        files = List.copyOf(files);
        extents = List.copyOf(extents);
    }

    public static DiskSource of(String component, List<PackedGroup> packed) {
        return of(component, packed, t -> FileBacking.of(t.data()));
    }

    /** As above, with each tensor's file region from {@code regions} (a {@link Registered}'s, taken at registration). */
    public static DiskSource of(String component, List<PackedGroup> packed,
                                java.util.function.Function<TensorRef, java.util.Optional<FileBacking.Region>> regions) {
        Map<Path, Integer> fileIndex = new LinkedHashMap<>();
        List<NativeEngine.DiskExtent> extents = new ArrayList<>();
        for (int g = 0; g < packed.size(); g++) {
            PackedGroup p = packed.get(g);
            List<TensorRef> tensors = p.spec().tensors();
            for (int i = 0; i < tensors.size(); i++) {
                TensorRef t = tensors.get(i);
                if (t.byteSize() == 0) continue;
                FileBacking.Region region = regionOf(component, t, regions.apply(t));
                int file = fileIndex.computeIfAbsent(region.file(), f -> fileIndex.size());
                extents.add(new NativeEngine.DiskExtent(g, file, region.position(), t.byteSize(), p.offsets()[i]));
            }
        }
        return new DiskSource(List.copyOf(fileIndex.keySet()), extents);
    }

    /** The tensor's file region; INVALID_ARGUMENT naming it and the component when it has none. */
    private static FileBacking.Region regionOf(String component, TensorRef t, java.util.Optional<FileBacking.Region> region) {
        return region.orElseThrow(() -> OffloadException.invalid("component '" + component + "': tensor '" + t.name()
                + "' has no file behind it (a synthetic or in-memory graph), so the DISK source cannot read it; use the PINNED"
                + " source, or register a checkpoint opened from its files"));
    }

    /**
     * Where a component's tensors lie in their files, and each file's {@link FileStamp}, taken once
     * when the component is registered. Engines made later (a MODEL_OFFLOAD turn, an AUTO re-plan,
     * an override) read from these regions, so the checkpoint may close after registration (the
     * regions of a closed checkpoint's mappings are gone), and first check the files against these
     * stamps: a file rewritten, replaced (by rename, even with its size and times kept) or touched
     * between turns is an IO error naming it, never other bytes streamed as the registered weights
     * (a live engine checks its open files the same way at every read, natively).
     */
    public static final class Registered {
        // By tensor name (unique in a component): a replica on another device (engine.HostCopies shares
        // this object when the files, stamps and packed layout are the same) holds its own graph's
        // TensorRefs for the same tensors, so an identity key would find none of them.
        private final Map<String, FileBacking.Region> regions = new java.util.HashMap<>();
        private final Map<Path, FileStamp> stamps = new LinkedHashMap<>();

        private Registered() {}

        /** Every tensor's region and every file's stamp; INVALID_ARGUMENT for a tensor with no file, IO for a file that cannot be read. */
        public static Registered of(String component, List<TensorRef> tensors) {
            Registered r = new Registered();
            for (TensorRef t : tensors) {
                if (t.byteSize() == 0) continue;
                FileBacking.Region region = regionOf(component, t, FileBacking.of(t.data()));
                r.regions.put(t.name(), region);
                r.stamps.computeIfAbsent(region.file(), f -> FileStamp.of(f, "component '" + component + "'"));
            }
            return r;
        }

        public java.util.Optional<FileBacking.Region> region(TensorRef t) {
            return java.util.Optional.ofNullable(regions.get(t.name()));
        }

        /** Each file's stamp at registration, in first-use order. */
        public Map<Path, FileStamp> stamps() {
            return java.util.Collections.unmodifiableMap(stamps);
        }

        /** IO error naming the first file whose stamp differs from registration's, and what differs. */
        public void checkUnchanged(String component) {
            for (Map.Entry<Path, FileStamp> e : stamps.entrySet()) {
                FileStamp was = e.getValue(), now = FileStamp.of(e.getKey(), "component '" + component + "'");
                if (!was.equals(now)) {
                    throw new OffloadException(dev.offload.Status.IO, "component '" + component + "': '" + e.getKey()
                            + "' changed since the component was registered (" + now.changeFrom(was) + "); its bytes no longer are"
                            + " the registered weights: register it again");
                }
            }
        }
    }
}
