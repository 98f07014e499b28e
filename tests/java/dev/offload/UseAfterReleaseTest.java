package dev.offload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.graph.BlockGraph;
import dev.offload.graph.Grouping;
import dev.offload.plan.PackedGroup;
import dev.offload.workload.SyntheticModel;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A DeviceTensor is valid while its group is held (a resident group's while its component keeps its
 * region): kept past that, devicePointer() and the group's tensors() throw IllegalStateException
 * naming the tensor, the group and the step, on every backend present; the check allocates nothing
 * per group (counted with the thread's allocated bytes over many steps).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class UseAfterReleaseTest {
    Path dir;
    Checkpoint model;
    long block;

    @BeforeAll
    void writeModel() throws java.io.IOException {
        dir = Files.createTempDirectory("offload-release-");
        Path file = dir.resolve("model.safetensors");
        SyntheticModel.write(file, 32, 3, 3, 5);
        model = Checkpoint.open(file);
        block = BlockGraph.discover(model).groups(Grouping.blocks(1)).stream()
                .mapToLong(g -> PackedGroup.alignUp(PackedGroup.of(g).bytes())).max().orElseThrow();
    }

    @AfterAll
    void cleanUp() throws java.io.IOException {
        model.close();
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    static void requireBackend(String device) {
        if (device.equals("cuda")) {
            String why = TestBackends.cudaUnavailableBecause();
            assumeTrue(why == null, why);
        }
    }

    static OffloadConfig.Builder config(String device) {
        return OffloadConfig.builder().device(device).h2dGbps(5);
    }

    static void assertNames(IllegalStateException e, String tensor, String group, String step) {
        String m = e.getMessage();
        assertTrue(m.contains("device tensor '" + tensor + "'") && m.contains("group '" + group + "'") && m.contains(step), m);
    }

    @ParameterizedTest
    @ValueSource(strings = {"host", "cuda"})
    void aStreamedGroupsTensorKeptPastItsReleaseThrowsNamingTensorGroupAndStep(String device) {
        requireBackend(device);
        try (Offloader off = Offloader.open(config(device).strategy(Strategy.GROUP_OFFLOAD).deviceBudget(2 * block).build())) {
            off.register("m", model);
            DeviceTensor kept;
            Group keptGroup;
            try (Step s = off.step("m")) {
                Iterator<Group> it = s.iterator();
                keptGroup = it.next();
                kept = keptGroup.tensors().get(0);
                assertTrue(kept.devicePointer().address() != 0, "valid while held");
                assertSame(kept, keptGroup.tensor(kept.name()));
                it.next();  // releases the first group
                IllegalStateException e = assertThrows(IllegalStateException.class, kept::devicePointer);
                assertNames(e, kept.name(), keptGroup.name(), "step 0");
                assertTrue(e.getMessage().contains("component 'm'") && e.getMessage().contains("released"), e.getMessage());
                assertThrows(IllegalStateException.class, keptGroup::tensors);
                assertThrows(IllegalStateException.class, () -> keptGroup.tensor(kept.name()));
                assertTrue(kept.byteSize() > 0 && kept.shape().length > 0, "metadata stays readable");
            }
            // a later step streams other weights through that slot: the kept tensor still refuses
            for (int step = 1; step < 3; step++) {
                try (Step s = off.step("m")) {
                    for (Group g : s) {
                        for (DeviceTensor t : g.tensors()) assertTrue(t.devicePointer().address() != 0);
                        if (g.index() == 1) assertNames(assertThrows(IllegalStateException.class, kept::devicePointer), kept.name(), keptGroup.name(), "step ");
                    }
                }
            }
            assertNames(assertThrows(IllegalStateException.class, kept::devicePointer), kept.name(), keptGroup.name(), "step ");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"host", "cuda"})
    void aResidentGroupsTensorStaysValidAfterItsStepUntilTheComponentIsUnregistered(String device) {
        requireBackend(device);
        try (Offloader off = Offloader.open(config(device).strategy(Strategy.NO_OFFLOAD).build())) {
            off.register("m", model);
            DeviceTensor kept = null;
            String group = null;
            try (Step s = off.step("m")) {
                for (Group g : s) {
                    if (kept == null) {
                        kept = g.tensors().get(0);
                        group = g.name();
                    }
                }
            }
            long address = kept.devicePointer().address();  // resident: valid after its step
            assertTrue(address != 0);
            off.unregister("m");
            IllegalStateException e = assertThrows(IllegalStateException.class, kept::devicePointer);
            assertNames(e, kept.name(), group, "step 0");
            assertTrue(e.getMessage().contains("component 'm' is closed"), e.getMessage());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"host", "cuda"})
    void aTurnTakingComponentsTensorIsInvalidOnceEvictedAndValidAgainWhenHandedOutAgain(String device) {
        requireBackend(device);
        long whole = BlockGraph.discover(model).groups(Grouping.blocks(1)).stream()
                .mapToLong(g -> PackedGroup.alignUp(PackedGroup.of(g).bytes())).sum();
        try (Offloader off = Offloader.open(config(device).strategy(Strategy.MODEL_OFFLOAD).deviceBudget(whole + whole / 2).build())) {
            off.register("a", BlockGraph.discover(model));
            off.register("b", BlockGraph.discover(model));
            DeviceTensor kept = null;
            try (Step s = off.step("a")) {
                for (Group g : s) if (kept == null) kept = g.tensors().get(0);
            }
            assertTrue(kept.devicePointer().address() != 0, "resident while 'a' is on the device");
            try (Step s = off.step("b")) {  // evicts a
                for (Group g : s) assertTrue(g.tensors().get(0).devicePointer().address() != 0);
            }
            IllegalStateException e = assertThrows(IllegalStateException.class, kept::devicePointer);
            assertTrue(e.getMessage().contains("evicted"), e.getMessage());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"host"})
    void toStringShowsNameDtypeAndShape() {
        try (Offloader off = Offloader.open(config("host").strategy(Strategy.NO_OFFLOAD).build())) {
            off.register("m", model);
            try (Step s = off.step("m")) {
                for (Group g : s) {
                    for (DeviceTensor t : g.tensors()) {
                        assertEquals(t.name() + " " + t.dtype() + Arrays.toString(t.shape()), t.toString());
                        assertTrue(!t.toString().contains("[J@"), t.toString());
                    }
                }
            }
        }
    }

    /**
     * The validity check allocates nothing per group: over 300 steps of a streamed component, the
     * bytes the stepping thread allocates between its first group and its last (acquire, release,
     * tensors(), tensor(name), devicePointer() of every tensor) are zero once the views exist, but
     * for the JIT's rare noise.
     */
    @ParameterizedTest
    @ValueSource(strings = {"host", "cuda"})
    void handingOutAndCheckingTensorsAllocatesNothingPerGroup(String device) {
        requireBackend(device);
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled(), "no allocation counter");
        try (Offloader off = Offloader.open(config(device).strategy(Strategy.GROUP_OFFLOAD).deviceBudget(3 * block).build())) {
            off.register("m", model);
            long sum = 0;
            int groups = 0;
            long perGroupBytes = 0;
            int stepsAllocating = 0;
            for (int step = 0; step < 800; step++) {
                try (Step s = off.step("m")) {
                    Iterator<Group> it = s.iterator();
                    Group g = it.next();
                    long before = threads.getCurrentThreadAllocatedBytes();
                    while (true) {
                        List<DeviceTensor> ts = g.tensors();
                        for (int i = 0; i < ts.size(); i++) sum += ts.get(i).devicePointer().address();
                        sum += g.tensor(ts.get(0).name()).devicePointer().address();
                        if (!it.hasNext()) break;
                        g = it.next();
                        if (step == 0) groups++;
                    }
                    long after = threads.getCurrentThreadAllocatedBytes();
                    if (step >= 500) {  // after warm-up (views made, code compiled)
                        perGroupBytes += after - before;
                        if (after != before) stepsAllocating++;
                    }
                }
            }
            assertTrue(sum != 0 && groups > 2);
            // Anything made per group would show in every step, at least 16 bytes a group; the JIT
            // (a deoptimization re-making an object it had scalar-replaced) may show in one or two.
            assertTrue(stepsAllocating <= 6 && perGroupBytes < 300L * groups, stepsAllocating + " of 300 steps allocated, "
                    + perGroupBytes + " bytes in all over " + 300 * groups + " group visits");
        }
    }
}
