package dev.offload.files;

import dev.offload.OffloadException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Every file offload writes (checkpoints, disk caches and their seals, traces) is written here: all
 * or nothing at its name.
 *
 * <p>Steps: stale temporaries of dead writers in the target's folder are removed
 * ({@link ProcessTemps#sweep}); the body writes a fresh temporary in the same folder
 * ({@code .NAME.offload-tmp-PID-START-SEQ}, registered with the shutdown hook); the file is forced to
 * disk, renamed over the target (atomic within a folder) and the folder is forced, so the rename
 * survives a crash. On any failure the temporary is deleted, the target is untouched and a
 * {@link FileWriteException} names the file and the reason. A folder that does not exist is bad
 * input ({@code INVALID_ARGUMENT}), found before anything is written.
 *
 * <p>A full disk must be an {@code IOException}, never a fault in a mapped page (Java reports that as
 * {@code InternalError} and the page is lost): bodies write through the channel, or call
 * {@link Writing#map}, which reserves the whole size first with {@code posix_fallocate} (called
 * through FFM; where it cannot be called, by writing zeros through the channel). A fault in a mapped
 * page that still happens (a copy-on-write file system can fail a write into reserved space) is
 * reported as the write failing for lack of space.
 *
 * <p>Targets that exist and are not regular files (a device such as {@code /dev/stdout}, a fifo) are
 * written straight, without a temporary: renaming over them would replace the device. A symbolic
 * link is followed: the file it names is replaced, the link stays. The replaced file's permissions
 * are not carried over: the new one gets the process's defaults.
 */
public final class AtomicFile {
    /** Writes a file's bytes into the temporary. */
    @FunctionalInterface
    public interface Body {
        void write(Writing out) throws IOException;
    }

    /** The temporary being written. */
    public static final class Writing {
        private final FileChannel channel;
        private final Path temp;

        Writing(FileChannel channel, Path temp) {
            this.channel = channel;
            this.temp = temp;
        }

        public FileChannel channel() {
            return channel;
        }

        /** Writes all of {@code bytes} at {@code position}. */
        public void write(ByteBuffer bytes, long position) throws IOException {
            while (bytes.hasRemaining()) position += channel.write(bytes, position);
        }

        /** Reserves {@code size} bytes on disk (failing here if they are not there), then maps them for writing. */
        public MemorySegment map(long size, Arena arena) throws IOException {
            reserve(temp, channel, size);
            return channel.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
        }
    }

    private AtomicFile() {}

    /** Writes {@code target} (described by {@code what}, e.g. "the trace") through {@code body}, as the class note says. */
    public static void write(Path target, String what, Body body) {
        Path file = resolveLink(target);
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            if (Files.isDirectory(file)) throw new FileWriteException("cannot write " + what + " " + target + ": it is a folder", null);
            writeStraight(target, file, what, body);
            return;
        }
        Path folder = file.toAbsolutePath().getParent();
        if (!Files.isDirectory(folder)) {  // a path given wrong: bad input, not a fault while writing
            throw OffloadException.invalid("cannot write " + what + " " + target + ": the folder " + folder + " does not exist");
        }
        ProcessTemps.sweep(folder, ProcessTemps.FILE_STEM);
        Path temp = ProcessTemps.fileFor(file);
        boolean renamed = false;
        try {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                body.write(new Writing(channel, temp));
                channel.force(true);
            }
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            renamed = true;
            forceFolder(folder);
        } catch (IOException e) {
            throw new FileWriteException("cannot write " + what + " " + target + ": " + reason(e), e);
        } catch (InternalError e) {  // a fault in a mapped page: the space reserved was taken back
            throw new FileWriteException("cannot write " + what + " " + target + ": a write into its mapping failed"
                    + " (no space left on device, or an IO error)", e);
        } finally {
            if (!renamed) ProcessTemps.remove(temp);
            else ProcessTemps.release(temp);
        }
    }

    /** A device or fifo: written through a channel as it is. */
    private static void writeStraight(Path target, Path file, String what, Body body) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            body.write(new Writing(channel, file));
        } catch (IOException e) {
            throw new FileWriteException("cannot write " + what + " " + target + ": " + reason(e), e);
        }
    }

    private static Path resolveLink(Path target) {
        Path file = target;
        for (int hops = 0; hops < 40 && Files.isSymbolicLink(file); hops++) {
            try {
                Path link = Files.readSymbolicLink(file);
                file = file.toAbsolutePath().getParent().resolve(link);
            } catch (IOException e) {
                return file;
            }
        }
        return file;
    }

    /** Makes the rename durable; a file system that cannot force a folder is left as it is. */
    private static void forceFolder(Path folder) {
        try (FileChannel dir = FileChannel.open(folder, StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // some file systems refuse fsync on a folder; the file itself is on disk
        }
    }

    /** The reason in lower case as the rest of the message ("no space left on device"). */
    static String reason(IOException e) {
        String r = OffloadException.reason(e);
        if (r.length() > 1 && Character.isUpperCase(r.charAt(0)) && Character.isLowerCase(r.charAt(1))) {
            r = Character.toLowerCase(r.charAt(0)) + r.substring(1);
        }
        return r;
    }

    /** Reserves {@code size} bytes of {@code temp}: posix_fallocate, or zeros written through the channel. */
    static void reserve(Path temp, FileChannel channel, long size) throws IOException {
        if (size <= 0) return;
        if (Libc.reserve(temp, size)) return;
        ByteBuffer zeros = ByteBuffer.allocateDirect(1 << 20);
        for (long at = channel.size(); at < size; ) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), size - at));
            while (zeros.hasRemaining()) at += channel.write(zeros, at);
        }
    }

    /** posix_fallocate through FFM; absent where libc does not have it. */
    private static final class Libc {
        private static final MethodHandle OPEN, CLOSE, FALLOCATE, STRERROR;
        private static final int O_WRONLY = 1, EOPNOTSUPP = 95;

        static {
            MethodHandle open = null, close = null, fallocate = null, strerror = null;
            try {
                Linker linker = Linker.nativeLinker();
                var libc = linker.defaultLookup();
                open = linker.downcallHandle(libc.find("open").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
                close = linker.downcallHandle(libc.find("close").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
                fallocate = linker.downcallHandle(libc.find("posix_fallocate").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
                strerror = linker.downcallHandle(libc.find("strerror").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.ADDRESS.withTargetLayout(java.lang.foreign.MemoryLayout.sequenceLayout(256,
                                ValueLayout.JAVA_BYTE)), ValueLayout.JAVA_INT));
            } catch (RuntimeException e) {
                open = null;  // no libc with these: the channel fallback
            }
            OPEN = open;
            CLOSE = close;
            FALLOCATE = fallocate;
            STRERROR = strerror;
        }

        /** True if reserved; false if posix_fallocate could not be called (use the fallback); IOException if it refused. */
        static boolean reserve(Path temp, long size) throws IOException {
            if (OPEN == null) return false;
            try (Arena arena = Arena.ofConfined()) {
                int fd = (int) OPEN.invokeExact(NativePaths.cString(temp.toAbsolutePath(), arena), O_WRONLY);  // the name's raw bytes
                if (fd < 0) return false;
                int error;
                try {
                    error = (int) FALLOCATE.invokeExact(fd, 0L, size);
                } finally {
                    int ignored = (int) CLOSE.invokeExact(fd);
                }
                if (error == 0) return true;
                if (error == EOPNOTSUPP) return false;
                MemorySegment text = (MemorySegment) STRERROR.invokeExact(error);
                throw new IOException(text.equals(MemorySegment.NULL) ? "posix_fallocate failed with error " + error : text.getString(0));
            } catch (IOException | RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException("posix_fallocate through FFM", t);
            }
        }
    }
}
