package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.offload.workload.SyntheticModel;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** run and demo with {@code --source} and {@code --staging}: the JSON fields, and bad values exit 2 naming the flag. */
class DiskCommandsTest {
    @TempDir
    static Path dir;
    static Path model;

    @BeforeAll
    static void writeModel() {
        model = dir.resolve("model.safetensors");
        SyntheticModel.write(model, 64, 3, 2, 5);
    }

    static JsonObject json(InfoCommandTest.Result r) {
        assertEquals(0, r.exit(), r.err());
        return JsonParser.parseString(r.out()).getAsJsonObject();
    }

    @Test
    void runFromDiskVerifiesAndReportsTheDiskFields() {
        JsonObject j = json(InfoCommandTest.run("run", model.toString(), "--device", "host", "--budget", "256KiB", "--strategy",
                "layerwise", "--steps", "3", "--verify", "--source", "disk", "--staging", "1MiB", "--json"));
        assertTrue(j.get("verified").getAsBoolean());
        assertEquals("disk", j.get("source").getAsString());
        assertEquals(0, j.get("pageable_copies").getAsLong(), j.toString());  // the steady state never waits on a pageable copy
        long staging = j.get("staging_bytes").getAsLong();
        assertTrue(staging > 0 && staging <= 1 << 20, "staging " + staging);
        assertTrue(j.get("disk_read_ms").getAsDouble() > 0);
        assertTrue(j.get("disk_gbps").getAsDouble() > 0);
        // Pinned host memory: the ring and the workload's small buffers, not the model.
        assertTrue(j.get("peak_host_bytes").getAsLong() < staging + (64 << 10), j.toString());
        assertEquals("buffered", j.get("disk_io").getAsString());  // a small model: the page cache holds it
        assertTrue(j.get("reader_threads").getAsInt() >= 1 && j.get("staging_unit_bytes").getAsLong() > 0, j.toString());
        assertFalse(j.has("disk_probe_gbps"), j.toString());
        JsonObject probed = json(InfoCommandTest.run("run", model.toString(), "--device", "host", "--budget", "256KiB", "--strategy",
                "group_offload", "--steps", "2", "--verify", "--source", "disk", "--disk-io", "probe", "--readers", "2", "--json"));
        assertTrue(probed.get("verified").getAsBoolean());
        assertEquals(2, probed.get("reader_threads").getAsInt());
        if (dev.offload.TestBackends.directIoWorks(model)) {  // else (tmpfs) there is nothing to probe: buffered
            JsonObject probe = probed.getAsJsonObject("disk_probe_gbps");
            assertTrue(probe.get("buffered").getAsDouble() > 0, probed.toString());
            assertEquals(probe.get("direct").getAsDouble() > probe.get("buffered").getAsDouble() ? "direct" : "buffered",
                    probed.get("disk_io").getAsString(), probed.toString());
        } else {
            assertEquals("buffered", probed.get("disk_io").getAsString(), probed.toString());
        }
        JsonObject lowmem = json(InfoCommandTest.run("run", model.toString(), "--device", "host", "--budget", "256KiB", "--steps", "2",
                "--verify", "--source", "lowmem", "--json"));
        assertTrue(lowmem.get("verified").getAsBoolean());
        assertEquals("lowmem", lowmem.get("source").getAsString());
        assertTrue(lowmem.get("peak_host_bytes").getAsLong() < lowmem.get("model_bytes").getAsLong(), lowmem.toString());
        JsonObject pinned = json(InfoCommandTest.run("run", model.toString(), "--device", "host", "--steps", "2", "--json"));
        assertEquals("pinned", pinned.get("source").getAsString());
        assertEquals(0, pinned.get("staging_bytes").getAsLong());
    }

    @Test
    void demoStreamsEveryStrategyFromDisk() {
        JsonObject j = json(InfoCommandTest.run("demo", "--device", "host", "--dim", "64", "--steps", "2", "--source", "disk", "--json"));
        assertTrue(j.get("all_verified").getAsBoolean());
        j.getAsJsonArray("runs").forEach(r -> assertEquals("disk", r.getAsJsonObject().get("source").getAsString()));
    }

    @Test
    void badSourceAndStagingValuesExit2NamingTheFlag() {
        var badSource = InfoCommandTest.run("run", model.toString(), "--device", "host", "--source", "floppy");
        assertEquals(2, badSource.exit());
        assertTrue(badSource.err().contains("--source") && badSource.err().contains("floppy"), badSource.err());
        var badStaging = InfoCommandTest.run("run", model.toString(), "--device", "host", "--source", "disk", "--staging", "lots");
        assertEquals(2, badStaging.exit());
        assertTrue(badStaging.err().contains("--staging"), badStaging.err());
        var zero = InfoCommandTest.run("run", model.toString(), "--device", "host", "--source", "disk", "--staging", "0");
        assertEquals(2, zero.exit());
        assertTrue(zero.err().contains("--staging"), zero.err());
        var pinned = InfoCommandTest.run("run", model.toString(), "--device", "host", "--staging", "1MiB");
        assertEquals(2, pinned.exit());
        assertTrue(pinned.err().contains("--staging needs --source disk or lowmem"), pinned.err());
        var tooSmall = InfoCommandTest.run("run", model.toString(), "--device", "host", "--source", "disk", "--staging", "4KiB");
        assertEquals(2, tooSmall.exit());
        assertTrue(tooSmall.err().contains("staging"), tooSmall.err());
        var badIo = InfoCommandTest.run("run", model.toString(), "--device", "host", "--source", "disk", "--disk-io", "sideways");
        assertEquals(2, badIo.exit());
        assertTrue(badIo.err().contains("--disk-io") && badIo.err().contains("sideways"), badIo.err());
        var ioFromMemory = InfoCommandTest.run("run", model.toString(), "--device", "host", "--source", "lowmem", "--disk-io", "direct");
        assertEquals(2, ioFromMemory.exit());
        assertTrue(ioFromMemory.err().contains("--disk-io needs --source disk"), ioFromMemory.err());
        var noReaders = InfoCommandTest.run("run", model.toString(), "--device", "host", "--source", "disk", "--readers", "0");
        assertEquals(2, noReaders.exit());
        assertTrue(noReaders.err().contains("--readers"), noReaders.err());
        // with no source named the run may be pinned: a staging flag is refused rather than ignored
        for (String[] flag : new String[][] {{"--readers", "2"}, {"--disk-io", "direct"}}) {
            var unnamed = InfoCommandTest.run("run", model.toString(), "--device", "host", flag[0], flag[1]);
            assertEquals(2, unnamed.exit(), flag[0]);
            assertTrue(unnamed.err().contains(flag[0] + " needs --source disk"), unnamed.err());
            var demoUnnamed = InfoCommandTest.run("demo", "--device", "host", flag[0], flag[1]);
            assertEquals(2, demoUnnamed.exit(), flag[0]);
        }
        var demo = InfoCommandTest.run("demo", "--device", "host", "--source", "tape");
        assertEquals(2, demo.exit());
        assertTrue(demo.err().contains("--source"), demo.err());
    }
}
