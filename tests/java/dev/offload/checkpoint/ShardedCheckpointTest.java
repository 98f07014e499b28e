package dev.offload.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.OffloadException;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShardedCheckpointTest {
    @TempDir
    Path dir;

    void shard(String file, String... names) {
        List<SafetensorsWriter.Spec> specs = java.util.Arrays.stream(names)
                .map(n -> new SafetensorsWriter.Spec(n, DType.F32, new long[] {4})).toList();
        SafetensorsWriter.write(dir.resolve(file), specs, Map.of(), (spec, t) -> t.fill((byte) spec.name().hashCode()));
    }

    @Test
    void anIndexOpensAsOneCheckpoint() throws IOException {
        shard("model-00001-of-00002.safetensors", "layers.0.w", "layers.1.w");
        shard("model-00002-of-00002.safetensors", "layers.2.w", "lm_head.weight");
        Files.writeString(dir.resolve("model.safetensors.index.json"), """
                {"metadata": {"total_size": 64}, "weight_map": {
                  "layers.0.w": "model-00001-of-00002.safetensors", "layers.1.w": "model-00001-of-00002.safetensors",
                  "layers.2.w": "model-00002-of-00002.safetensors", "lm_head.weight": "model-00002-of-00002.safetensors"}}
                """);
        for (Path p : List.of(dir, dir.resolve("model.safetensors.index.json"))) {
            try (Checkpoint c = Checkpoint.open(p)) {
                assertEquals(4, c.tensors().size());
                assertEquals(64, c.totalBytes());
                assertEquals("64", c.metadata().get("total_size"));
                TensorInfo t = c.tensor("layers.2.w");
                assertTrue(t.file().toString().endsWith("model-00002-of-00002.safetensors"));
                byte[] expected = new byte[16];
                java.util.Arrays.fill(expected, (byte) "layers.2.w".hashCode());
                assertArrayEquals(expected, c.data(t).toArray(ValueLayout.JAVA_BYTE));
            }
        }
    }

    @Test
    void aShardSetWithoutIndexOpensAsOneAndSeveralPathsToo() {
        shard("model-00001-of-00002.safetensors", "x.0.w");
        shard("model-00002-of-00002.safetensors", "x.1.w");
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(List.of("x.0.w", "x.1.w"), c.tensors().stream().map(TensorInfo::name).toList());
            assertEquals(List.of(dir.resolve("model-00001-of-00002.safetensors").toAbsolutePath(),
                    dir.resolve("model-00002-of-00002.safetensors").toAbsolutePath()), c.files());
        }
        shard("a.safetensors", "y.0.w");
        shard("b.safetensors", "y.1.w");
        try (Checkpoint c = Checkpoint.open(List.of(dir.resolve("b.safetensors"), dir.resolve("a.safetensors")))) {
            assertEquals(List.of("y.1.w", "y.0.w"), c.tensors().stream().map(TensorInfo::name).toList());
        }
        // files that do not form one checkpoint are never merged: the folder is refused with what it holds
        OffloadException e = assertThrows(OffloadException.class, () -> Checkpoint.open(dir));
        assertTrue(e.getMessage().contains("a.safetensors, b.safetensors, model-00001-of-00002.safetensors, model-00002-of-00002.safetensors: "
                + "they do not form one checkpoint; open one file directly"), e.getMessage());
    }

    @Test
    void disagreementsAreClearErrors() throws IOException {
        shard("a-00001-of-00002.safetensors", "w", "v");
        shard("a-00002-of-00002.safetensors", "w");
        OffloadException dup = assertThrows(OffloadException.class, () -> Checkpoint.open(dir));
        assertTrue(dup.getMessage().contains("tensor 'w' appears in both"), dup.getMessage());

        Files.delete(dir.resolve("a-00002-of-00002.safetensors"));
        Files.move(dir.resolve("a-00001-of-00002.safetensors"), dir.resolve("a.safetensors"));
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"weight_map\": {\"w\": \"a.safetensors\"}}");
        OffloadException unlisted = assertThrows(OffloadException.class, () -> Checkpoint.open(dir));
        assertTrue(unlisted.getMessage().contains("holds 'v', which weight_map does not list"), unlisted.getMessage());

        Files.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"weight_map\": {\"w\": \"a.safetensors\", \"v\": \"a.safetensors\", \"u\": \"a.safetensors\"}}");
        OffloadException missing = assertThrows(OffloadException.class, () -> Checkpoint.open(dir));
        assertTrue(missing.getMessage().contains("puts 'u' in a.safetensors but that shard does not hold it"), missing.getMessage());

        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"weight_map\": {\"w\": \"../elsewhere.safetensors\"}}");
        assertTrue(assertThrows(OffloadException.class, () -> Checkpoint.open(dir)).getMessage().contains("outside"));

        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"weight_map\": 3}");
        assertTrue(assertThrows(OffloadException.class, () -> Checkpoint.open(dir)).getMessage().contains("weight_map: missing or not an object"));
        assertTrue(assertThrows(OffloadException.class, () -> Checkpoint.open(dir.resolve("nope"))).getMessage().contains("no such file"));
    }

    /** Runs the CLI; the exit code and stderr. */
    static Object[] cli(String... args) {
        var err = new java.io.ByteArrayOutputStream();
        int exit = dev.offload.cli.Main.run(args, new java.io.PrintStream(new java.io.ByteArrayOutputStream()),
                new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
        return new Object[] {exit, err.toString(java.nio.charset.StandardCharsets.UTF_8)};
    }

    @Test
    void anEmptyWeightMapBesideShardsIsRefusedNamingTheIndexAndTheRule() throws IOException {
        shard("model-00001-of-00002.safetensors", "layers.0.w");
        shard("model-00002-of-00002.safetensors", "layers.1.w");
        Path index = dir.resolve("model.safetensors.index.json");
        Files.writeString(index, "{\"metadata\": {\"total_size\": 32}, \"weight_map\": {}}");
        for (Path p : List.of(dir, index)) {
            OffloadException e = assertThrows(OffloadException.class, () -> Checkpoint.open(p));
            assertEquals(dev.offload.Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().startsWith(index.toString()) && e.getMessage().contains("weight_map is empty while "
                    + "model-00001-of-00002.safetensors, model-00002-of-00002.safetensors sit beside it")
                    && e.getMessage().contains("rule: an index must list every tensor of its shards"), e.getMessage());
        }
        Object[] r = cli("inspect", dir.toString());
        assertEquals(2, r[0], (String) r[1]);
        assertTrue(((String) r[1]).contains("weight_map is empty"), (String) r[1]);
    }

    @Test
    void anIndexNamingATensorItsShardLacksIsRefusedNamingTheIndexAndTheRule() throws IOException {
        shard("model-00001-of-00002.safetensors", "layers.0.w");
        shard("model-00002-of-00002.safetensors", "layers.1.w");
        Path index = dir.resolve("model.safetensors.index.json");
        Files.writeString(index, """
                {"weight_map": {"layers.0.w": "model-00001-of-00002.safetensors", "layers.1.w": "model-00002-of-00002.safetensors",
                  "layers.2.w": "model-00002-of-00002.safetensors"}}
                """);
        OffloadException e = assertThrows(OffloadException.class, () -> Checkpoint.open(dir));
        assertEquals(dev.offload.Status.INVALID_ARGUMENT, e.status());
        assertTrue(e.getMessage().startsWith(index.toString()) && e.getMessage().contains("puts 'layers.2.w' in model-00002-of-00002.safetensors "
                + "but that shard does not hold it (rule: every tensor the index names must be in the shard it names)"), e.getMessage());
        Object[] r = cli("inspect", index.toString());
        assertEquals(2, r[0], (String) r[1]);
        assertTrue(((String) r[1]).contains("that shard does not hold it"), (String) r[1]);
    }

    @Test
    void aTotalSizeThatDisagreesIsAWarningOnly() throws IOException {
        shard("model-00001-of-00002.safetensors", "layers.0.w");
        shard("model-00002-of-00002.safetensors", "layers.1.w");
        Path index = dir.resolve("model.safetensors.index.json");
        String map = "\"weight_map\": {\"layers.0.w\": \"model-00001-of-00002.safetensors\", \"layers.1.w\": \"model-00002-of-00002.safetensors\"}";
        Files.writeString(index, "{\"metadata\": {\"total_size\": 4096}, " + map + "}");
        List<String> warned = PipelineIndexTest.warnings(() -> {
            try (Checkpoint c = Checkpoint.open(dir)) {
                assertEquals(32, c.totalBytes());  // it opens: the reference tools never check total_size
            }
        });
        assertEquals(1, warned.size(), warned.toString());
        assertTrue(warned.get(0).startsWith(index.toString()) && warned.get(0).contains("metadata.total_size is 4096 but the shards' tensors hold 32 bytes"),
                warned.get(0));
        Files.writeString(index, "{\"metadata\": {\"total_size\": 32}, " + map + "}");
        assertEquals(List.of(), PipelineIndexTest.warnings(() -> Checkpoint.open(dir).close()), "an agreeing total_size says nothing");
        Files.writeString(index, "{" + map + "}");
        assertEquals(List.of(), PipelineIndexTest.warnings(() -> Checkpoint.open(dir).close()), "no total_size, nothing to compare");
    }
}
