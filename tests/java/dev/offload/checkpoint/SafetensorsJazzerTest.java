package dev.offload.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.offload.OffloadException;
import dev.offload.Status;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/**
 * Coverage-guided fuzzing (Jazzer) of the safetensors header parser: the first two bytes of an input
 * are the data section's size, the rest the header JSON. Whatever the bytes, the parser either gives
 * tensors that are consistent (unique names, offsets inside the data section, sizes that match
 * dtype and shape) or refuses with INVALID_ARGUMENT naming the file; any other exception or a
 * failed check is a finding.
 *
 * <p>{@code mvn test} runs it in a surefire execution of its own ({@code fuzz}, JAZZER_FUZZ=1: Jazzer's
 * agent instruments every class loaded after it starts, so it never shares a JVM with the other
 * tests): the seeds (tests/resources/.../SafetensorsJazzerTestInputs/header), then 30 s of fuzzing; longer on
 * demand: {@code mvn test -Dtest=SafetensorsJazzerTest -Djazzer.max_duration=10m -Dsurefire.failIfNoSpecifiedTests=false}.
 * A finding is written to {@code crash-*} in the project folder and replayed by every later run
 * until fixed.
 */
class SafetensorsJazzerTest {
    private static final Path FILE = Path.of("fuzzed.safetensors");

    @FuzzTest(maxDuration = "30s")
    void header(byte[] input) {
        if (input.length < 2) return;
        long dataBytes = (input[0] & 0xff) | (input[1] & 0xff) << 8;
        byte[] json = java.util.Arrays.copyOfRange(input, 2, input.length);
        SafetensorsHeader header;
        try {
            header = SafetensorsHeader.parse(FILE, json, dataBytes);
        } catch (OffloadException e) {
            assertEquals(Status.INVALID_ARGUMENT, e.status(), e.getMessage());
            assertTrue(e.getMessage().startsWith(FILE + ": "), e.getMessage());
            return;
        }
        Set<String> names = new HashSet<>();
        for (TensorInfo t : header.tensors) {
            assertTrue(names.add(t.name()), "duplicate " + t.name());
            assertTrue(t.begin() >= 0 && t.begin() <= t.end() && t.end() <= dataBytes, t.toString());
            assertEquals(t.dtype().byteSize(t.shape()), t.end() - t.begin(), t.toString());
        }
    }
}
