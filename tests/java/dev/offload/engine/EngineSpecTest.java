package dev.offload.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.DiskIo;
import dev.offload.HostSource;
import dev.offload.OffloadConfig;
import dev.offload.OffloadException;
import dev.offload.Offloader;
import dev.offload.Strategy;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.internal.EngineSpec;
import dev.offload.memory.DiskSource;
import dev.offload.plan.Schedule;
import dev.offload.workload.SyntheticModel;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The native engine's spec is read from the Schedule in one place (EngineStart.spec, issue 17):
 * groups, residency, ring, timing and steps ahead as the schedule says, the reader from its host
 * source, and the disk I/O as the native flag (no enum name passed as text and parsed again).
 */
class EngineSpecTest {
    @TempDir
    Path dir;

    @Test
    void everyDiskIoIsItsOwnNativeFlagAndAutoIsNone() {
        Set<Integer> flags = new HashSet<>();
        for (DiskIo io : DiskIo.values()) flags.add(EngineStart.ioFlags(io));
        assertEquals(DiskIo.values().length, flags.size(), flags.toString());
        assertEquals(0, EngineStart.ioFlags(DiskIo.AUTO));
        assertEquals(EngineSpec.Reader.IO_DIRECT, EngineStart.ioFlags(DiskIo.DIRECT));
        assertTrue(!flags.contains(EngineSpec.Reader.FROM_HOST), flags.toString());
    }

    @Test
    void aDiskSchedulesSpecHasNoHostBytesItsFilesAndTheFlagOfItsDiskIo() {
        Path file = dir.resolve("m.safetensors");
        SyntheticModel.write(file, 64, 4, 2, 7);
        try (Checkpoint c = Checkpoint.open(file);
             Offloader off = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).source(HostSource.DISK)
                     .diskIo(DiskIo.BUFFERED).stepsAhead(2).deviceBudget(c.totalBytes() / 2 + (1 << 20)).build())) {
            Schedule s = off.register("m", c).schedule();
            DiskSource files = DiskSource.of("m", s.groups());
            EngineSpec spec = EngineStart.spec(s, null, files);
            assertEquals(s.groups().size(), spec.groups().size());
            for (int g = 0; g < spec.groups().size(); g++) {
                assertEquals(MemorySegment.NULL, spec.groups().get(g).host());
                assertEquals(s.groups().get(g).bytes(), spec.groups().get(g).bytes());
                assertEquals(s.plan().resident()[g], spec.groups().get(g).resident());
            }
            assertEquals(s.slots(), spec.slots());
            assertEquals(s.prefetchDepth(), spec.prefetchDepth());
            assertEquals(s.timing().code(), spec.timing());
            assertEquals(2, spec.stepsAhead());
            assertEquals(EngineSpec.Reader.IO_BUFFERED, spec.reader().flags());
            assertEquals(files.files(), spec.reader().files());
            assertEquals(files.extents(), spec.reader().extents());
            assertEquals("component 'm'", spec.description());
        }
    }

    @Test
    void aPinnedSchedulesSpecHasNoReaderAndAScheduleIsNeverAuto() {
        Path file = dir.resolve("p.safetensors");
        SyntheticModel.write(file, 64, 2, 2, 3);
        try (Checkpoint c = Checkpoint.open(file);
             Offloader off = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).source(HostSource.PINNED)
                     .deviceBudget(64 << 20).build())) {
            Schedule s = off.register("p", c).schedule();
            var packed = dev.offload.memory.HostPacking.pack(off.runtime(), "p", s.groups(), 0);
            try (packed) {
                EngineSpec spec = EngineStart.spec(s, packed, null);
                assertNull(spec.reader());
                for (int g = 0; g < spec.groups().size(); g++) assertEquals(packed.group(g), spec.groups().get(g).host());
            }
            var e = assertThrows(OffloadException.class,
                    () -> new Schedule("p", s.setup(), s.plan(), HostSource.AUTO, s.streaming(), false));
            assertTrue(e.getMessage().contains("host source is chosen before"), e.getMessage());
        }
    }

    @Test
    void aReaderOfFilesRefusesGroupsWithHostBytes() {
        var group = EngineSpec.Group.inMemory(MemorySegment.ofArray(new byte[16]), false);
        var reader = EngineSpec.Reader.fromFiles(List.of(), List.of(), 0, EngineSpec.Reader.IO_DEFAULT, 0);
        var e = assertThrows(IllegalArgumentException.class, () -> new EngineSpec(List.of(group), 1, 1, 0, 1, false, reader, "x"));
        assertTrue(e.getMessage().contains("group 0"), e.getMessage());
    }
}
