package dev.offload;

import dev.offload.checkpoint.Layouts;
import dev.offload.workload.LinearModel;
import dev.offload.workload.SyntheticModel;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * What each README Java snippet leaves to the reader, and nothing more: keyed by the snippet's first
 * line after its imports, so a new or rewritten snippet has no scaffold and fails
 * {@link ReadmeSnippetsTest} until it is given one here.
 *
 * <p>A scaffold is Java text placed around the snippet in one generated class: {@code members}
 * (the names the snippet uses without declaring: {@code myKernels}, {@code off}, the cuBLAS handles),
 * {@code setUp} (run before the snippet, in its own method, so its locals never meet the
 * snippet's), {@code check} (run after it: assertions on what the snippet did), the files the
 * snippet opens by relative path (written into the folder it runs in), and text its output must
 * contain. Scaffold code names every type fully, so it needs no import beside the snippet's own.
 */
final class ReadmeScaffolds {
    record Scaffold(String members, String setUp, String check, Consumer<Path> files, String... output) {}

    private ReadmeScaffolds() {}

    /** The synthetic checkpoint the first snippet opens as model.safetensors: 4 double and 2 single blocks at dim 64. */
    static final int DIM = 64, DOUBLE_BLOCKS = 4, SINGLE_BLOCKS = 2;

    static final Map<String, Scaffold> BY_FIRST_LINE = new LinkedHashMap<>();

    static {
        BY_FIRST_LINE.put("try (Offloader off = Offloader.open(OffloadConfig.builder()", new Scaffold("""
                        static final class Kernels {
                            long launches;
                            void launch(java.lang.foreign.MemorySegment stream, java.lang.foreign.MemorySegment weights) {
                                if (weights.address() == 0) throw new AssertionError("a null device pointer");
                                launches++;
                            }
                        }
                        static final Kernels myKernels = new Kernels();
                        """, "", """
                        long tensors = dev.offload.workload.SyntheticModel.specs(%d, %d, %d).size();
                        if (myKernels.launches != 50 * tensors) {
                            throw new AssertionError("launched " + myKernels.launches + " times, expected 50 steps x " + tensors + " tensors");
                        }
                        """.formatted(DIM, DOUBLE_BLOCKS, SINGLE_BLOCKS),
                dir -> SyntheticModel.write(dir.resolve("model.safetensors"), DIM, DOUBLE_BLOCKS, SINGLE_BLOCKS, 7),
                "LAYERWISE: 3 slots"));

        BY_FIRST_LINE.put("try (Pipeline flux = Pipeline.open(Path.of(\"FLUX.1-dev\"))) {  // plain files; OpenOptions.defaults().variant(\"fp16\")",
                new Scaffold("""
                        static dev.offload.Offloader off;
                        """, """
                        off = dev.offload.Offloader.open(dev.offload.OffloadConfig.builder().device("host").build());
                        """, """
                        var names = off.components().stream().map(dev.offload.Component::name).sorted().toList();
                        if (!names.equals(java.util.List.of("text_encoder", "text_encoder_2", "transformer", "vae"))) {
                            throw new AssertionError("registered " + names);
                        }
                        off.close();
                        """, dir -> Layouts.fluxPipeline(dir.resolve("FLUX.1-dev"))));

        BY_FIRST_LINE.put("OffloadConfig config = OffloadConfig.builder().deviceBudget(Size.gib(12))", new Scaffold("", "", "",
                dir -> Layouts.fluxPipeline(dir.resolve("FLUX.1-dev")),
                "component 'transformer': group_offload", "component 'text_encoder': no_offload", "(mean of 28)"));

        BY_FIRST_LINE.put("try (Step s = off.step(\"model\")) {", new Scaffold("""
                        static dev.offload.Offloader off;
                        static final int OP_T = 1, OP_N = 0, BF16 = 14, COMPUTE_32F = 68, GEMM_DEFAULT = -1;
                        static final int dim = %d, tokens = 2;
                        static final java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared();
                        static java.lang.foreign.MemorySegment handle = java.lang.foreign.MemorySegment.NULL, one, zero, x, sBuf;
                        static final java.util.List<Long> gemmWeights = new java.util.ArrayList<>();
                        // cublasGemmEx's C signature, as dev.offload.workload.Cublas binds it; records the weight pointer
                        static int gemm(java.lang.foreign.MemorySegment h, int ta, int tb, int m, int n, int k, java.lang.foreign.MemorySegment alpha,
                                java.lang.foreign.MemorySegment a, int at, int lda, java.lang.foreign.MemorySegment b, int bt, int ldb,
                                java.lang.foreign.MemorySegment beta, java.lang.foreign.MemorySegment c, int ct, int ldc, int compute, int algo) {
                            if (m != dim || n != tokens || k != dim || a.address() == 0) throw new AssertionError("gemm " + m + "x" + n + "x" + k);
                            gemmWeights.add(a.address());
                            return 0;
                        }
                        static final java.lang.invoke.MethodHandle cublasGemmEx;
                        static {
                            try {
                                var a = java.lang.foreign.MemorySegment.class;
                                cublasGemmEx = java.lang.invoke.MethodHandles.lookup().findStatic(ReadmeSnippet.class, "gemm",
                                        java.lang.invoke.MethodType.methodType(int.class, java.util.List.of(a, int.class, int.class, int.class, int.class,
                                                int.class, a, a, int.class, int.class, a, int.class, int.class, a, a, int.class, int.class, int.class, int.class)));
                            } catch (ReflectiveOperationException e) {
                                throw new ExceptionInInitializerError(e);
                            }
                        }
                        // the model.layers.i whose tensors are in this group
                        static int[] layersOf(dev.offload.Group g) {
                            return g.tensors().stream().map(t -> t.name().split("\\\\.")[2]).distinct().mapToInt(Integer::parseInt).toArray();
                        }
                        """.formatted(DIM), """
                        off = dev.offload.Offloader.open(dev.offload.OffloadConfig.builder().device("host")
                                .strategy(dev.offload.Strategy.GROUP_OFFLOAD).build());
                        try (var c = dev.offload.checkpoint.Checkpoint.open(java.nio.file.Path.of("llama.safetensors"))) {
                            off.register("model", c);
                        }
                        one = arena.allocate(4); zero = arena.allocate(4); x = arena.allocate(2L * dim * tokens); sBuf = arena.allocate(2L * dim * tokens);
                        """, """
                        if (gemmWeights.size() != 4) {  // 4 layers; their groups share the ring's slots, so addresses repeat
                            throw new AssertionError("one q_proj gemm per layer expected, got " + gemmWeights);
                        }
                        off.close();
                        """, dir -> LinearModel.write(dir.resolve("llama.safetensors"), DIM, 4, 3)));
    }
}
