package dev.offload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.DType;
import dev.offload.checkpoint.SafetensorsWriter;
import dev.offload.memory.DiskCache;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The DISK source's cache for scattered layouts (each block's tensors split across two shard files):
 * written once and atomically, reused while the sources are unchanged, written again (never read)
 * when a source file is touched or rewritten, bit for bit every time; no cache for a layout that
 * streams well as it is.
 */
class DiskCacheTest {
    @TempDir
    Path dir;

    /** Blocks whose tensors alternate between two files; {@code seed} fills them. */
    List<Path> scattered(long seed) {
        List<SafetensorsWriter.Spec> a = new ArrayList<>(), b = new ArrayList<>();
        a.add(new SafetensorsWriter.Spec("embed.weight", DType.F16, new long[] {32, 48}));
        for (int i = 0; i < 6; i++) {
            for (int t = 0; t < 6; t++) {
                (t % 2 == 0 ? a : b).add(new SafetensorsWriter.Spec("blocks." + i + ".w" + t, DType.BF16, new long[] {48, 40 + t}));
            }
        }
        b.add(new SafetensorsWriter.Spec("norm_out.weight", DType.F32, new long[] {48}));
        Path fa = dir.resolve("model-00001-of-00002.safetensors"), fb = dir.resolve("model-00002-of-00002.safetensors");
        java.util.Random random = new java.util.Random(seed);
        SafetensorsWriter.Fill fill = (spec, target) -> {
            for (long i = 0; i < target.byteSize(); i++) target.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
        };
        SafetensorsWriter.write(fa, a, Map.of(), fill);
        SafetensorsWriter.write(fb, b, Map.of(), fill);
        return List.of(fa, fb);
    }

    OffloadConfig config(Path cache) {
        return OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).source(HostSource.DISK).diskCache(cache).build();
    }

    DiskCache.Outcome runOnce(List<Path> files, Path cache) {
        try (Checkpoint ckpt = Checkpoint.open(files); Offloader off = Offloader.open(config(cache))) {
            off.register("model", ckpt);
            var expected = LifecycleTest.bytesOf(ckpt);
            for (int s = 0; s < 2; s++) assertEquals(expected.size(), LifecycleTest.stepAndCompare(off, "model", expected));
            return off.diskCacheOutcome("model");
        }
    }

    @Test
    void aScatteredLayoutIsCachedOnceReusedAndNeverReadStale() throws Exception {
        List<Path> files = scattered(1);
        Path cache = dir.resolve("cache");
        assertEquals(DiskCache.Outcome.WRITTEN, runOnce(files, cache));
        Path file = onlyCache(cache);
        assertTrue(file.getFileName().toString().matches("model-[0-9a-f]{16}\\.offload-cache"), file.toString());
        try (var list = Files.list(cache)) {
            assertEquals(java.util.Set.of(file, DiskCache.sealOf(file)), java.util.Set.copyOf(list.toList()),
                    "the cache and its seal, no temporary file left behind");
        }
        FileTime written = Files.getLastModifiedTime(file);
        assertEquals(DiskCache.Outcome.REUSED, runOnce(files, cache));
        assertEquals(written, Files.getLastModifiedTime(file), "reused, not written again");

        // a source touched: stale, written again
        Files.setLastModifiedTime(files.get(0), FileTime.fromMillis(Files.getLastModifiedTime(files.get(0)).toMillis() + 5000));
        assertEquals(DiskCache.Outcome.REWRITTEN_STALE, runOnce(files, cache));
        assertNotEquals(file, onlyCache(cache), "another identity, another name; the stale one removed");
        // a source rewritten with other bytes (same sizes): the steps see the new bytes, not the cache's
        scattered(2);
        Files.setLastModifiedTime(files.get(1), FileTime.fromMillis(Files.getLastModifiedTime(files.get(1)).toMillis() + 10000));
        assertEquals(DiskCache.Outcome.REWRITTEN_STALE, runOnce(files, cache));
        file = onlyCache(cache);
        // a cache file cut short is not reused
        byte[] whole = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(whole, whole.length / 2));
        assertNotEquals(DiskCache.Outcome.REUSED, runOnce(files, cache));
        assertEquals(DiskCache.Outcome.REUSED, runOnce(files, cache));
        // a cache body altered in place (same size, header intact): not reused; the steps (which
        // compare every tensor with the files) see the files' bytes
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[4000]), ch.size() - 4000);
        }
        assertEquals(DiskCache.Outcome.REWRITTEN_STALE, runOnce(files, cache));
        assertEquals(DiskCache.Outcome.REUSED, runOnce(files, cache));
        // no seal (a crash between the cache's rename and the seal's): written again
        Files.delete(DiskCache.sealOf(file));
        assertEquals(DiskCache.Outcome.REWRITTEN_STALE, runOnce(files, cache));
        assertEquals(DiskCache.Outcome.REUSED, runOnce(files, cache));
    }

    @Test
    void aLayoutThatStreamsWellAsItIsGetsNoCacheFile() throws Exception {
        Path file = dir.resolve("model.safetensors");
        dev.offload.workload.SyntheticModel.write(file, 256, 3, 2, 7);
        Path cache = dir.resolve("cache");
        assertEquals(DiskCache.Outcome.DIRECT, runOnce(List.of(file), cache));
        assertTrue(!Files.exists(cache) || DiskCacheFolderTest.caches(cache).isEmpty());
    }

    /** The folder's one cache file (and its seal, no other file). */
    static Path onlyCache(Path cache) throws java.io.IOException {
        List<Path> caches = DiskCacheFolderTest.caches(cache);
        assertEquals(1, caches.size(), caches.toString());
        try (var list = Files.list(cache)) {
            assertEquals(2, list.count(), "the cache and its seal");
        }
        return caches.get(0);
    }

    @Test
    void aCacheNeedsTheDiskSource() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(OffloadException.class,
                () -> OffloadConfig.builder().source(HostSource.PINNED).diskCache(dir).build());
        assertTrue(e.getMessage().contains("serves the DISK source"), e.getMessage());
    }
}
