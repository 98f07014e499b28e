package dev.offload.cli;

import com.google.gson.JsonObject;
import dev.offload.Size;
import dev.offload.workload.LinearModel;
import dev.offload.workload.SyntheticModel;
import dev.offload.workload.TransformerLike;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code ./offload synth PATH [--workload mix|linear] [--dim N] [--blocks N] [--single-blocks N] [--seed N] [--json]}:
 * writes a synthetic checkpoint to PATH, for {@code run}, {@code inspect} and benchmarks: the demo's
 * Flux-shaped one for the mix workload (the default), or a Llama-shaped BF16 one ({@code model.layers})
 * for the linear workload ({@code --single-blocks} does not apply there). {@code --like
 * llama|mistral|qwen2} writes a folder at PATH instead: a transformers {@code config.json} and a
 * {@code model.safetensors} with the real model's names and proportions, scaled down
 * ({@link TransformerLike}): {@code --dim} is its hidden size (default head_dim 8), {@code --blocks}
 * its layers (default half the real count); the linear workload runs it.
 */
final class SynthCommand {
    static final String USAGE = "synth PATH [--workload mix|linear] [--like llama|mistral|qwen2] [--names FIXTURE.json] [--dim N] [--blocks N] [--single-blocks N] [--seed N] [--json]";

    private SynthCommand() {}

    static int run(List<String> argv, PrintStream out) {
        Args args = new Args(argv, Set.of("--json"), Set.of("--dim", "--blocks", "--single-blocks", "--seed", "--workload", "--like", "--names"));
        if (args.positional().size() != 1) throw new UsageException("synth needs exactly one output path");
        Path file = RunCommand.path(args.positional().get(0), "output path");
        Path folder = file.toAbsolutePath().getParent();
        if (folder == null || !java.nio.file.Files.isDirectory(folder)) throw new UsageException(file + ": the folder " + folder + " does not exist");
        if (args.has("--like")) return like(args, file, out);
        if (args.has("--names")) return named(args, file, out);
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

    /**
     * {@code --names FIXTURE.json}: one BF16 {@code [dim]} tensor (--dim, default 1024) per name of a
     * names-only fixture ({@code {"names": [...]}}, tests/resources/presets): a model's layout, small.
     */
    private static int named(Args args, Path file, PrintStream out) {
        for (String other : List.of("--like", "--blocks", "--single-blocks", "--workload")) {
            if (args.has(other)) throw new UsageException("--names takes its layout from the fixture: " + other + " does not apply");
        }
        Path fixture = RunCommand.path(args.option("--names", ""), "--names");
        List<String> names = new java.util.ArrayList<>();
        try {
            var root = com.google.gson.JsonParser.parseString(java.nio.file.Files.readString(fixture)).getAsJsonObject();
            for (var e : root.getAsJsonArray("names")) names.add(e.getAsString());
        } catch (java.io.IOException e) {
            throw new UsageException("--names " + fixture + ": cannot read it (" + e.getMessage() + ")");
        } catch (RuntimeException e) {
            throw new UsageException("--names " + fixture + ": not a names fixture (a JSON object whose \"names\" is an array of strings): " + e.getMessage());
        }
        if (names.isEmpty()) throw new UsageException("--names " + fixture + ": the fixture names no tensors");
        int dim = Main.parseInt(args.option("--dim", "1024"), "--dim", 1, 1 << 20);
        int seed = Main.parseInt(args.option("--seed", "42"), "--seed", 0, Integer.MAX_VALUE);
        SyntheticModel.writeNamed(file, names, dim, seed);
        long bytes = SyntheticModel.bytes(SyntheticModel.namedSpecs(names, dim));
        if (args.flag("--json")) {
            JsonObject json = new JsonObject();
            json.addProperty("path", file.toString());
            json.addProperty("total_bytes", bytes);
            json.addProperty("tensors", names.size());
            out.println(json);
        } else {
            out.println("wrote " + file + " (" + Size.format(bytes) + ", " + names.size() + " tensors named as " + fixture.getFileName() + ")");
        }
        return 0;
    }

    /** {@code --like}: a folder with config.json and model.safetensors at PATH. */
    private static int like(Args args, Path folder, PrintStream out) {
        if (args.has("--single-blocks")) throw new UsageException("--single-blocks applies to --workload mix only");
        if (args.has("--workload") && !args.option("--workload", "").equalsIgnoreCase("linear")) {
            throw new UsageException("--like writes a checkpoint for --workload linear, not " + args.option("--workload", ""));
        }
        if (java.nio.file.Files.exists(folder) && !java.nio.file.Files.isDirectory(folder)) {
            throw new UsageException(folder + " is a file: --like writes a folder (config.json and model.safetensors)");
        }
        TransformerLike.Preset preset;
        TransformerLike.Scaled scaled;
        try {
            preset = TransformerLike.preset(args.option("--like", ""));
            int hidden = Main.parseInt(args.option("--dim", String.valueOf(TransformerLike.defaultHidden(preset))), "--dim", 1, 65536);
            int layers = Main.parseInt(args.option("--blocks", String.valueOf(preset.layers() / 2)), "--blocks", 1, 10000);
            scaled = TransformerLike.scale(preset, hidden, layers);
        } catch (dev.offload.OffloadException e) {
            throw new UsageException(e.getMessage());
        }
        int seed = Main.parseInt(args.option("--seed", "42"), "--seed", 0, Integer.MAX_VALUE);
        TransformerLike.write(folder, scaled, seed);
        long bytes = TransformerLike.bytes(scaled);
        if (args.flag("--json")) {
            JsonObject json = new JsonObject();
            json.addProperty("path", folder.toString());
            json.addProperty("total_bytes", bytes);
            json.addProperty("like", preset.like());
            json.add("config", TransformerLike.config(scaled));
            out.println(json);
        } else {
            out.println("wrote " + folder + " (" + Size.format(bytes) + "; " + preset.architecture() + " like " + preset.source() + ": hidden "
                    + scaled.hidden() + ", intermediate " + scaled.intermediate() + ", " + preset.heads() + " heads / " + preset.kvHeads()
                    + " kv heads of " + scaled.headDim() + ", " + scaled.layers() + " layers, vocab " + scaled.vocab() + ")");
        }
        return 0;
    }
}
