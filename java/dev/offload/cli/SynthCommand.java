package dev.offload.cli;

import com.google.gson.JsonObject;
import dev.offload.Size;
import dev.offload.workload.SyntheticModel;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * {@code ./offload synth PATH [--dim N] [--blocks N] [--single-blocks N] [--seed N] [--json]}: writes
 * the demo's Flux-shaped synthetic checkpoint to PATH, for {@code run}, {@code inspect} and benchmarks.
 */
final class SynthCommand {
    static final String USAGE = "synth PATH [--dim N] [--blocks N] [--single-blocks N] [--seed N] [--json]";

    private SynthCommand() {}

    static int run(List<String> argv, PrintStream out) {
        Args args = new Args(argv, Set.of("--json"), Set.of("--dim", "--blocks", "--single-blocks", "--seed"));
        if (args.positional().size() != 1) throw new UsageException("synth needs exactly one output path");
        Path file = Path.of(args.positional().get(0));
        int dim = Main.parseInt(args.option("--dim", "1024"), "--dim", 64, 16384);
        int blocks = Main.parseInt(args.option("--blocks", "8"), "--blocks", 0, 10000);
        int single = Main.parseInt(args.option("--single-blocks", "4"), "--single-blocks", 0, 10000);
        int seed = Main.parseInt(args.option("--seed", "42"), "--seed", 0, Integer.MAX_VALUE);
        SyntheticModel.write(file, dim, blocks, single, seed);
        long bytes = SyntheticModel.bytes(SyntheticModel.specs(dim, blocks, single));
        if (args.flag("--json")) {
            JsonObject json = new JsonObject();
            json.addProperty("path", file.toString());
            json.addProperty("total_bytes", bytes);
            out.println(json);
        } else {
            out.println("wrote " + file + " (" + Size.format(bytes) + ")");
        }
        return 0;
    }
}
