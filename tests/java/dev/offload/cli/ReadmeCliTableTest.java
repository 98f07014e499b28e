package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The README's CLI table, each command's usage line and the options the command really takes agree:
 * the options a command takes are read from its source (the sets it gives {@code new Args(...)}),
 * since Args refuses anything else. An option added to a command and not to the README's row, or a
 * row naming an option the command refuses, fails here naming both.
 */
class ReadmeCliTableTest {
    private static final Pattern OPTION = Pattern.compile("--[a-z0-9][a-z0-9-]*");
    private static final Pattern ARGS_CALL = Pattern.compile("new Args\\((.*?)\\);", Pattern.DOTALL);

    static final Map<String, String> COMMANDS = new LinkedHashMap<>();

    static {
        COMMANDS.put("autobench", "AutoBenchCommand");
        COMMANDS.put("bench", "BenchCommand");
        COMMANDS.put("demo", "DemoCommand");
        COMMANDS.put("info", "InfoCommand");
        COMMANDS.put("inspect", "InspectCommand");
        COMMANDS.put("plan", "PlanCommand");
        COMMANDS.put("run", "RunCommand");
        COMMANDS.put("sweep", "SweepCommand");
        COMMANDS.put("synth", "SynthCommand");
    }

    static Path basedir() {
        return Path.of(System.getProperty("offload.basedir", "."));
    }

    static Set<String> options(String text) {
        Set<String> out = new TreeSet<>();
        Matcher m = OPTION.matcher(text);
        while (m.find()) out.add(m.group());
        return out;
    }

    /** The options a command's source hands to Args (flags and valued options). */
    static Set<String> declared(String className) throws IOException {
        String source = Files.readString(basedir().resolve("java/dev/offload/cli/" + className + ".java"));
        Matcher m = ARGS_CALL.matcher(source);
        assertTrue(m.find(), className + ".java: no `new Args(...)` call to read the options from");
        Set<String> out = options(m.group(1));
        assertTrue(!m.find(), className + ".java: several `new Args(...)` calls; teach this test which one is the command's");
        return out;
    }

    /** The first cell of the README table row for {@code command}. */
    static String readmeRow(String readme, String command) {
        for (String line : readme.lines().toList()) {
            if (line.startsWith("| `" + command + " ") || line.startsWith("| `" + command + "`")) {
                int end = line.indexOf("` |");
                assertTrue(end > 0, "README.md: the row of '" + command + "' has no closing ` | after its command cell");
                return line.substring(3, end);
            }
        }
        throw new AssertionError("README.md: no CLI table row for '" + command + "'");
    }

    static String usage(String command) {
        return switch (command) {
            case "autobench" -> AutoBenchCommand.USAGE;
            case "bench" -> BenchCommand.USAGE;
            case "demo" -> DemoCommand.USAGE;
            case "info" -> InfoCommand.USAGE;
            case "inspect" -> InspectCommand.USAGE;
            case "plan" -> PlanCommand.USAGE;
            case "run" -> RunCommand.USAGE;
            case "sweep" -> SweepCommand.USAGE;
            case "synth" -> SynthCommand.USAGE;
            default -> throw new AssertionError(command);
        };
    }

    @Test
    void everyCommandsRowNamesExactlyTheOptionsItTakes() throws IOException {
        String readme = Files.readString(basedir().resolve("README.md"));
        StringBuilder drift = new StringBuilder();
        for (Map.Entry<String, String> e : COMMANDS.entrySet()) {
            Set<String> takes = declared(e.getValue());
            Set<String> row = options(readmeRow(readme, e.getKey()));
            Set<String> usage = options(usage(e.getKey()));
            if (!row.equals(takes)) drift.append(e.getKey()).append(": README row ").append(row).append(", the command takes ").append(takes).append('\n');
            if (!usage.equals(takes)) drift.append(e.getKey()).append(": usage line ").append(usage).append(", the command takes ").append(takes).append('\n');
        }
        assertEquals("", drift.toString());
    }

    @Test
    void theRunRowSaysItsStrategyDefault() throws IOException {
        String source = Files.readString(basedir().resolve("java/dev/offload/cli/RunCommand.java"));
        Matcher m = Pattern.compile("args\\.option\\(\"--strategy\", \"([a-z_]+)\"\\)").matcher(source);
        assertTrue(m.find(), "RunCommand.java: no --strategy default found");
        String row = readmeRow(Files.readString(basedir().resolve("README.md")), "run");
        String readme = Files.readString(basedir().resolve("README.md"));
        String full = readme.lines().filter(l -> l.startsWith("| `run ")).findFirst().orElseThrow();
        assertTrue(full.contains("the strategy defaults to `" + m.group(1) + "`"), "README run row: " + row);
    }
}
