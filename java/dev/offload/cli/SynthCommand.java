package dev.offload.cli;

import com.google.gson.JsonObject;
import dev.offload.Size;
import dev.offload.workload.LinearModel;
import dev.offload.workload.SyntheticModel;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code ./offload synth PATH [--workload mix|linear] [--dim N] [--blocks N] [--single-blocks N] [--seed N] [--json]}:
 * writes a synthetic checkpoint to PATH, for {@code run}, {@code inspect} and benchmarks: the demo's
 * Flux-shaped one for the mix workload (the default), or a Llama-shaped BF16 one ({@code model.layers})
 * for the linear workload ({@code --single-blocks} does not apply there).
 */
final class SynthCommand {
    static final String USAGE = "synth PATH [--workload mix|linear] [--dim N] [--blocks N] [--single-blocks N] [--seed N] [--json]";

    private SynthCommand() {}

    static int run(List<String> argv, PrintStream out) {
        Args args = new Args(argv, Set.of("--json"), Set.of("--dim", "--blocks", "--single-blocks", "--seed", "--workload"));
        if (args.positional().size() != 1) throw new UsageException("synth needs exactly one output path");
        Path file = Path.of(args.positional().get(0));
        Path folder = file.toAbsolutePath().getParent();
        if (folder == null || !java.nio.file.Files.isDirectory(folder)) throw new UsageException(file + ": the folder " + folder + " does not exist");
        String workload = args.option("--workload", "mix").toLowerCase(Locale.ROOT);
        int dim = Main.parseInt(args.option("--dim", "1024"), "--dim", 64, 16384);
        int blocks = Main.parseInt(args.option("--blocks", "8"), "--blocks", 0, 10000);
        int single = Main.parseInt(args.option("--single-blocks", "4"), "--single-blocks", 0, 10000);
        int seed = Main.parseInt(args.option("--seed", "42"), "--seed", 0, Integer.MAX_VALUE);
        long bytes;
        switch (workload) {
            case "mix" -> {
                SyntheticModel.write(file, dim, blocks, single, seed);
                bytes = SyntheticModel.bytes(SyntheticModel.specs(dim, blocks, single));
            }
            case "linear" -> {
                if (args.has("--single-blocks")) throw new UsageException("--single-blocks applies to --workload mix only");
                LinearModel.write(file, dim, blocks, seed);
                bytes = LinearModel.bytes(dim, blocks);
            }
            default -> throw new UsageException("unknown workload '" + workload + "': expected mix or linear");
        }
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
