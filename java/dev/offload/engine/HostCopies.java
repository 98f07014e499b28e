package dev.offload.engine;

import dev.offload.HostSource;
import dev.offload.memory.HostPacking;
import dev.offload.plan.PackedGroup;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
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
 * <p>Taken only while registering (under a registry's lock, never on the step path). Its own lock is
 * a leaf, held only to look a key up, claim it and forget it: packing (which may take a shared
 * region's build lock, memory.RegionUsers, and file locks other processes hold) runs outside it.
 * The first caller of a key claims it with a future and packs; a concurrent caller of the same key
 * (another device's registry) waits for that future, outside this lock, and takes one holder more,
 * so the key is packed once. A packing that fails is forgotten (a waiter then packs itself); a copy
 * whose last holder closes it is forgotten then (HostPacking.whenLastClosed), so the table keeps
 * no closed copy and no graph of an unregistered component.
 */
final class HostCopies {
    private record Key(ComponentSource source, List<Object> layout, HostSource kind) {}

    private final Map<Key, CompletableFuture<HostPacking>> copies = new HashMap<>();  // guarded by this

    /** The live copy for this source, layout and host source, one holder more; else {@code pack}'s (packed outside this lock), kept for the next device. */
    HostPacking packOrShare(ComponentSource source, List<PackedGroup> groups, HostSource kind, Supplier<HostPacking> pack) {
        Key key = new Key(source, layout(groups), kind);
        while (true) {
            CompletableFuture<HostPacking> claimed = new CompletableFuture<>();
            CompletableFuture<HostPacking> theirs;
            synchronized (this) {
                theirs = copies.putIfAbsent(key, claimed);
            }
            if (theirs == null) return packClaimed(key, claimed, pack);
            HostPacking live;
            try {
                live = theirs.join();  // another device's registration packing it now: outside this lock
            } catch (CompletionException | CancellationException failed) {
                continue;  // its packing failed and was forgotten: this caller packs
            }
            if (live.retain()) return live;
            synchronized (this) {
                copies.remove(key, theirs);  // closed by its last holder just now: forget it, pack again
            }
        }
    }

    private HostPacking packClaimed(Key key, CompletableFuture<HostPacking> claimed, Supplier<HostPacking> pack) {
        HostPacking made;
        try {
            made = pack.get();
        } catch (RuntimeException | Error e) {
            synchronized (this) {
                copies.remove(key, claimed);
            }
            claimed.completeExceptionally(e);
            throw e;
        }
        made.whenLastClosed(() -> {
            synchronized (this) {
                copies.remove(key, claimed);
            }
        });
        claimed.complete(made);
        return made;
    }

    /** How many host copies are held or being packed (a test's check that replicas packed once, and that closed ones are forgotten). */
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
