package dev.offload.files;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Temporary files and folders that say who made them, so that nothing a run leaves behind outlives
 * the next run.
 *
 * <p>Names end in {@code PID-START-SEQ}: the writer's process id, its start time (field 22 of
 * {@code /proc/PID/stat}, clock ticks since boot; where there is no {@code /proc}, the start instant
 * Java reports, in milliseconds) and a number unique within the process. A temporary is <em>stale</em>
 * when no process has that pid, or the process that has it started at another time (the pid was
 * reused); {@link #sweep} removes stale entries of one kind from a folder, and never one whose writer
 * is alive or cannot be examined. Temporaries a run makes are registered while they exist; one
 * shutdown hook (installed on first use) removes those still registered when the JVM exits, which
 * covers Ctrl-C (SIGINT) and SIGTERM. kill -9 runs no hook: the next sweep of that folder removes them.
 *
 * <p>Limit: a pid is examined in this process's pid namespace, so a writer in another container
 * sharing the folder looks dead. Give such writers their own folders.
 */
public final class ProcessTemps {
    /** The infix of a file's temporary: {@code .NAME.offload-tmp-PID-START-SEQ}. */
    public static final String FILE_MARK = ".offload-tmp-";
    /** Matches the part of a file temporary's name before its tag. */
    public static final Pattern FILE_STEM = Pattern.compile("\\..+" + Pattern.quote(FILE_MARK));
    private static final Pattern TAG = Pattern.compile("(\\d{1,10})-(\\d{1,20})-\\d{1,20}");
    private static final int MAX_NAME = 180;  // of the target's name inside a temporary's (file names stop at 255 bytes)
    private static final System.Logger LOG = System.getLogger("dev.offload.files");
    private static final Set<Path> LIVE = ConcurrentHashMap.newKeySet();
    private static final AtomicLong SEQUENCE = new AtomicLong();
    private static volatile String self;
    private static volatile boolean hooked;

    private ProcessTemps() {}

    /** This process's {@code PID-START}. */
    public static String self() {
        String s = self;
        if (s == null) {
            long pid = ProcessHandle.current().pid();
            s = pid + "-" + startOf(pid).orElse(0L);
            self = s;
        }
        return s;
    }

    /** A fresh temporary's name for {@code target}, in its folder, registered: {@code .NAME.offload-tmp-PID-START-SEQ}. */
    public static Path fileFor(Path target) {
        String name = target.getFileName().toString();
        if (name.length() > MAX_NAME) name = name.substring(0, MAX_NAME);
        Path temp = target.resolveSibling("." + name + FILE_MARK + self() + "-" + SEQUENCE.getAndIncrement());
        register(temp);
        return temp;
    }

    /**
     * Creates a folder {@code PREFIX PID-START-SEQ} in {@code parent}, registered, after removing the
     * stale ones of the same prefix there.
     */
    public static Path createFolder(Path parent, String prefix) throws IOException {
        sweep(parent, Pattern.compile(Pattern.quote(prefix)));
        while (true) {
            Path dir = parent.resolve(prefix + self() + "-" + SEQUENCE.getAndIncrement());
            register(dir);
            try {
                return Files.createDirectory(dir);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                release(dir);  // not ours: take the next number
            } catch (IOException | RuntimeException e) {
                release(dir);
                throw e;
            }
        }
    }

    /** Marks a path as this run's temporary: the shutdown hook removes it if it still exists then. */
    public static void register(Path temp) {
        if (!hooked) installHook();
        LIVE.add(temp.toAbsolutePath());
    }

    /** The temporary is gone or renamed into place: the hook leaves its path alone. */
    public static void release(Path temp) {
        LIVE.remove(temp.toAbsolutePath());
    }

    /** Removes a registered temporary (a file or a whole folder) and releases it. */
    public static void remove(Path temp) {
        deleteTree(temp);
        release(temp);
    }

    /** The paths registered now, for tests. */
    static Set<Path> live() {
        return Set.copyOf(LIVE);
    }

    /**
     * Removes the entries of {@code folder} named {@code STEM PID-START-SEQ} (the stem matched by
     * {@code stem}) whose writer is gone; returns how many. A folder that cannot be listed is skipped.
     */
    public static int sweep(Path folder, Pattern stem) {
        Pattern name = Pattern.compile(stem.pattern() + TAG.pattern());
        int removed = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(folder)) {
            for (Path entry : entries) {
                Matcher m = name.matcher(entry.getFileName().toString());
                if (!m.matches() || !stale(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)))) continue;
                if (LIVE.contains(entry.toAbsolutePath())) continue;  // ours after all (cannot happen unless the stamp changed)
                deleteTree(entry);
                removed++;
                LOG.log(System.Logger.Level.INFO, "removed {0}: a temporary of process {1}, which is gone", entry, m.group(1));
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "cannot look for stale temporaries in " + folder, e);
        }
        return removed;
    }

    /** Whether the process that made a temporary tagged {@code pid-start} is gone. */
    static boolean stale(long pid, long start) {
        Optional<Long> now = startOf(pid);
        if (now.isPresent()) return now.get() != start;       // alive: stale only if the pid was reused
        return ProcessHandle.of(pid).isEmpty();               // no stamp: stale only if no such process
    }

    /** A process's start stamp: /proc/PID/stat field 22, or Java's start instant in ms; empty if unknown. */
    static Optional<Long> startOf(long pid) {
        Path stat = Path.of("/proc", Long.toString(pid), "stat");
        if (Files.isDirectory(Path.of("/proc/self"))) {
            try (var in = Files.newInputStream(stat)) {
                // read to the end: Files.readString trusts the size, which /proc reports as 0
                String text = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
                // field 2 is the command in parentheses and may hold spaces or ')': fields 3.. follow the last ')'
                String[] fields = text.substring(text.lastIndexOf(')') + 2).trim().split(" +");
                return Optional.of(Long.parseLong(fields[22 - 3]));
            } catch (IOException | RuntimeException e) {
                return Optional.empty();
            }
        }
        return ProcessHandle.of(pid).flatMap(p -> p.info().startInstant()).map(java.time.Instant::toEpochMilli);
    }

    private static synchronized void installHook() {
        if (hooked) return;
        try {
            Runtime.getRuntime().addShutdownHook(new Thread(ProcessTemps::removeLive, "offload-temporaries"));
        } catch (IllegalStateException shuttingDown) {
            // the JVM is exiting already: nothing more can be registered with it
        }
        hooked = true;
    }

    private static void removeLive() {
        for (Path p : List.copyOf(LIVE)) deleteTree(p);
        LIVE.clear();
    }

    /** Deletes a file, a link (not what it points to) or a folder with everything in it; errors are ignored. */
    static void deleteTree(Path path) {
        try {
            if (!Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
                Files.deleteIfExists(path);
                return;
            }
            Files.walkFileTree(path, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    try {
                        Files.deleteIfExists(file);
                    } catch (IOException e) {
                        // leave it; its folder's delete then fails too, and the rest goes on
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) {
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException e) {
                    try {
                        Files.deleteIfExists(dir);
                    } catch (IOException notEmpty) {
                        // something in it could not be deleted
                    }
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "cannot remove the temporary " + path, e);
        }
    }
}
