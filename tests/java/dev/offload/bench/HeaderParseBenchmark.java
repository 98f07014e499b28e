package dev.offload.bench;

import dev.offload.checkpoint.DType;
import dev.offload.checkpoint.SafetensorsFile;
import dev.offload.checkpoint.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Opening a checkpoint with {@value #TENSORS} tensors: {@code SafetensorsFile.open} (read the 8-byte
 * length and the JSON header, parse and validate every entry, map the data) and {@code close}. The
 * tensors are tiny (one F32 each, names shaped like a transformer's), so the time is the header's:
 * the parser itself is package-private, and open + close is what a user pays. The file is written
 * once per trial and stays in the page cache.
 * Run: {@code scripts/bench.sh HeaderParseBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class HeaderParseBenchmark {
    static final int TENSORS = 10_000;

    private Path dir;
    private Path file;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("offload-bench-");
        file = dir.resolve("model.safetensors");
        List<SafetensorsWriter.Spec> specs = new ArrayList<>(TENSORS);
        for (int i = 0; i < TENSORS; i++) {
            specs.add(new SafetensorsWriter.Spec("model.layers." + (i / 10) + ".mlp.proj_" + (i % 10) + ".weight", DType.F32,
                    new long[] {1}));
        }
        SafetensorsWriter.write(file, specs, Map.of("format", "pt"), (t, target) -> {});
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            if (f.tensors().size() != TENSORS) throw new IllegalStateException("expected " + TENSORS + " tensors, got " + f.tensors().size());
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        Files.deleteIfExists(file);
        Files.deleteIfExists(dir);
    }

    @Benchmark
    public int openParseClose() {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return f.tensors().size();
        }
    }
}
