package dev.offload.memory;

import dev.offload.OffloadException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * Who uses a shared host region, across the processes of a node and within this JVM, through a lock
 * file beside it ({@code .offload-NAME.COMPONENT.LAYOUT.lock}, never replaced) and two POSIX record locks
 * on it: byte 0, the <em>build</em> lock, held exclusively while a process checks, packs, renames or
 * removes the region (so two processes starting together pack it once: the second waits, then maps
 * the first's); byte 1, the <em>users</em> lock, held shared by every process that maps the region,
 * for as long as it does. The last process to close it knows it is last when, holding the build
 * lock, it can take the users lock exclusively; only then may it remove the region (with
 * {@code removeAtClose}). A process killed by SIGKILL loses its locks with its file descriptors.
 *
 * <p>Record locks belong to a process, not to a channel: within one JVM a lock file has one holder
 * here, which counts the JVM's users of it, and a JVM-wide monitor serializes opens and closes.
 * Limit: removing the lock file at the last close can race a process that opened it just then; the
 * worst case is that two processes pack the region once each (each rename is atomic, so both stay
 * valid), never a half-written region.
 */
final class RegionUsers {
    private static final Map<Path, Holder> HELD = new HashMap<>();

    private static final class Holder {
        final FileChannel channel;
        FileLock users;
        int count;

        Holder(FileChannel channel) {
            this.channel = channel;
        }
    }

    private RegionUsers() {}

    /** One use of a region by this process; closing it ends the use (and, when last and asked, removes the region). */
    interface Use extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Runs {@code work} (check, map or pack the region) under the build lock of {@code lockFile}; when
     * it succeeds, counts this use (the first in the JVM takes the users lock shared) before the
     * build lock is released. {@code region} is what a last close with {@code removeAtClose} removes.
     */
    static <T> T open(Path lockFile, Path region, boolean removeAtClose, String what, java.util.function.Function<Use, T> work) {
        synchronized (HELD) {
            Holder h = HELD.get(lockFile);
            boolean fresh = h == null;
            if (fresh) h = new Holder(channel(lockFile, what));
            Holder held = h;
            try (FileLock build = lock(held.channel, 0, false, lockFile, what)) {
                Use use = new Use() {
                    private boolean closed;

                    @Override
                    public void close() {
                        synchronized (HELD) {
                            if (closed) return;
                            closed = true;
                            release(lockFile, held, region, removeAtClose, what);
                        }
                    }
                };
                T result = work.apply(use);
                if (held.count++ == 0) held.users = lock(held.channel, 1, true, lockFile, what);
                if (fresh) HELD.put(lockFile, held);
                return result;
            } catch (IOException e) {
                throw OffloadException.io(what + ": cannot release the lock " + lockFile, e);
            } catch (RuntimeException | Error e) {
                if (fresh && held.count == 0) closeQuietly(held.channel);
                throw e;
            }
        }
    }

    /** Ends one use; the JVM's last gives up the users lock, and removes the region first if it is the node's last and asked to. */
    private static void release(Path lockFile, Holder h, Path region, boolean removeAtClose, String what) {
        if (--h.count > 0) return;
        HELD.remove(lockFile);
        try {
            if (removeAtClose) {
                try (FileLock build = h.channel.lock(0, 1, false)) {
                    h.users.release();
                    FileLock alone = h.channel.tryLock(1, 1, false);
                    if (alone != null) {  // no other process maps it
                        Files.deleteIfExists(region);
                        Files.deleteIfExists(lockFile);
                        alone.release();
                    }
                }
            }
        } catch (IOException e) {
            System.getLogger("dev.offload.memory").log(System.Logger.Level.WARNING, "{0}: cannot remove {1}: {2}", what, region, e.getMessage());
        } finally {
            closeQuietly(h.channel);  // gives up every lock this process held on the file
        }
    }

    private static FileChannel channel(Path lockFile, String what) {
        try {
            return FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw OffloadException.io(what + ": cannot open its lock file " + lockFile, e);
        }
    }

    private static FileLock lock(FileChannel channel, long at, boolean shared, Path lockFile, String what) {
        try {
            return channel.lock(at, 1, shared);
        } catch (IOException e) {
            throw OffloadException.io(what + ": cannot lock " + lockFile, e);
        }
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing a lock file's channel gives its locks back even when close reports an error
        }
    }
}
