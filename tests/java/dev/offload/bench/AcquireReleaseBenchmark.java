package dev.offload.bench;

import dev.offload.Group;
import dev.offload.OffloadConfig;
import dev.offload.Offloader;
import dev.offload.Step;
import dev.offload.Strategy;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.internal.ffi.offload_h;
import dev.offload.workload.SyntheticModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The host-side cost of one group through the public API: a leaf-level step (every tensor its own
 * group, {@value #GROUPS} of them) iterated with no compute, so an operation is one acquire plus one
 * release, the Group view and its device tensors included. With {@code -prof gc} the
 * {@code gc.alloc.rate.norm} column is the bytes allocated per group (0 is the aim: views are made
 * once per device place). {@code nullDowncall} is the floor: one FFM downcall that does nothing.
 * Run: {@code scripts/bench.sh AcquireReleaseBenchmark -prof gc}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class AcquireReleaseBenchmark {
    static final int GROUPS = 118;  // tensors of the synthetic model below (dim 64, 8 + 4 blocks)

    private Path dir;
    private Checkpoint checkpoint;
    private Offloader offloader;
    private int groups;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("offload-bench-");
        Path file = dir.resolve("model.safetensors");
        SyntheticModel.write(file, 64, 8, 4, 1);
        checkpoint = Checkpoint.open(file);
        offloader = Offloader.open(OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).leafLevel()
                .deviceBudget(64 << 20).build());
        groups = offloader.register("model", checkpoint).groupCount();
        if (groups != GROUPS) throw new IllegalStateException("expected " + GROUPS + " groups, got " + groups);
    }

    @Benchmark
    @OperationsPerInvocation(GROUPS)
    public int acquireRelease() {
        int sum = 0;
        try (Step step = offloader.step("model")) {
            for (Group g : step) sum += g.index();
        }
        return sum;
    }

    @Benchmark
    public int nullDowncall() {
        return offload_h.ofl_compiled_backends();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        offloader.close();
        checkpoint.close();
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
