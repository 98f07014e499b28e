package dev.offload.workload;

import dev.offload.checkpoint.DType;
import dev.offload.checkpoint.SafetensorsWriter;
import dev.offload.checkpoint.SafetensorsWriter.Spec;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a Llama-shaped BF16 checkpoint for the linear workload: per block {@code i} the tensors
 * {@code model.layers.i.self_attn.{q,k,v,o}_proj.weight} [dim, dim], {@code model.layers.i.mlp.up_proj.weight}
 * [4 dim, dim] and {@code model.layers.i.mlp.down_proj.weight} [dim, 4 dim], row-major [out, in] like
 * torch's nn.Linear.weight. Values are uniform in ±0.5/sqrt(in) from a SplittableRandom seeded by
 * (seed, tensor name), rounded to bf16 (round to nearest even), so the residual stream neither blows
 * up nor vanishes over many blocks. BlockDiscovery sees one block list {@code model.layers}.
 */
public final class LinearModel {
    /** The six weights of a block, as name suffixes (after {@code model.layers.i.}). */
    public static final List<String> ROLES = List.of("self_attn.q_proj.weight", "self_attn.k_proj.weight",
            "self_attn.v_proj.weight", "self_attn.o_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight");

    private LinearModel() {}

    public static List<Spec> specs(int dim, int blocks) {
        long d = dim;
        List<Spec> specs = new ArrayList<>();
        for (int i = 0; i < blocks; i++) {
            String p = "model.layers." + i + ".";
            for (String w : new String[] {"q", "k", "v", "o"}) {
                specs.add(new Spec(p + "self_attn." + w + "_proj.weight", DType.BF16, new long[] {d, d}));
            }
            specs.add(new Spec(p + "mlp.up_proj.weight", DType.BF16, new long[] {4 * d, d}));
            specs.add(new Spec(p + "mlp.down_proj.weight", DType.BF16, new long[] {d, 4 * d}));
        }
        return specs;
    }

    public static long bytes(int dim, int blocks) {
        return SyntheticModel.bytes(specs(dim, blocks));
    }

    public static void write(Path file, int dim, int blocks, long seed) {
        SafetensorsWriter.write(file, specs(dim, blocks), Map.of("format", "pt", "generator", "offload linear"),
                (spec, target) -> fill(target, spec.shape()[1], seed ^ spec.name().hashCode()));
    }

    private static void fill(MemorySegment target, long in, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        double bound = 0.5 / Math.sqrt(in);
        long n = target.byteSize() / 2;
        for (long i = 0; i < n; i++) {
            target.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2 * i, Bf16.fromFloat((float) random.nextDouble(-bound, bound)));
        }
    }
}
