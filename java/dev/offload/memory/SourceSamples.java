package dev.offload.memory;

import dev.offload.OffloadException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A sampled hash of a file, for {@code --disk-cache-check content}: SHA-256 over {@link #RANGES}
 * ranges of {@link #RANGE_BYTES} bytes, the first at the file's start, the last ending at its end,
 * the others evenly spaced between (a file of at most RANGES * RANGE_BYTES bytes is hashed whole),
 * each preceded by its offset and length. Fixed ranges, so the hash recorded in a cache's header
 * when it was written can be taken again from the sources and compared. A change outside the
 * sampled ranges is not seen (only {@code --verify} reads every byte).
 */
public final class SourceSamples {
    public static final int RANGES = 16;
    public static final int RANGE_BYTES = 64 * 1024;

    private SourceSamples() {}

    /** The file's sampled hash, hex; an IO OffloadException naming the file and {@code context}. */
    public static String of(Path file, String context) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            ByteBuffer buffer = ByteBuffer.allocate(RANGE_BYTES);
            ByteBuffer where = ByteBuffer.allocate(16);
            if (size <= (long) RANGES * RANGE_BYTES) {
                hashRange(ch, sha, buffer, where, 0, size);
            } else {
                for (int k = 0; k < RANGES - 1; k++) {  // the first and 14 evenly spaced
                    hashRange(ch, sha, buffer, where, (size - RANGE_BYTES) / (RANGES - 1) * k, RANGE_BYTES);
                }
                hashRange(ch, sha, buffer, where, size - RANGE_BYTES, RANGE_BYTES);  // the last 64 KiB
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (IOException e) {
            throw OffloadException.io(context + ": cannot read " + file + " to sample it", e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    private static void hashRange(FileChannel ch, MessageDigest sha, ByteBuffer buffer, ByteBuffer where, long from, long bytes) throws IOException {
        sha.update(where.clear().putLong(from).putLong(bytes).flip());
        long done = 0;
        while (done < bytes) {
            buffer.clear().limit((int) Math.min(buffer.capacity(), bytes - done));
            int n = ch.read(buffer, from + done);
            if (n < 0) throw new IOException("it ended at byte " + (from + done) + " while being sampled");
            sha.update(buffer.flip());
            done += n;
        }
    }
}
