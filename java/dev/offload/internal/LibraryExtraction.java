package dev.offload.internal;

import dev.offload.files.AtomicFile;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Where a library carried inside the jar is written so that {@code System.load} can map it.
 *
 * <p>Design: one copy per library content, reused by every later JVM, so nothing in the temporary
 * folder grows with the number of runs. The copy lives at
 * {@code ${java.io.tmpdir}/offload-native-<uid>/<first 16 hex of its SHA-256>/<lib name>}. Both
 * folders must be real folders (not symbolic links, checked with NOFOLLOW_LINKS), owned by this
 * process's user and mode 0700; the name is predictable and the temporary folder world-writable, so
 * anything else there may have been planted by another user, and is not used. A missing or wrong
 * copy is written through {@link AtomicFile} (a temporary named by this process's pid and start
 * time, forced, renamed into place; a JVM killed mid-write leaves its temporary, which the next
 * writer into that folder removes once its writer is gone); the file's hash is checked again right before loading, read through NOFOLLOW_LINKS. Writing
 * a new build's copy removes other builds' copies of the same library an hour old or more, so
 * neither runs nor rebuilds make the folder grow.
 *
 * <p>Where that is impossible (no POSIX permissions, a folder owned by someone else or a link), the
 * fallback is a fresh private folder from {@code Files.createTempDirectory}: the library is loaded
 * from it, then the file and the folder are deleted at once (Linux and macOS keep a loaded library
 * mapped after its name is gone), with a WARNING naming the refused folder.
 */
final class LibraryExtraction {
    private static final System.Logger LOG = System.getLogger("dev.offload.native");
    private static final Set<PosixFilePermission> PRIVATE = PosixFilePermissions.fromString("rwx------");
    private static final long STALE_MILLIS = 3_600_000;

    private LibraryExtraction() {}

    /** Writes {@code bytes} (the library named {@code fileName}) where it can be loaded, loads it; returns the path loaded. */
    static Path extractAndLoad(String fileName, byte[] bytes) throws IOException {
        byte[] hash = sha256(bytes);
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        String refused;
        try {
            Path file = reusable(tmp, fileName, bytes, hash);
            try {
                System.load(file.toString());
            } catch (UnsatisfiedLinkError gone) {
                // another build's JVM pruned this copy between the check and the load: write it again, once
                file = reusable(tmp, fileName, bytes, hash);
                System.load(file.toString());
            }
            return file;
        } catch (RefusedFolder e) {
            refused = e.getMessage();
        }
        LOG.log(Level.WARNING, "not using {0}; loading {1} from a private temporary folder deleted right after loading", refused, fileName);
        Path dir = Files.createTempDirectory("offload-native-");
        Path file = dir.resolve(fileName);
        try {
            Files.write(file, bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            System.load(file.toString());
            return file;
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }

    /** The checked, shared copy: written when missing or different, its hash verified just now. */
    static Path reusable(Path tmp, String fileName, byte[] bytes, byte[] hash) throws IOException {
        if (!Files.getFileStore(tmp).supportsFileAttributeView(PosixFileAttributeView.class)) {
            throw new RefusedFolder(tmp + " (no POSIX permissions there)");
        }
        Object uid = currentUid(tmp);
        Path base = privateFolder(tmp.resolve("offload-native-" + uid), uid);
        removeEmptyOldFolders(tmp, uid, base);
        Path dir = privateFolder(base.resolve(HexFormat.of().formatHex(hash, 0, 8)), uid);
        Path file = dir.resolve(fileName);
        if (!matches(file, hash)) {
            try {  // a temporary named by this process, forced, renamed (AtomicFile); a killed writer's is swept by the next
                AtomicFile.write(file, "the native library", out -> out.write(ByteBuffer.wrap(bytes), 0));
            } catch (dev.offload.OffloadException e) {
                throw new IOException(e.getMessage(), e);
            }
            if (!matches(file, hash)) throw new RefusedFolder(file + " (its content changed while it was written)");
            removeOtherBuilds(base, dir, fileName);
        }
        return file;
    }

    /**
     * Copies of this library from other builds (other hash folders holding {@code fileName}), once an
     * hour old: removed when a new build's copy is written, so rebuilding does not fill the folder
     * either. A JVM still using one keeps its mapping; one about to load it writes it again.
     */
    private static void removeOtherBuilds(Path base, Path keep, String fileName) {
        long now = System.currentTimeMillis();
        try (Stream<Path> list = Files.list(base)) {
            for (Path other : list.toList()) {
                Path lib = other.resolve(fileName);
                if (other.equals(keep) || !Files.isDirectory(other, LinkOption.NOFOLLOW_LINKS)
                        || !Files.isRegularFile(lib, LinkOption.NOFOLLOW_LINKS)) continue;
                try {
                    if (now - Files.getLastModifiedTime(lib, LinkOption.NOFOLLOW_LINKS).toMillis() <= STALE_MILLIS) continue;
                    Files.deleteIfExists(lib);
                    try (Stream<Path> rest = Files.list(other)) {
                        if (rest.findAny().isEmpty()) Files.deleteIfExists(other);
                    }
                } catch (IOException e) {
                    LOG.log(Level.DEBUG, "cannot remove the other build''s copy {0}: {1}", lib, e);
                }
            }
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "cannot list {0} for other builds: {1}", base, e);
        }
    }

    /** This process's user id, as the file system reports owners: the owner of a file it creates. */
    private static Object currentUid(Path tmp) throws IOException {
        Path proc = Path.of("/proc/self");
        if (Files.isDirectory(proc)) return Files.getAttribute(proc, "unix:uid");
        Path probe = Files.createTempFile(tmp, "offload-uid-", ".tmp");
        try {
            return Files.getAttribute(probe, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        } finally {
            Files.deleteIfExists(probe);
        }
    }

    /** {@code dir} made if missing (mode 0700), then checked: a folder, not a link, owned by {@code uid}, mode 0700. */
    private static Path privateFolder(Path dir, Object uid) throws IOException {
        try {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PRIVATE));
        } catch (FileAlreadyExistsException e) {
            // made earlier (or by a JVM beside this one): checked below like any other
        }
        PosixFileAttributes attributes = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (attributes.isSymbolicLink() || !attributes.isDirectory()) throw new RefusedFolder(dir + " (not a folder: a link or a file)");
        Object owner = Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        if (!owner.equals(uid)) throw new RefusedFolder(dir + " (owned by user " + owner + ", not by this user " + uid + ")");
        if (!attributes.permissions().equals(PRIVATE)) {
            throw new RefusedFolder(dir + " (mode " + PosixFilePermissions.toString(attributes.permissions()) + ", not rwx------)");
        }
        return dir;
    }

