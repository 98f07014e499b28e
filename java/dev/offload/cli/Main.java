package dev.offload.cli;

import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.internal.FileWriteException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code ./offload <command> [options]}. Exit codes: 0 ok, 1 runtime failure, 2 bad input or usage.
 * Errors are one line on stderr; {@code --debug} (anywhere on the line) adds the stack trace.
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
                case "synth" -> SynthCommand.run(args, out);
                default -> throw new UsageException("unknown command '" + command + "'\n" + USAGE);
            };
        } catch (UsageException e) {
            err.println("offload: " + e.getMessage());
            if (debug) e.printStackTrace(err);
            return 2;
        } catch (FileWriteException e) {  // a fault at run time (a full disk), not bad input
            err.println("offload: " + e.getMessage());
            if (debug) e.printStackTrace(err);
            return 1;
        } catch (OffloadException e) {
            err.println("offload: " + e.getMessage());
            if (debug) e.printStackTrace(err);
            return e.status() == Status.INVALID_ARGUMENT || e.status() == Status.IO ? 2 : 1;
        } catch (RuntimeException | Error e) {
            err.println("offload: internal error: " + e);
            if (debug) e.printStackTrace(err);
            return 1;
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
