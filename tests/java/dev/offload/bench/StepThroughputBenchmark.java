package dev.offload.bench;

import dev.offload.OffloadConfig;
import dev.offload.Offloader;
import dev.offload.Strategy;
import dev.offload.checkpoint.Checkpoint;
import dev.offload.workload.ReferenceWorkload;
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
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Steps per second of the reference workload under each strategy, on the device "auto" picks.
 * One operation is one step, waited for (its metrics are read with wait), so the figure is the
 * sustained step rate, copies and compute included. Offloaded strategies get a budget of 30 % of
 * the model. Run with scripts/bench.sh.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class StepThroughputBenchmark {
    @Param({"NO_OFFLOAD", "GROUP_OFFLOAD", "LAYERWISE"})
    public String strategy;

    @Param({"2"})
    public int tokens;

    @Param({"512"})
    public int dim;

    private Path dir;
    private Checkpoint checkpoint;
    private Offloader offloader;
    private ReferenceWorkload workload;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("offload-bench-");
        Path file = dir.resolve("model.safetensors");
        SyntheticModel.write(file, dim, 8, 4, 1);
        checkpoint = Checkpoint.open(file);
        Strategy s = Strategy.valueOf(strategy);
        long budget = s == Strategy.NO_OFFLOAD ? 0 : (long) (checkpoint.totalBytes() * 0.3) + (4 << 20);
        offloader = Offloader.open(OffloadConfig.builder().strategy(s).window(3).deviceBudget(budget).build());
        workload = new ReferenceWorkload(offloader, tokens, ReferenceWorkload.DEFAULT_HIDDEN, 0);
        offloader.register("model", checkpoint);
        workload.load(ReferenceWorkload.initialState(tokens, ReferenceWorkload.DEFAULT_HIDDEN, 7));
    }

    @Benchmark
    public double step() {
        long index = workload.step("model");
        return offloader.component("model").metrics(index, true).stepMs();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        workload.close();
        offloader.close();
        checkpoint.close();
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
