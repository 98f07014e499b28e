package dev.offload.cli;

import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.checkpoint.OpenOptions;
import dev.offload.checkpoint.Pipeline;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code ./offload <command> [options]}. Exit codes: 0 ok, 1 runtime failure, 2 bad input or usage.
 * Errors are one line on stderr; {@code --debug} (anywhere on the line) adds the stack trace.
 *
 * <p>The rule for exit codes (issue 16): 2 for what the command line says wrongly, found before or
 * while the command takes its inputs: a usage error, INVALID_ARGUMENT (a bad value, a budget too small
 * for what the command sets up, a malformed checkpoint), and an IO error opening the inputs as given
 * (a missing or unreadable checkpoint file, a bad path: {@link #openInputs}, and output folders
 * checked up front). 1 for a fault while it runs: every other status, IO included (a file truncated
 * or replaced mid-run, a read error, a full disk, a write that fails), out of memory and internal
 * errors. The message names the file either way.
 */
public final class Main {
    private static final String USAGE = String.join("\n",
            "usage: ./offload <command> [options]",
            "commands:",
            "  " + AutoBenchCommand.USAGE,
            "  " + BenchCommand.USAGE,
            "  " + DemoCommand.USAGE,
            "  " + InfoCommand.USAGE,
            "  " + InspectCommand.USAGE,
            "  " + PlanCommand.USAGE,
            "  " + RunCommand.USAGE,
            "  " + SweepCommand.USAGE,
            "  " + SynthCommand.USAGE,
            "options for every command: --debug (stack traces on errors), --help");

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs one command line; returns the exit code. */
    public static int run(String[] argv, PrintStream out, PrintStream err) {
        List<String> args = new ArrayList<>(List.of(argv));
        boolean debug = args.remove("--debug");
        try {
            if (args.isEmpty() || args.get(0).equals("--help") || args.get(0).equals("help")) {
                (args.isEmpty() ? err : out).println(USAGE);
                return args.isEmpty() ? 2 : 0;
            }
            String command = args.remove(0);
            if (args.contains("--help")) {
                out.println(USAGE);
                return 0;
            }
            return switch (command) {
                case "info" -> InfoCommand.run(args, out);
                case "inspect" -> InspectCommand.run(args, out);
                case "run" -> RunCommand.run(args, out, err);
                case "plan" -> PlanCommand.run(args, out);
                case "demo" -> DemoCommand.run(args, out, err);
                case "bench" -> BenchCommand.run(args, out);
                case "autobench" -> AutoBenchCommand.run(args, out);
                case "sweep" -> SweepCommand.run(args, out, err);
                case "synth" -> SynthCommand.run(args, out);
                default -> throw new UsageException("unknown command '" + command + "'\n" + USAGE);
            };
        } catch (UsageException e) {
            err.println("offload: " + e.getMessage());
            if (debug) e.printStackTrace(err);
            return 2;
        } catch (OffloadException e) {
            err.println("offload: " + e.getMessage());
            if (debug) e.printStackTrace(err);
            return exitCode(e);
        } catch (RuntimeException | Error e) {
            err.println("offload: internal error: " + e);
            if (debug) e.printStackTrace(err);
            return 1;
        }
    }

    /**
     * 2 for INVALID_ARGUMENT and for a budget too small for what the command sets up (a registration
     * or preview refused OUT_OF_DEVICE_MEMORY beside the run's own buffers: WorkloadRun.BudgetTooSmall,
     * the budget the command line gave), 1 for every other status (IO at run time included): see the rule above.
     */
    static int exitCode(OffloadException e) {
        return e.status() == Status.INVALID_ARGUMENT || e instanceof dev.offload.workload.WorkloadRun.BudgetTooSmall ? 2 : 1;
    }

    /**
     * The command's checkpoint paths opened: an IO error here is about the input as given (a missing
     * or unreadable file, a folder that cannot be listed), so a usage error (exit 2) with the same message.
     */
    static Pipeline openInputs(List<Path> paths, OpenOptions options) {
        try {
            return Pipeline.open(paths, options);
        } catch (OffloadException e) {
            if (e.status() == Status.IO) throw new UsageException(e.getMessage(), e);
            throw e;
        }
    }

    static int parseInt(String text, String what, int min, int max) {
        try {
            int v = Integer.parseInt(text.trim());
            if (v < min || v > max) throw new UsageException(what + " must be between " + min + " and " + max + ", got " + v);
            return v;
        } catch (NumberFormatException e) {
            throw new UsageException(what + " must be an integer, got '" + text + "'");
        }
    }
}
