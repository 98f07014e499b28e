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
 * Writes a Flux-shaped synthetic checkpoint: a head (x_embedder, time_text_embed), double-stream
 * {@code transformer_blocks}, single-stream {@code single_transformer_blocks}, and a tail (norm_out,
 * proj_out), with random bytes seeded by tensor name. Mixed dtypes (F16, BF16, F32) and odd-sized
 * biases exercise packing and alignment.
 */
public final class SyntheticModel {
    private SyntheticModel() {}

    public static List<Spec> specs(int dim, int doubleBlocks, int singleBlocks) {
        long d = dim;
        List<Spec> specs = new ArrayList<>();
        specs.add(new Spec("x_embedder.weight", DType.F16, new long[] {d, 64}));
        specs.add(new Spec("x_embedder.bias", DType.F32, new long[] {d}));
        specs.add(new Spec("time_text_embed.timestep_embedder.linear_1.weight", DType.BF16, new long[] {d, 256}));
        for (int i = 0; i < doubleBlocks; i++) {
            String p = "transformer_blocks." + i + ".";
            for (String w : new String[] {"attn.to_q", "attn.to_k", "attn.to_v", "attn.to_out.0"}) {
                specs.add(new Spec(p + w + ".weight", DType.F16, new long[] {d, d}));
                specs.add(new Spec(p + w + ".bias", DType.F32, new long[] {d}));
            }
            specs.add(new Spec(p + "ff.net.0.proj.weight", DType.F16, new long[] {4 * d, d}));
            specs.add(new Spec(p + "ff.net.2.weight", DType.F16, new long[] {d, 4 * d}));
            specs.add(new Spec(p + "norm1.linear.weight", DType.BF16, new long[] {6 * d, 64}));
            specs.add(new Spec(p + "norm1.linear.bias", DType.F32, new long[] {6 * d + 3}));
        }
        for (int i = 0; i < singleBlocks; i++) {
            String p = "single_transformer_blocks." + i + ".";
            specs.add(new Spec(p + "attn.to_qkv.weight", DType.F16, new long[] {3 * d, d}));
            specs.add(new Spec(p + "proj_mlp.weight", DType.F16, new long[] {4 * d, d}));
            specs.add(new Spec(p + "proj_out.weight", DType.F16, new long[] {d, 5 * d}));
            specs.add(new Spec(p + "norm.linear.bias", DType.F32, new long[] {3 * d + 1}));
        }
        specs.add(new Spec("norm_out.linear.weight", DType.F16, new long[] {2 * d, d}));
        specs.add(new Spec("proj_out.weight", DType.F16, new long[] {64, d}));
        specs.add(new Spec("proj_out.bias", DType.F32, new long[] {64}));
        return specs;
    }

    public static long bytes(List<Spec> specs) {
        long sum = 0;
        for (Spec s : specs) sum += s.byteSize();
        return sum;
    }

    public static void write(Path file, int dim, int doubleBlocks, int singleBlocks, long seed) {
        SafetensorsWriter.write(file, specs(dim, doubleBlocks, singleBlocks), Map.of("format", "pt", "generator", "offload demo"),
                (spec, target) -> fillRandom(target, seed ^ spec.name().hashCode()));
    }

    /**
     * A checkpoint with one BF16 {@code [dim]} tensor of random bytes per name, in the order given: a
     * real model's layout (a names-only fixture, tests/resources/presets) at a size any machine holds.
     */
    public static List<Spec> namedSpecs(List<String> names, int dim) {
        List<Spec> specs = new ArrayList<>();
        for (String name : names) specs.add(new Spec(name, DType.BF16, new long[] {dim}));
        return specs;
    }

    public static void writeNamed(Path file, List<String> names, int dim, long seed) {
        SafetensorsWriter.write(file, namedSpecs(names, dim), Map.of("format", "pt", "generator", "offload synth --names"),
                (spec, target) -> fillRandom(target, seed ^ spec.name().hashCode()));
    }

    static void fillRandom(MemorySegment target, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long n = target.byteSize();
        long i = 0;
        for (; i + 8 <= n; i += 8) target.set(ValueLayout.JAVA_LONG_UNALIGNED, i, random.nextLong());
        for (; i < n; i++) target.set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
    }
}
