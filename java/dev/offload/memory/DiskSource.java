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
 * memory for the weights: host memory stays the native staging ring.
 */
public record DiskSource(List<String> files, List<NativeEngine.DiskExtent> extents) {
    public DiskSource {
        files = List.copyOf(files);
        extents = List.copyOf(extents);
    }

    public static DiskSource of(String component, List<PackedGroup> packed) {
        Map<Path, Integer> fileIndex = new LinkedHashMap<>();
        List<NativeEngine.DiskExtent> extents = new ArrayList<>();
        for (int g = 0; g < packed.size(); g++) {
            PackedGroup p = packed.get(g);
            List<TensorRef> tensors = p.spec().tensors();
            for (int i = 0; i < tensors.size(); i++) {
                TensorRef t = tensors.get(i);
                if (t.byteSize() == 0) continue;
                FileBacking.Region region = FileBacking.of(t.data()).orElseThrow(() -> OffloadException.invalid("component '"
                        + component + "': tensor '" + t.name() + "' has no file behind it (a synthetic or in-memory graph), so the "
                        + "DISK source cannot read it; use the PINNED source, or register a checkpoint opened from its files"));
                int file = fileIndex.computeIfAbsent(region.file(), f -> fileIndex.size());
                extents.add(new NativeEngine.DiskExtent(g, file, region.position(), t.byteSize(), p.offsets()[i]));
            }
        }
        return new DiskSource(fileIndex.keySet().stream().map(Path::toString).toList(), extents);
    }
}
