package dev.offload.workload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 19's acceptance, written once and run per backend (HostTransformerLikeTest,
 * CudaTransformerLikeTest): {@code synth --like llama|mistral|qwen2} checkpoints run
 * {@code run --workload linear --verify} through the CLI under a budget of a third of their size
 * with GROUP_OFFLOAD, LAYERWISE and BLOCK_PIN, each folder opening as one component sized by its
 * config.json. Small shapes (hidden 64 or 56, 16 layers), 3 steps of 4 tokens.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class TransformerLikeSuite {
    Path dir;
    final Map<String, Path> folders = new HashMap<>();

    abstract String device();

    String unavailableBecause() {
        return null;
    }

    @BeforeEach
    void requireBackend() {
        String why = unavailableBecause();
        assumeTrue(why == null, why);
    }

    record Result(int exit, String out, String err) {}

    static Result cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int exit = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @BeforeAll
    void writeModels() throws java.io.IOException {
        dir = Files.createTempDirectory("offload-like-");
        for (String like : new String[] {"llama", "mistral", "qwen2"}) {
            Path folder = dir.resolve(like);
            Result r = cli("synth", folder.toString(), "--like", like, "--dim", like.equals("qwen2") ? "56" : "64", "--blocks", "16", "--json");
            assertEquals(0, r.exit(), r.err());
            folders.put(like, folder);
        }
    }

    @AfterAll
    void removeModels() throws java.io.IOException {
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @ParameterizedTest(name = "{0} under {1}")
    @CsvSource({"llama, group_offload", "llama, layerwise", "llama, block_pin", "mistral, group_offload", "mistral, layerwise",
            "mistral, block_pin", "qwen2, group_offload", "qwen2, layerwise", "qwen2, block_pin"})
    void verifiesUnderAThirdOfItsSize(String like, String strategy) {
        Path folder = folders.get(like);
        long total;
        try (Checkpoint c = Checkpoint.open(folder)) {
            total = c.totalBytes();
        }
        long budget = total / 3;
        Result r = cli("run", folder.toString(), "--device", device(), "--workload", "linear", "--strategy", strategy, "--budget",
                Long.toString(budget), "--steps", "3", "--tokens", "4", "--verify", "--json");
        assertEquals(0, r.exit(), r.err() + r.out());
        JsonObject j = JsonParser.parseString(r.out()).getAsJsonObject();
        assertFalse(j.has("components"), "the folder with its config.json opens as one component: " + r.out());
        assertTrue(j.get("verified").getAsBoolean(), r.out());
        assertEquals("linear", j.get("workload").getAsString());
        assertEquals(budget, j.get("budget_bytes").getAsLong());
        assertTrue(j.get("peak_device_bytes").getAsLong() <= budget, r.out());
        assertEquals(total, j.get("model_bytes").getAsLong());
        assertTrue(j.get("h2d_bytes").getAsLong() > 0, "something streams under a third of the model: " + r.out());
        assertNotNull(j.get("strategy"));
    }
}
