package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import dev.offload.workload.SyntheticModel;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** run's --strategy block_pin and --pin: verified runs, and a bad policy is a usage error (exit 2). */
class PinOptionTest {
    @TempDir
    static Path dir;
    static Path model;

    @BeforeAll
    static void writeModel() {
        model = dir.resolve("model.safetensors");
        SyntheticModel.write(model, 64, 3, 2, 5);
    }

    @Test
    void blockPinAndPinPoliciesRunVerified() {
        long total = SyntheticModel.bytes(SyntheticModel.specs(64, 3, 2));
        JsonObject pinned = StreamingCommandsTest.json(InfoCommandTest.run("run", model.toString(), "--device", "host", "--budget",
                "512KiB", "--strategy", "block_pin", "--steps", "3", "--verify", "--json"));
        assertTrue(pinned.get("strategy").getAsString().startsWith("block_pin"), pinned.toString());
        assertTrue(pinned.get("verified").getAsBoolean());
        assertTrue(pinned.get("h2d_bytes").getAsLong() < total, pinned.toString());
        JsonObject all = StreamingCommandsTest.json(InfoCommandTest.run("run", model.toString(), "--device", "host", "--budget", "4MiB",
                "--pin", "all", "--steps", "2", "--verify", "--json"));
        assertTrue(all.get("verified").getAsBoolean());
        assertEquals(0, all.get("h2d_bytes").getAsLong(), all.toString());
        var text = InfoCommandTest.run("run", model.toString(), "--device", "host", "--budget", "4MiB", "--pin", "first_last", "--steps", "2");
        assertEquals(0, text.exit(), text.err());
        assertTrue(text.out().contains("pinned (2,"), text.out());
        var bad = InfoCommandTest.run("run", model.toString(), "--device", "host", "--pin", "first");
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("unknown pin policy 'first'"), bad.err());
    }
}
