package dev.offload.memory;

import com.google.gson.JsonObject;
import dev.offload.OffloadException;
import dev.offload.SharedHost;
import dev.offload.Status;
import dev.offload.checkpoint.FileBacking;
import dev.offload.files.AtomicFile;
import dev.offload.graph.TensorRef;
import dev.offload.internal.NativeEngine;
import dev.offload.plan.PackedGroup;
import dev.offload.runtime.DeviceRuntime;
import dev.offload.runtime.PinnedBuffer;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * A PINNED component's host copy in a named shared-memory file ({@link SharedHost}), packed by the
 * first process and mapped by every later one on the node that opens the same model under the same
 * name: one copy of the weights in host memory for any number of processes.
 *
 * <p>File {@code FOLDER/offload-NAME.COMPONENT.LAYOUT}, LAYOUT the first 8 hex digits of the
 * layout's hash (groups, tensors, offsets: {@link RegionIdentity#layoutHash}), so processes or
 * devices that plan the component with different groupings use regions of their own instead of
 * rebuilding one name over each other, and those with the same layout map one region. Its bytes:
 * {@code OFLSHM01}, then 8 bytes that read
 * {@code COMPLETE} once the groups are packed (zeros until then), the header's length (8 bytes,
 * little-endian), the header (JSON, {@link RegionIdentity}: the disk cache's identity, the source
 * files' {@link FileStamp}s and the layout with its hash), zero padding to 4 KiB, then the groups,
 * each a 4 KiB-aligned run at its recorded offset.
 *
 * <p>Opening (under the build lock, {@link RegionUsers}): a region at the name whose mark says
 * complete and whose header equals the one this process would write is mapped (outcome
 * {@code mapped}); none at the name is packed ({@code created}); one that is stale (a source
 * changed), foreign (another component, other files, another layout, not a region) or incomplete is
 * not used, and a log line and the outcome say why ({@code rebuilt: ...}). Packing writes a new file
 * through {@link AtomicFile}: a temporary in the folder, its whole size reserved first with
 * {@code posix_fallocate} (a full {@code /dev/shm} is an IO error naming the file, never a SIGBUS
 * while packing), the complete mark written last, then renamed over the name, so processes mapping
 * the old file keep it and a process killed while packing leaves only a temporary, which the next
 * packing in the folder removes. A source changed while it was being packed fails the packing.
 *
 * <p>Every process maps the whole file shared and registers its mapping as pinned
 * ({@link DeviceRuntime#registerHost}: cudaHostRegister, portable, on cuda; recorded on the host
 * backend), so its engines copy from it at pinned speed. Closing unregisters, unmaps and ends the
 * use; the last process leaves the file in place unless {@link SharedHost#removeAtClose()}.
 *
 * <p>Limit: a region is trusted by its header, not by a checksum of its bytes (reading them all would
 * cost what mapping saves); a process that truncates or writes the file by hand breaks the processes
 * mapping it (a truncation is a SIGBUS in their copies).
 */
public final class SharedHostRegion {
    private static final System.Logger LOG = System.getLogger("dev.offload.memory");
    private static final byte[] MAGIC = "OFLSHM01".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] COMPLETE = "COMPLETE".getBytes(StandardCharsets.US_ASCII);
    private static final long PREFIX = 24;  // magic, complete mark, header length

    private SharedHostRegion() {}

    /**
     * The region's file for a component packed with a layout: {@code FOLDER/offload-NAME.COMPONENT.LAYOUT}
     * (the component's name made file-safe; LAYOUT the first 8 hex digits of {@code layoutHash}).
     */
    public static Path file(SharedHost shared, String component, String layoutHash) {
        String safe = component.replaceAll("[^A-Za-z0-9._-]", "_");
        if (safe.length() > 100) safe = safe.substring(0, 100);
        return shared.folder().resolve("offload-" + shared.name() + "." + safe + "." + layoutHash.substring(0, 8));
    }

    /**
     * The component's host copy in the shared region: mapped when a matching one is there, else
     * packed into a new one (the class note); {@code packedBytes} hears each packed group's bytes.
     * Its {@link HostPacking#sharedHost()} says which and why.
     */
    public static HostPacking open(DeviceRuntime runtime, String component, List<PackedGroup> packed, SharedHost shared,
                                   LongConsumer packedBytes) {
        String what = "the shared host region '" + shared.name() + "' of component '" + component + "'";
        if (!Files.isDirectory(shared.folder())) throw OffloadException.invalid(what + ": the folder " + shared.folder() + " does not exist");
        for (PackedGroup p : packed) {
            for (TensorRef t : p.spec().tensors()) {
                if (t.byteSize() > 0 && FileBacking.of(t.data()).isEmpty()) {
                    throw OffloadException.invalid(what + ": tensor '" + t.name() + "' has no file behind it (a synthetic or in-memory graph);"
                            + " a shared region records its source files' stamps, so it needs a checkpoint opened from its files");
                }
            }
        }
        DiskSource direct = DiskSource.of(component, packed);
        List<FileStamp> stamps = new ArrayList<>();
        for (Path f : direct.files()) stamps.add(FileStamp.of(f, what));
        JsonObject identity = RegionIdentity.of(component, packed, direct, stamps);
        byte[] header = identity.toString().getBytes(StandardCharsets.UTF_8);
        long dataStart = DiskCache.alignUp(PREFIX + header.length);
        long[] groupAt = new long[packed.size()];
        long size = dataStart;
        for (int g = 0; g < packed.size(); g++) {
            groupAt[g] = size;
            size += DiskCache.alignUp(Math.max(packed.get(g).bytes(), 1));
        }
        Path file = file(shared, component, identity.get("layout_hash").getAsString());
        Path lock = file.resolveSibling("." + file.getFileName() + ".lock");
        long bytes = size;
        return RegionUsers.open(lock, file, shared.removeAtClose(), what, use -> {
            Arena mapping = Arena.ofShared();
            PinnedBuffer pinned = null;
            try {
                String outcome;
                MemorySegment region;
                String unusable = unusable(file, identity, bytes);
                if (unusable == null) {
                    region = map(file, bytes, mapping, what);
                    outcome = "mapped: " + file + " (" + bytes + " bytes), packed earlier for these files and this layout";
                } else {
                    boolean existed = Files.exists(file);
                    if (existed) LOG.log(System.Logger.Level.INFO, "{0}: {1} was {2}; packing it again", what, file, unusable);
                    HostMemory.require(component, bytes);
                    region = pack(file, what, header, bytes, dataStart, groupAt, packed, direct, stamps, mapping, packedBytes);
                    outcome = existed ? "rebuilt: " + file + " was " + unusable
                            : "created: " + file + " (" + bytes + " bytes): no region of that name yet";
                }
                pinned = runtime.registerHost(region);
                List<MemorySegment> groups = new ArrayList<>();
                for (int g = 0; g < packed.size(); g++) groups.add(pinned.segment().asSlice(groupAt[g], packed.get(g).bytes()));
                return HostPacking.shared(List.of(pinned, mapping, use), packed, groups, bytes, outcome);
            } catch (RuntimeException | Error e) {
                if (pinned != null) pinned.close();
                mapping.close();
                use.close();
                throw e;
            }
        });
    }

    /** Why the file at the region's name cannot be mapped for {@code identity}, in words; null when it can. */
    static String unusable(Path file, JsonObject identity, long bytes) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer head = ByteBuffer.allocate((int) PREFIX).order(ByteOrder.LITTLE_ENDIAN);
            if (ch.read(head, 0) != PREFIX || !head.slice(0, 8).equals(ByteBuffer.wrap(MAGIC))) {
                return "foreign: it is not an offload shared host region (no " + new String(MAGIC, StandardCharsets.US_ASCII) + " mark)";
            }
            if (!head.slice(8, 8).equals(ByteBuffer.wrap(COMPLETE))) {
                return "incomplete: its complete mark is missing (its writer was stopped while packing)";
            }
            long length = head.getLong(16);
            if (length <= 0 || length > (64L << 20) || PREFIX + length > ch.size()) return "foreign: its header length " + length + " is not valid";
            ByteBuffer json = ByteBuffer.allocate((int) length);
            while (json.hasRemaining()) if (ch.read(json, PREFIX + json.position()) < 0) return "incomplete: it ends inside its header";
            String mismatch = RegionIdentity.mismatch(new String(json.array(), StandardCharsets.UTF_8), identity);
            if (mismatch != null) return mismatch;
            if (ch.size() < bytes) return "incomplete: it is " + ch.size() + " bytes long, its layout needs " + bytes;
            return null;
        } catch (NoSuchFileException e) {
            return "missing";
        } catch (IOException e) {
            return "unreadable: " + OffloadException.reason(e);
        }
    }

    private static MemorySegment map(Path file, long bytes, Arena arena, String what) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
        } catch (IOException e) {
            throw OffloadException.io(what + ": cannot map " + file, e);
        }
    }

    /** Packs the groups into a new file renamed over the region's name (the class note); its mapping, in {@code arena}. */
    private static MemorySegment pack(Path file, String what, byte[] header, long bytes, long dataStart, long[] groupAt, List<PackedGroup> packed,
                                      DiskSource direct, List<FileStamp> stamps, Arena arena, LongConsumer packedBytes) {
        MemorySegment[] mapped = new MemorySegment[1];
        AtomicFile.write(file, what, out -> {
            MemorySegment region = out.map(bytes, arena);  // the whole size reserved first: a full folder fails here
            mapped[0] = region;
            MemorySegment.copy(MemorySegment.ofArray(MAGIC), 0, region, 0, MAGIC.length);
            region.set(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 16, header.length);
            MemorySegment.copy(MemorySegment.ofArray(header), 0, region, PREFIX, header.length);
            List<FileChannel> sources = new ArrayList<>();
            try {
                for (Path f : direct.files()) sources.add(FileChannel.open(f, StandardOpenOption.READ));
                int group = -1;
                for (NativeEngine.DiskExtent e : direct.extents()) {
                    if (e.group() != group && group >= 0 && packedBytes != null) packedBytes.accept(packed.get(group).bytes());
                    group = e.group();
                    read(sources.get(e.file()), direct.files().get(e.file()), e.fileOffset(),
                            region.asSlice(groupAt[e.group()] + e.groupOffset(), e.bytes()));
                }
                if (group >= 0 && packedBytes != null) packedBytes.accept(packed.get(group).bytes());
            } finally {
                for (FileChannel c : sources) c.close();
            }
            for (int f = 0; f < stamps.size(); f++) {
                FileStamp now = FileStamp.of(direct.files().get(f));
                if (!now.equals(stamps.get(f))) {
                    throw new OffloadException(Status.IO, what + ": " + direct.files().get(f) + " changed while it was being packed ("
                            + now.changeFrom(stamps.get(f)) + "); nothing was left at " + file + ": run again");
                }
            }
            MemorySegment.copy(MemorySegment.ofArray(COMPLETE), 0, region, 8, COMPLETE.length);  // last: the region is whole
        });
        return mapped[0];
    }

    /** Reads {@code into.byteSize()} bytes of {@code source} at {@code at}; a file that ends early is an IO error naming it. */
    private static void read(FileChannel source, Path file, long at, MemorySegment into) throws IOException {
        for (long done = 0; done < into.byteSize(); ) {
            ByteBuffer buffer = into.asSlice(done, Math.min(into.byteSize() - done, 1L << 30)).asByteBuffer();
            while (buffer.hasRemaining()) {
                if (source.read(buffer, at + done + buffer.position()) < 0) {
                    throw new OffloadException(Status.IO, file + ": ends at byte " + (at + done + buffer.position())
                            + " while packing it: the file was truncated or replaced after it was opened");
                }
            }
            done += buffer.capacity();
        }
    }
}