    /** Whether {@code file} is a regular file (not a link) whose SHA-256 is {@code hash}. */
    private static boolean matches(Path file, byte[] hash) throws IOException {
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) return false;
        MessageDigest digest = newDigest();
        try (SeekableByteChannel ch = Files.newByteChannel(file, Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS))) {
            ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
            while (ch.read(buffer) > 0) {
                buffer.flip();
                digest.update(buffer);
                buffer.clear();
            }
        }
        return MessageDigest.isEqual(digest.digest(), hash);
    }

    /**
     * The empty {@code offload-native-<random digits>} folders earlier versions left at every JVM start
     * (and the fallback above, should it be killed mid-load): this user's, empty, a minute old or
     * more. Never one holding a file (a JVM may be loading it).
     */
    private static void removeEmptyOldFolders(Path tmp, Object uid, Path keep) {
        long now = System.currentTimeMillis();
        try (java.nio.file.DirectoryStream<Path> old = Files.newDirectoryStream(tmp, "offload-native-*")) {
            for (Path dir : old) {
                if (dir.equals(keep) || !dir.getFileName().toString().matches("offload-native-[0-9]{6,}")) continue;
                try {
                    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) || !uid.equals(Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS))
                            || now - Files.getLastModifiedTime(dir, LinkOption.NOFOLLOW_LINKS).toMillis() < 60_000) continue;
                    Files.delete(dir);  // fails, and is left, unless empty
                } catch (IOException e) {
                    LOG.log(Level.DEBUG, "left {0}: {1}", dir, e);
                }
            }
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "cannot list {0} for old library folders: {1}", tmp, e);
        }
    }

    static byte[] sha256(byte[] bytes) {
        return newDigest().digest(bytes);
    }

    private static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** A folder or file that may not be trusted or used; the message names it and why. */
    static final class RefusedFolder extends IOException {
        private static final long serialVersionUID = 1L;

        RefusedFolder(String message) {
            super(message);
        }
    }
}
