package dev.offload;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.checkpoint.Checkpoint;
import dev.offload.checkpoint.DType;
import dev.offload.checkpoint.SafetensorsWriter;
import dev.offload.memory.DiskCache;
import dev.offload.memory.FileStamp;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The disk cache folder (issue 16): caches named by their sources' identity, several models per
 * folder, a shard replaced by a same-size, same-mtime file rebuilt (the cache used to stream the old
 * weights), a size bound evicting the least recently used, the content check, and non-UTF-8 file
 * names streamed from disk and cached.
 */
class DiskCacheFolderTest {
    @TempDir
    Path dir;

    /** Two shard files in {@code folder} (names a and b) whose blocks' tensors alternate between them: a scattered layout. */
    static List<Path> scattered(Path folder, String a, String b, long seed) throws Exception {
        Files.createDirectories(folder);
        List<SafetensorsWriter.Spec> sa = new ArrayList<>(), sb = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            for (int t = 0; t < 4; t++) {
                (t % 2 == 0 ? sa : sb).add(new SafetensorsWriter.Spec("blocks." + i + ".w" + t, DType.BF16, new long[] {32, 40 + t}));
            }
        }
        java.util.Random random = new java.util.Random(seed);
        SafetensorsWriter.Fill fill = (spec, target) -> {
            for (long i = 0; i < target.byteSize(); i++) target.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
        };
        Path fa = folder.resolve(a), fb = folder.resolve(b);
        SafetensorsWriter.write(fa, sa, Map.of(), fill);
        SafetensorsWriter.write(fb, sb, Map.of(), fill);
        return List.of(fa, fb);
    }

    static List<Path> caches(Path folder) throws java.io.IOException {
        if (!Files.isDirectory(folder)) return List.of();
        try (var list = Files.list(folder)) {
            return list.filter(p -> p.getFileName().toString().endsWith(".offload-cache")).sorted().toList();
        }
    }

    static DiskCache.Outcome run(List<Path> files, OffloadConfig config) {
        try (Checkpoint ckpt = Checkpoint.open(files); Offloader off = Offloader.open(config)) {
            off.register("model", ckpt);
            var expected = LifecycleTest.bytesOf(ckpt);
            for (int s = 0; s < 2; s++) assertEquals(expected.size(), LifecycleTest.stepAndCompare(off, "model", expected));
            return off.diskCacheOutcome("model");
        }
    }

    static OffloadConfig.Builder config(Path cache) {
        return OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD).source(HostSource.DISK).diskCache(cache);
    }

    /** inode, modification time (ns) of each cache file. */
    static List<String> identities(List<Path> caches) throws Exception {
        List<String> out = new ArrayList<>();
        for (Path c : caches) {
            FileStamp s = FileStamp.of(c);
            out.add(c.getFileName() + " " + s.inode() + " " + s.modifiedNs());
        }
        return out;
    }

    @Test
    void twoModelsAlternatingInOneFolderRebuildNothingAfterTheirFirstRuns() throws Exception {
        List<Path> one = scattered(dir.resolve("one"), "a.safetensors", "b.safetensors", 1);
        List<Path> two = scattered(dir.resolve("two"), "a.safetensors", "b.safetensors", 2);
        Path cache = dir.resolve("cache");
        OffloadConfig config = config(cache).build();
        assertEquals(DiskCache.Outcome.WRITTEN, run(one, config));
        assertEquals(DiskCache.Outcome.WRITTEN, run(two, config));
        List<String> first = identities(caches(cache));
        assertEquals(2, first.size(), "one cache per model, both named 'model': " + first);
        for (int round = 0; round < 3; round++) {
            assertEquals(DiskCache.Outcome.REUSED, run(one, config));
            assertEquals(DiskCache.Outcome.REUSED, run(two, config));
        }
        assertEquals(first, identities(caches(cache)), "same inodes and modification times: nothing rewritten");
    }

    /** A killed writer's temporary goes with the next run that uses the folder, even one that only reuses its cache. */
    @Test
    void aRunThatReusesTheCacheRemovesADeadWritersTemporary() throws Exception {
        List<Path> files = scattered(dir.resolve("model"), "a.safetensors", "b.safetensors", 1);
        Path cache = dir.resolve("cache");
        OffloadConfig config = config(cache).build();
        assertEquals(DiskCache.Outcome.WRITTEN, run(files, config));
        long deadPid = Long.parseLong(Files.readAllLines(Path.of("/proc/sys/kernel/pid_max")).get(0).trim()) + 1;
        Path stale = cache.resolve(".model-0123.offload-cache" + dev.offload.files.ProcessTemps.FILE_MARK + deadPid + "-1-0");
        Path live = cache.resolve(".model-0123.offload-cache" + dev.offload.files.ProcessTemps.FILE_MARK
                + dev.offload.files.ProcessTemps.self() + "-7");
        Files.write(stale, new byte[4096]);
        Files.write(live, new byte[16]);
        assertEquals(DiskCache.Outcome.REUSED, run(files, config));
        assertFalse(Files.exists(stale), "a dead writer's temporary is removed");
        assertTrue(Files.exists(live), "a live writer's (this process's) is kept");
        Files.delete(live);
    }

    @Test
    void aShardReplacedByASameSizeSameMtimeFileRebuildsTheCache() throws Exception {
        List<Path> files = scattered(dir.resolve("model"), "a.safetensors", "b.safetensors", 1);
        Path cache = dir.resolve("cache");
        OffloadConfig config = config(cache).build();
        assertEquals(DiskCache.Outcome.WRITTEN, run(files, config));
        byte[] old = Files.readAllBytes(files.get(1));
        // cp -p: other bytes, the same size and modification time, renamed into place
        Path staged = scattered(dir.resolve("staged"), "a.safetensors", "b.safetensors", 7).get(1);
        Files.setLastModifiedTime(staged, Files.getLastModifiedTime(files.get(1)));
        FileStamp before = FileStamp.of(files.get(1));
        Files.move(staged, files.get(1), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        FileStamp after = FileStamp.of(files.get(1));
        assertEquals(before.size(), after.size());
        assertEquals(before.modifiedNs(), after.modifiedNs(), "the old check (size and mtime) cannot tell them apart");
        assertFalse(Arrays.equals(old, Files.readAllBytes(files.get(1))), "other weights");
        // the run compares every streamed tensor with the new file's bytes: the old cache would fail it
        assertEquals(DiskCache.Outcome.REWRITTEN_STALE, run(files, config));
        assertEquals(1, caches(cache).size(), "the superseded cache was removed");
        assertEquals(DiskCache.Outcome.REUSED, run(files, config));
    }

    @Test
    void aBoundedFolderEvictsTheLeastRecentlyUsedAndSkipsACacheLargerThanTheBound() throws Exception {
        List<Path> a = scattered(dir.resolve("a"), "x.safetensors", "y.safetensors", 1);
        List<Path> b = scattered(dir.resolve("b"), "x.safetensors", "y.safetensors", 2);
        List<Path> c = scattered(dir.resolve("c"), "x.safetensors", "y.safetensors", 3);
        Path cache = dir.resolve("cache");
        assertEquals(DiskCache.Outcome.WRITTEN, run(a, config(cache).build()));
        long one = Files.size(caches(cache).get(0));
        OffloadConfig bounded = config(cache).diskCacheMaxBytes(2 * one + one / 2).build();  // two caches fit, not three
        assertEquals(DiskCache.Outcome.WRITTEN, run(b, bounded));
        Path cacheA = caches(cache).stream().filter(p -> !identityOf(p).contains("/b/")).findFirst().orElseThrow();
        Thread.sleep(20);
        assertEquals(DiskCache.Outcome.REUSED, run(a, bounded));  // a is now more recent than b
        Thread.sleep(20);
        assertEquals(DiskCache.Outcome.WRITTEN, run(c, bounded));
        List<Path> left = caches(cache);
        assertEquals(2, left.size(), left.toString());
        assertTrue(left.contains(cacheA), "a, used more recently than b, stays: " + left);
        assertTrue(left.stream().noneMatch(p -> identityOf(p).contains("/b/")), "b, the least recently used, was evicted: " + left);
        try (var list = Files.list(cache)) {
            assertEquals(4, list.count(), "two caches and their seals: the evicted one's seal went with it");
        }
        assertEquals(DiskCache.Outcome.REUSED, run(a, bounded));
        // a bound smaller than one cache: none is written, the component streams from its files
        Path small = dir.resolve("small");
        assertEquals(DiskCache.Outcome.DIRECT, run(b, config(small).diskCacheMaxBytes(one / 2).build()));
        assertTrue(caches(small).isEmpty());
    }

    /** The header text of a cache file (the source paths it names). */
    static String identityOf(Path cache) {
        try {
            byte[] head = Files.readAllBytes(cache);
            long length = ByteBuffer.wrap(head, 8, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
            return new String(head, 16, (int) length, StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * The content check sees what the stamps cannot. A change no stamp shows is made here by
     * altering the sampled hash the cache recorded (and sealing the altered cache again): its
     * recorded content then differs from the sources', with every stamp as it was written.
     */
    @Test
    void theContentCheckRebuildsACacheWhoseSampledSourceBytesDifferWithEqualStamps() throws Exception {
        List<Path> files = scattered(dir.resolve("model"), "a.safetensors", "b.safetensors", 1);
        Path cache = dir.resolve("cache");
        assertEquals(DiskCache.Outcome.WRITTEN, run(files, config(cache).diskCacheCheck(DiskCacheCheck.CONTENT).build()));
        assertEquals(DiskCache.Outcome.REUSED, run(files, config(cache).diskCacheCheck(DiskCacheCheck.CONTENT).build()));
        Path file = caches(cache).get(0);
        String header = identityOf(file);
        int at = header.indexOf("\"samples\":[\"") + "\"samples\":[\"".length();
        assertTrue(at > 20, header);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {(byte) (header.charAt(at) == '0' ? '1' : '0')}), 16 + at);
        }
        Files.writeString(DiskCache.sealOf(file), FileStamp.of(file).text() + "\n");  // sealed again: only the content differs
        assertEquals(DiskCache.Outcome.REUSED, run(files, config(cache).build()), "the stamp check cannot see it");
        assertEquals(DiskCache.Outcome.REWRITTEN_STALE, run(files, config(cache).diskCacheCheck(DiskCacheCheck.CONTENT).build()));
        assertEquals(DiskCache.Outcome.REUSED, run(files, config(cache).diskCacheCheck(DiskCacheCheck.CONTENT).build()));
    }

    @Test
    void aCacheBoundOrCheckWithoutAFolderIsRefused() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(OffloadException.class,
                () -> OffloadConfig.builder().source(HostSource.DISK).diskCacheMaxBytes(1 << 20).build());
        assertTrue(e.getMessage().contains("needs a disk cache folder"), e.getMessage());
        assertNull(OffloadConfig.builder().build().diskCache());
    }

    @Test
    void nonUtf8FileNamesStreamFromDiskAndAreCached() throws Exception {
        Path folder = dir.resolve("names");
        Files.createDirectories(folder);
        Path a = Path.of(URI.create("file://" + folder.toUri().getRawPath() + "mod%E9l%FF-a.safetensors"));
        Path b = Path.of(URI.create("file://" + folder.toUri().getRawPath() + "mod%E9l%FF-b.safetensors"));
        List<Path> files = scattered(folder, "x", "y", 4);
        Files.move(files.get(0), a);
        Files.move(files.get(1), b);
        try (var list = Files.list(folder)) {
            assertEquals(2, list.filter(p -> p.toUri().getRawPath().contains("mod%E9l%FF-")).count(), "raw bytes on disk");
        }
        assertFalse(Files.exists(Path.of(a.toString().replace('\uFFFD', '?'))), "the name as text is not the file");
        List<Path> both = List.of(a, b);
        assertEquals(DiskCache.Outcome.DIRECT, run(both, OffloadConfig.builder().device("host").strategy(Strategy.GROUP_OFFLOAD)
                .source(HostSource.DISK).build()));  // --source disk: streamed and compared with the files, tensor by tensor
        Path cache = dir.resolve("cache");
        assertEquals(DiskCache.Outcome.WRITTEN, run(both, config(cache).build()));
        assertEquals(DiskCache.Outcome.REUSED, run(both, config(cache).build()));
        assertTrue(identityOf(caches(cache).get(0)).contains("mod%E9l%FF-a.safetensors"), "the header keeps the raw bytes");
        assertArrayEquals(new byte[] {'m', 'o', 'd', (byte) 0xE9, 'l', (byte) 0xFF},
                Arrays.copyOf(lastName(dev.offload.files.NativePaths.rawBytes(a)), 6), "what native code opens");
    }

    /** The bytes after the last '/'. */
    static byte[] lastName(byte[] path) {
        int slash = -1;
        for (int i = 0; i < path.length; i++) if (path[i] == '/') slash = i;
        return Arrays.copyOfRange(path, slash + 1, path.length);
    }
}
