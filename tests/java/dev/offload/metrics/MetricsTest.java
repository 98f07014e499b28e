package dev.offload.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.Component;
import dev.offload.Group;
import dev.offload.OffloadConfig;
import dev.offload.Offloader;
import dev.offload.Step;
import dev.offload.StepMetrics;
import dev.offload.Strategy;
import dev.offload.Timing;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.workload.SyntheticModel;
import dev.offload.workload.WorkloadRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * JFR events and running totals on the host backend: an in-process recording holds one step event
 * per step read, with the figures {@code Component.metrics} returned, and one plan event per
 * component; totals are the sums of the per-step figures, each step counted once, and can be read
 * from another thread while a step runs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MetricsTest {
    Path dir;
    Checkpoint model;

    @BeforeAll
    void writeModel() {
        try {
            dir = Files.createTempDirectory("offload-metrics-");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        Path file = dir.resolve("model.safetensors");
        SyntheticModel.write(file, 64, 4, 3, 5);
        model = Checkpoint.open(file);
    }

    @AfterAll
    void closeModel() throws java.io.IOException {
        model.close();
        try (var walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    OffloadConfig.Builder host() {
        return OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).timing(Timing.GROUP).deviceBudget(64 << 20);
    }

    static List<RecordedEvent> record(Runnable work) throws java.io.IOException {
        Path file = Files.createTempFile("offload-", ".jfr");
        try (Recording recording = new Recording()) {
            for (String name : new String[] {"dev.offload.Step", "dev.offload.HostWait", "dev.offload.Plan", "dev.offload.GroupCopy"}) {
                recording.enable(name);
            }
            recording.start();
            work.run();
            recording.stop();
            recording.dump(file);
            return RecordingFile.readAllEvents(file);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    static List<RecordedEvent> of(List<RecordedEvent> events, String type, String component) {
        List<RecordedEvent> out = new ArrayList<>();
        for (RecordedEvent e : events) {
            if (e.getEventType().getName().equals(type) && component.equals(e.getString("component"))) out.add(e);
        }
        out.sort(Comparator.comparingLong(e -> e.getLong("step")));
        return out;
    }

    /**
     * The engine's promise: once step s has begun, step s - 1 - stepsAhead is done on the device, so
     * its figures read without waiting are there (not null), with every timing level.
     */
    @Test
    void aStepsFiguresAreReadyOnceBackPressureHasPassedIt() {
        for (Timing timing : new Timing[] {Timing.STEP, Timing.GROUP}) {
            for (int ahead : new int[] {0, 1, 3}) {
                try (Offloader off = Offloader.open(host().timing(timing).stepsAhead(ahead).build())) {
                    Component c = off.register("model", model);
                    for (int s = 0; s < 60; s++) {
                        try (Step step = off.step("model")) {
                            for (Group g : step) g.index();  // nothing computed: the device is never behind by much
                        }
                        int done = s - 1 - ahead;
                        if (done >= 0) {
                            StepMetrics m = c.metrics(done, false);
                            assertTrue(m != null, "step " + done + " read after step " + s + " (" + timing + ", " + ahead + " ahead)");
                            assertEquals(done, m.step());
                        }
                    }
                }
            }
        }
    }

    /** A run of more steps than the engine keeps figures of reads each step's, in order, while it is kept. */
    @Test
    void aRunLongerThanTheKeptFiguresReadsEveryStep() {
        int steps = 3 * Component.KEPT_STEPS;
        for (int ahead : new int[] {0, 2}) {
            WorkloadRun.Result r = WorkloadRun.run(model, host().timing(Timing.STEP).stepsAhead(ahead).build(), "none", steps, 2, 32,
                    false, null);
            assertEquals(steps, r.perStep().size());
            for (int s = 0; s < steps; s++) {
                assertEquals(s, r.perStep().get(s).step());
                assertTrue(r.perStep().get(s).stepMs() > 0, "step " + s);
            }
        }
    }

    @Test
    void stepEventsCarryTheFiguresWorkloadRunRead() throws Exception {
        int steps = 5;
        AtomicReference<WorkloadRun.Result> result = new AtomicReference<>();
        List<RecordedEvent> events = record(() -> result.set(WorkloadRun.run(model, host().build(), steps, 2, 32, false, null)));
        List<StepMetrics> read = result.get().perStep();
        List<RecordedEvent> stepEvents = of(events, "dev.offload.Step", "model");
        assertEquals(steps, stepEvents.size());
        long waits = 0;
        for (int s = 0; s < steps; s++) {
            RecordedEvent e = stepEvents.get(s);
            StepMetrics m = read.get(s);
            assertEquals(s, e.getLong("step"));
            assertEquals(m.stepMs(), e.getDouble("stepMs"));
            assertEquals(m.computeMs(), e.getDouble("computeMs"));
            assertEquals(m.copyMs(), e.getDouble("copyMs"));
            assertEquals(m.h2dBytes(), e.getLong("h2dBytes"));
            assertEquals(m.hostWaits(), e.getLong("hostWaits"));
            assertTrue(m.stepMs() > 0 && m.h2dBytes() > 0, m.toString());
            waits += m.hostWaits();
        }
        assertEquals(waits, of(events, "dev.offload.HostWait", "model").size());
        List<RecordedEvent> plans = of(events, "dev.offload.Plan", "model");
        assertEquals(1, plans.size());
        assertEquals("GROUP_OFFLOAD", plans.get(0).getString("strategy"));
        assertEquals(result.get().slots(), plans.get(0).getInt("slots"));
        assertEquals(result.get().groups(), plans.get(0).getInt("groups"));
    }

    @Test
    void aTracedRunAlsoRecordsEveryGroupCopy() throws Exception {
        int steps = 3;
        AtomicReference<WorkloadRun.Result> result = new AtomicReference<>();
        List<RecordedEvent> events = record(() -> result.set(WorkloadRun.run(model, host().trace(true).build(), steps, 2, 32, false, null)));
        List<RecordedEvent> copies = of(events, "dev.offload.GroupCopy", "model");
        assertEquals(steps * result.get().groups(), copies.size(), "one per streamed group and step");
        for (int s = 0; s < steps; s++) {
            long bytes = 0;
            for (RecordedEvent e : copies) {
                if (e.getLong("step") != s) continue;
                bytes += e.getLong("bytes");
                assertTrue(e.getDouble("copyMs") >= 0 && e.getDouble("computeWaitMs") >= 0, e.toString());
            }
            assertEquals(result.get().perStep().get(s).h2dBytes(), bytes, "the step's copies add up to its bytes");
        }
        List<RecordedEvent> untraced = record(() -> WorkloadRun.run(model, host().build(), 2, 2, 32, false, null));
        assertEquals(0, of(untraced, "dev.offload.GroupCopy", "model").size());
    }

    @Test
    void totalsAreTheSumsOfTheStepsReadEachOnce() throws Exception {
        int steps = 4;
        List<StepMetrics> read = new ArrayList<>();
        List<CumulativeMetrics> totals = new ArrayList<>();
        List<RecordedEvent> events = record(() -> {
            try (Offloader off = Offloader.open(host().build())) {
                Component a = off.register("jfr-a", model);
                Component b = off.register("jfr-b", model);
                assertEquals(0, a.totals().steps());
                assertTrue(Double.isNaN(a.totals().stepMs()));
                for (int s = 0; s < steps; s++) {
                    int groups = 0;
                    try (Step step = off.step("jfr-a")) {
                        for (Group g : step) groups++;
                    }
                    assertEquals(a.groupCount(), groups);
                }
                for (int s = 0; s < steps; s++) read.add(a.metrics(s, true));
                a.metrics(0, true);  // read again: neither counted nor recorded twice
                totals.add(a.totals());
                totals.add(b.totals());
                assertEquals(a.plan().residentBytes(), totals.get(0).residentBytes());
                assertEquals(a.plan().slotBytes() * a.plan().slots(), totals.get(0).ringBytes());
                assertEquals(a.plan().deviceBytes(), totals.get(0).deviceBytes());
                assertEquals(a.hostBytes(), totals.get(0).pinnedHostBytes());
            }
        });
        CumulativeMetrics t = totals.get(0);
        assertEquals(steps, t.steps());
        assertEquals(read.stream().mapToLong(StepMetrics::h2dBytes).sum(), t.h2dBytes());
        assertEquals(read.stream().mapToLong(StepMetrics::hostWaits).sum(), t.hostWaits());
        assertEquals(read.stream().mapToDouble(StepMetrics::stepMs).sum(), t.stepMs(), 1e-9);
        assertEquals(read.stream().mapToDouble(StepMetrics::computeMs).sum(), t.computeMs(), 1e-9);
        assertEquals(read.stream().mapToDouble(StepMetrics::computeIdleMs).sum(), t.computeIdleMs(), 1e-9);
        assertEquals(read.stream().mapToDouble(StepMetrics::copyMs).sum(), t.copyMs(), 1e-9);
        assertEquals(read.stream().mapToDouble(StepMetrics::copyBusyMs).sum(), t.copyBusyMs(), 1e-9);
        assertEquals(read.stream().mapToDouble(StepMetrics::hostBlockedMs).sum(), t.hostBlockedMs(), 1e-9);
        double overlap = read.stream().mapToDouble(m -> Math.max(m.computeMs(), m.copyMs())).sum()
                / read.stream().mapToDouble(StepMetrics::stepMs).sum();
        assertEquals(overlap, t.overlapEfficiency(), 1e-12);
        assertTrue(t.pinnedHostBytes() >= model.totalBytes(), t.toString());
        // b never stepped: nothing summed, its memory still reported.
        assertEquals(0, totals.get(1).steps());
        assertTrue(totals.get(1).ringBytes() > 0 && Double.isNaN(totals.get(1).copyMs()), totals.get(1).toString());
        assertEquals(steps, of(events, "dev.offload.Step", "jfr-a").size());
        assertEquals(1, of(events, "dev.offload.Plan", "jfr-a").size());
        assertEquals(1, of(events, "dev.offload.Plan", "jfr-b").size());
        assertEquals(0, of(events, "dev.offload.Step", "jfr-b").size());
    }

    @Test
    void totalsAreReadableFromAnotherThreadWhileAStepRuns() throws Exception {
        try (Offloader off = Offloader.open(host().timing(Timing.STEP).build())) {
            Component c = off.register("jfr-c", model);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread reader;
            try (Step step = off.step("jfr-c")) {
                var it = step.iterator();
                it.next();  // a group held, the step open on this thread
                reader = Thread.ofPlatform().start(() -> {
                    try {
                        CumulativeMetrics t = c.totals();
                        assertEquals(0, t.steps());
                        assertEquals(c.plan().deviceBytes(), t.deviceBytes());
                    } catch (Throwable e) {
                        failure.set(e);
                    }
                });
                reader.join(10_000);
                while (it.hasNext()) it.next();
            }
            assertNull(failure.get());
            c.metrics(0, true);
            CumulativeMetrics t = c.totals();
            assertEquals(1, t.steps());
            assertTrue(t.stepMs() > 0 && Double.isNaN(t.copyMs()) && Double.isNaN(t.overlapEfficiency()), t.toString());
        }
    }
}
