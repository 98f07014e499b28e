package dev.offload.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.offload.ArrangementScope;
import dev.offload.Component;
import dev.offload.OffloadConfig;
import dev.offload.Offloader;
import dev.offload.Strategy;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.plan.Plan;
import dev.offload.plan.Schedule;
import dev.offload.workload.SyntheticModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;

/**
 * What reports read is the component's Schedule (issue 17): Offloader.plan()'s entries hold the
 * very Schedule the component runs (its JSON figures are that schedule's), and the JFR plan event is
 * committed from the schedule in force at registration, at an override and at its restore, with
 * the schedule's host source and whether it takes turns.
 */
class ScheduleReadersTest {
    @Test
    void planEntriesAndJfrPlanEventsReadTheComponentsSchedule() throws Exception {
        Path dir = Files.createTempDirectory("offload-schedule-readers-");
        Path file = dir.resolve("m.safetensors");
        Path jfr = dir.resolve("plan.jfr");
        SyntheticModel.write(file, 64, 2, 2, 4);
        List<Schedule> seen = new ArrayList<>();
        try (Checkpoint c = Checkpoint.open(file); Recording recording = new Recording()) {
            recording.enable("dev.offload.Plan");
            recording.start();
            try (Offloader off = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).strategy("t",
                    Strategy.MODEL_OFFLOAD).h2dGbps(5).deviceBudget(64 << 20).build())) {
                Component m = off.register("m", c);
                seen.add(m.schedule());
                Plan plan = off.plan();
                Plan.Entry e = plan.components().get(0);
                assertSame(m.schedule(), e.schedule());
                assertSame(m.schedule().plan(), e.plan());
                var json = plan.toJson().getAsJsonArray("components").get(0).getAsJsonObject();
                assertEquals(m.schedule().slots(), json.get("slots").getAsInt());
                assertEquals(m.schedule().deviceBytes(), json.get("device_bytes").getAsLong());
                assertEquals(m.schedule().ringBytes() + m.schedule().residentBytes(), json.get("device_bytes").getAsLong());
                assertEquals(m.schedule().streamedBytesPerStep(), json.get("streamed_bytes_per_step").getAsLong());
                assertEquals(m.schedule().label(), json.get("setup").getAsString());
                try (ArrangementScope scope = off.override("m", Strategy.NO_OFFLOAD)) {
                    seen.add(m.schedule());
                }
                seen.add(m.schedule());
                seen.add(off.register("t", c).schedule());
            }
            recording.stop();
            recording.dump(jfr);
            List<RecordedEvent> events = new ArrayList<>();
            for (RecordedEvent ev : RecordingFile.readAllEvents(jfr)) if (ev.getEventType().getName().equals("dev.offload.Plan")) events.add(ev);
            events.sort(java.util.Comparator.comparing(RecordedEvent::getStartTime));
            assertEquals(seen.size(), events.size(), events.toString());
            for (int i = 0; i < seen.size(); i++) {
                Schedule s = seen.get(i);
                RecordedEvent ev = events.get(i);
                assertEquals(s.component(), ev.getString("component"));
                assertEquals(s.strategy().name(), ev.getString("strategy"));
                assertEquals(s.slots(), ev.getInt("slots"));
                assertEquals(s.deviceBytes(), ev.getLong("deviceBytes"));
                assertEquals(s.source().name(), ev.getString("source"));
                assertEquals(s.takesTurns(), ev.getBoolean("takesTurns"));
            }
            assertEquals(List.of("GROUP_OFFLOAD", "NO_OFFLOAD", "GROUP_OFFLOAD", "MODEL_OFFLOAD"),
                    events.stream().map(ev -> ev.getString("strategy")).toList());
        } finally {
            Files.deleteIfExists(jfr);
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }
}
