package dev.offload.memory;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;

/**
 * The disk cache's folder: many caches, one per source identity, and a size bound.
 *
 * <p>Names. A cache is named by its component and a hash of its identity header (every source
 * file's {@link FileStamp} and the packed layout): {@code COMPONENT-HASH16.offload-cache}. Two
 * models sharing a folder have two names and never rewrite each other's cache; a source replaced
 * or rewritten gives a new name, so a cache found at its name was written for these very files.
 *
 * <p>Stale caches. A cache whose sources still exist at their recorded paths but with other stamps
 * can never be reused; the next run that writes a cache into the folder removes it (seal first,
 * then the cache: a cache without its seal is never reused). A cache whose sources are gone (a
 * folder unmounted) is left to the size bound.
 *
 * <p>Recency and the bound. Using a cache (writing or reusing it) sets its seal's modification
 * time to now: recency that does not depend on access times (noatime, relatime). With a bound
 * ({@code --disk-cache-max}), the least recently used other caches are removed until the
 * folder's caches fit it with the one in use; a cache larger than the bound on its own is not
 * written (the component streams from its files as they are, and a warning says so).
 */
final class CacheFolder {
    static final String SUFFIX = ".offload-cache";
    private static final System.Logger LOG = System.getLogger("dev.offload.memory");

    private CacheFolder() {}

    /** The cache file's name for a component and its identity header. */
    static String name(String component, String identity) {
        String safe = component.replaceAll("[^A-Za-z0-9._-]", "_");
        if (safe.length() > 64) safe = safe.substring(0, 64);
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(identity.getBytes(StandardCharsets.UTF_8));
            return safe + "-" + HexFormat.of().formatHex(hash, 0, 8) + SUFFIX;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    /** A source path as the header records it: its raw bytes, percent-encoded (toUri's raw path), so any name survives JSON. */
    static String recordPath(Path file) {
        return file.toAbsolutePath().toUri().getRawPath();
    }

    /** The path a header recorded with {@link #recordPath}, bytes exact (UnixUriUtils decodes the escapes to bytes). */
    static Path recordedPath(String raw) {
        return Path.of(URI.create("file://" + raw));
    }

    /** The cache files in the folder (not their seals, not temporaries). */
    static List<Path> caches(Path dir) {
        if (!Files.isDirectory(dir)) return List.of();
        try (var list = Files.list(dir)) {
            return list.filter(p -> p.getFileName().toString().endsWith(SUFFIX) && Files.isRegularFile(p)).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /**
     * Removes the folder's caches (other than {@code keep}) whose recorded sources exist with other
     * stamps; true when one of them was {@code component}'s.
     */
    static boolean removeSuperseded(Path dir, String component, Path keep) {
        boolean ours = false;
        for (Path cache : caches(dir)) {
            if (cache.equals(keep)) continue;
            String header = DiskCache.readHeader(cache);
            if (header == null) continue;  // not a cache, or one being written: not ours to judge
            JsonObject h;
            try {
                h = com.google.gson.JsonParser.parseString(header).getAsJsonObject();
            } catch (RuntimeException e) {
                continue;
            }
            if (!superseded(h)) continue;
            JsonElement c = h.get("component");
            boolean same = c != null && component.equals(c.getAsString());
            LOG.log(System.Logger.Level.INFO, "disk cache {0}: its sources changed since it was written; removing it", cache);
            if (remove(cache)) ours |= same;
        }
        return ours;
    }

    /** Whether some recorded source exists now with another stamp (one that is gone leaves the question open). */
    private static boolean superseded(JsonObject header) {
        try {
            for (JsonElement e : header.getAsJsonArray("files")) {
                JsonObject f = e.getAsJsonObject();
                Path source = recordedPath(f.get("path").getAsString());
                FileStamp now;
                try {
                    now = FileStamp.of(source);
                } catch (IOException gone) {
                    continue;
                }
                if (!now.text().equals(f.get("stamp").getAsString())) return true;
            }
        } catch (RuntimeException malformed) {
            return false;
        }
        return false;
    }

    /** Marks a cache used now: its seal's modification time (the LRU order). */
    static void touch(Path cache) {
        try {
            Files.setLastModifiedTime(DiskCache.sealOf(cache), FileTime.fromMillis(System.currentTimeMillis()));
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "disk cache {0}: cannot mark it used: {1}", cache, e.getMessage());
        }
    }

    /**
     * Removes the least recently used caches other than {@code keep} until the others' bytes are at
     * most {@code othersMax} (the bound less the kept cache's size). A cache with no seal counts as
     * the oldest.
     */
    static void evict(Path dir, long othersMax, Path keep) {
        record Entry(Path cache, long bytes, long usedMs) {}
        List<Entry> others = new ArrayList<>();
        long total = 0;
        for (Path cache : caches(dir)) {
            if (cache.equals(keep)) continue;
            long bytes, used;
            try {
                bytes = Files.size(cache);
            } catch (IOException gone) {
                continue;
            }
            try {
                used = Files.getLastModifiedTime(DiskCache.sealOf(cache)).toMillis();
            } catch (IOException noSeal) {
                used = Long.MIN_VALUE;
            }
            others.add(new Entry(cache, bytes, used));
            total += bytes;
        }
        others.sort(Comparator.comparingLong(Entry::usedMs).thenComparing(Entry::cache));
        for (Entry e : others) {
            if (total <= othersMax) break;
            LOG.log(System.Logger.Level.INFO, "disk cache {0}: removing it, least recently used, to keep the folder within its bound", e.cache());
            if (remove(e.cache())) total -= e.bytes();
        }
    }

    /** Removes a cache's seal, then the cache; false when it could not be removed. */
    private static boolean remove(Path cache) {
        try {
            Files.deleteIfExists(DiskCache.sealOf(cache));
            Files.deleteIfExists(cache);
            return true;
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "disk cache {0}: cannot remove it: {1}", cache, e.getMessage());
            return false;
        }
    }
}
