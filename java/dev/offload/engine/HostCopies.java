package dev.offload.engine;

import dev.offload.HostSource;
import dev.offload.memory.HostPacking;
import dev.offload.plan.PackedGroup;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * One host copy for every device a component is on (issue 20): the devices of one offloader
 * (DeviceSet) share this table, and a component registered on a second device with the same source
 * (ComponentSource: files and stamps, or the graph instance), the same packed layout (every
 * group's tensors, offsets and bytes) and the same host source gets the first device's
 * HostPacking, one holder more, instead of a copy of its own. Every device's engine then streams
 * from the same pinned slabs: on cuda they are allocated portable (cudaHostAllocPortable), on the
 * host backend pinned memory is known process-wide (native memory/pinned_registry), so either
 * device's engine accepts them.
 *
 * <p>A DISK component shares its registered files' regions and stamps; each device's engine opens
 * the files itself and has its own staging ring and reader threads (offload.h's disk engine owns
 * its descriptors: the O_DIRECT choice, the stamp check at open and the close at destroy are per
 * engine, so an engine closing never pulls a descriptor from under another device's readers).
 *
 * <p>Taken only while registering (under a registry's lock, never on the step path); its own lock
 * is a leaf.
 */
final class HostCopies {
    private record Key(ComponentSource source, List<Object> layout, HostSource kind) {}

    private final Map<Key, HostPacking> copies = new HashMap<>();

    /** The live copy for this source, layout and host source, one holder more; else {@code pack}'s, kept for the next device. */
    synchronized HostPacking packOrShare(ComponentSource source, List<PackedGroup> groups, HostSource kind, Supplier<HostPacking> pack) {
        Key key = new Key(source, layout(groups), kind);
        HostPacking live = copies.get(key);
        if (live != null && live.retain()) return live;
        HostPacking made = pack.get();
        copies.put(key, made);
        return made;
    }

    /** How many host copies have been made (a test's check that replicas packed once). */
    synchronized int size() {
        return copies.size();
    }

    private static List<Object> layout(List<PackedGroup> groups) {
        List<Object> out = new ArrayList<>(groups.size());
        for (PackedGroup g : groups) {
            List<String> names = g.spec().tensors().stream().map(dev.offload.graph.TensorRef::name).toList();
            out.add(List.of(g.spec().name(), names, java.util.Arrays.stream(g.offsets()).boxed().toList(), g.bytes()));
        }
        return out;
    }
}
