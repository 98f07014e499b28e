package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.Component;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * autobench on the host backend with a tiny model: every arrangement's row is there with a
 * measured step time, also when the run is longer than the engine keeps figures of. Whether AUTO
 * passes is a benchmark's verdict (exit 0 or 1), not this test's: only the table is checked.
 */
class AutoBenchCommandTest {
    @Test
    void aRunLongerThanTheKeptFiguresMeasuresEveryArrangement() {
        int steps = Component.KEPT_STEPS + 16;
        InfoCommandTest.Result r = InfoCommandTest.run("autobench", "--device", "host", "--block-mib", "1", "--blocks", "4",
                "--steps", String.valueOf(steps), "--repeats", "1");
        assertTrue(r.exit() == 0 || r.exit() == 1, "exit " + r.exit() + ": " + r.err());
        Pattern row = Pattern.compile("^\\| ([^|]+) \\| [^|]+ \\| [0-9.]+ \\| ([0-9.]+) \\| ([0-9.]+) \\[", Pattern.MULTILINE);
        Matcher m = row.matcher(r.out());
        int rows = 0;
        boolean auto = false;
        while (m.find()) {
            rows++;
            auto |= m.group(1).equals("AUTO");
            assertTrue(Double.parseDouble(m.group(3)) > 0, m.group());
        }
        assertTrue(auto, r.out());
        assertEquals(9, rows, r.out());
        assertTrue(r.out().contains("AUTO chose "), r.out());
    }

    @Test
    void tooFewStepsIsUsage() {
        assertEquals(2, InfoCommandTest.run("autobench", "--device", "host", "--steps", "3").exit());
    }
}
