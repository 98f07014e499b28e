package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.runtime.DeviceRuntime;
import dev.offload.workload.SyntheticModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 16: budgets too small or too large, in run and plan: one message, exit 2, and plan agreeing with run. */
class BudgetCommandsTest {
    @TempDir
    static Path dir;
    static Path model;
    static long slotBytes, bufferBytes;

    /** The short form, the same whether the budget was one byte short (it was exit 1, nested) or far too small. */
    static final Pattern TOO_SMALL = Pattern.compile("offload: component 'model': the device budget leaves (\\d+) bytes, smaller than the largest"
            + " group '[^']+' of (\\d+) bytes \\(a budget of (\\d+) bytes less (\\d+) bytes in use or set aside for other components and buffers\\)\n");

    @BeforeAll
    static void sizes() {
        model = dir.resolve("m.safetensors");
        SyntheticModel.write(model, 256, 2, 0, 7);
        JsonObject plan = json("plan", model.toString(), "--device", "host", "--strategy", "group_offload", "--json");
        slotBytes = plan.getAsJsonArray("components").get(0).getAsJsonObject().get("slot_bytes").getAsLong();
        bufferBytes = plan.get("workload_buffer_bytes").getAsLong();
        assertEquals("mix", plan.get("workload").getAsString());
        assertTrue(slotBytes > (1 << 20) && bufferBytes > 0, plan.toString());
    }

    static JsonObject json(String... argv) {
        InfoCommandTest.Result r = InfoCommandTest.run(argv);
        assertEquals(0, r.exit(), r.err());
        return JsonParser.parseString(r.out()).getAsJsonObject();
    }

    static InfoCommandTest.Result groupOffload(String command, long budget, String... more) {
        java.util.List<String> argv = new java.util.ArrayList<>(java.util.List.of(command, model.toString(), "--device", "host", "--strategy",
                "group_offload", "--budget", String.valueOf(budget), "--json"));
        if (command.equals("run")) argv.addAll(java.util.List.of("--steps", "1"));
        argv.addAll(java.util.List.of(more));
        return InfoCommandTest.run(argv.toArray(String[]::new));
    }

    @Test
    void oneByteShortAndFarTooSmallSayTheSameOneThingAndExitTwo() {
        long fits = slotBytes + bufferBytes;
        assertEquals(0, groupOffload("run", fits).exit(), groupOffload("run", fits).err());
        for (long budget : new long[] {fits - 1, 1 << 20}) {
            InfoCommandTest.Result r = groupOffload("run", budget);
            assertEquals(2, r.exit(), budget + ": " + r.err());
            Matcher m = TOO_SMALL.matcher(r.err());
            assertTrue(m.matches(), budget + ": " + r.err());
            assertEquals(budget - bufferBytes, Long.parseLong(m.group(1)));
            assertEquals(slotBytes, Long.parseLong(m.group(2)));
            assertEquals(budget, Long.parseLong(m.group(3)));
            assertEquals(bufferBytes, Long.parseLong(m.group(4)));
        }
    }

    /** plan counts run's workload buffers: the budget run refuses, plan refuses with the same message; the one run takes, plan takes. */
    @Test
    void planAndRunAgreeOnWhetherABudgetFits() {
        long fits = slotBytes + bufferBytes;
        InfoCommandTest.Result plan = groupOffload("plan", fits - 1), run = groupOffload("run", fits - 1);
        assertEquals(2, plan.exit(), plan.err());
        assertEquals(run.err(), plan.err());
        JsonObject ok = JsonParser.parseString(groupOffload("plan", fits).out()).getAsJsonObject();
        assertEquals(slotBytes, ok.get("device_bytes").getAsLong(), ok.toString());  // one slot: all that fits beside the buffers
        assertEquals(bufferBytes, ok.get("workload_buffer_bytes").getAsLong());
        // Without the workload, both take the smaller budget.
        assertEquals(0, groupOffload("run", fits - 1, "--workload", "none").exit());
        JsonObject none = JsonParser.parseString(groupOffload("plan", fits - 1, "--workload", "none").out()).getAsJsonObject();
        assertEquals(0, none.get("workload_buffer_bytes").getAsLong(), none.toString());
        // The text says what is counted.
        InfoCommandTest.Result text = InfoCommandTest.run("plan", model.toString(), "--device", "host", "--strategy", "group_offload");
        assertTrue(text.out().contains("workload: mix (as run's --workload, --tokens, --hidden), its device buffers " + bufferBytes + " bytes"),
                text.out());
    }

    /** A budget above what the device has free (the host backend: MemAvailable) is refused, naming both numbers. */
    @Test
    void aBudgetLargerThanTheDeviceIsRefusedNamingBothNumbers() throws Exception {
        long available = memAvailable();
        long budget = 2 * available + (1L << 30);
        InfoCommandTest.Result r = InfoCommandTest.run("run", model.toString(), "--device", "host", "--budget", String.valueOf(budget), "--steps", "1");
        assertEquals(2, r.exit(), r.err());
        Matcher m = Pattern.compile("the budget of " + budget + " bytes \\(\\d+ MiB\\) is more than the (\\d+) bytes \\(\\d+ MiB\\) of host memory"
                + " available \\(MemAvailable\\)").matcher(r.err());
        assertTrue(m.find(), r.err());
        long named = Long.parseLong(m.group(1));
        assertTrue(Math.abs(named - available) < available / 4, named + " bytes named, " + available + " in /proc/meminfo");
        assertEquals(1, r.err().lines().count(), r.err());
        OffloadException e = assertThrows(OffloadException.class, () -> DeviceRuntime.open("host", budget));
        assertEquals(Status.INVALID_ARGUMENT, e.status(), e.getMessage());
        // A budget within it opens.
        try (DeviceRuntime ok = DeviceRuntime.open("host", Math.min(available / 4, 1L << 30))) {
            assertEquals(Math.min(available / 4, 1L << 30), ok.info().budgetBytes());
        }
    }

    static long memAvailable() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("MemAvailable:")) return Long.parseLong(line.replaceAll("\\D+", "")) * 1024;
        }
        throw new AssertionError("no MemAvailable in /proc/meminfo");
    }
}
