package dev.offload.internal;

import dev.offload.OffloadException;
import dev.offload.Status;
import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Loads liboffload (the core) and liboffload_workload (the reference workloads' kernels, a user of
 * the core) once per class loader, before any binding runs.
 *
 * <p>Order for each: its system property ({@code offload.library}, {@code offload.workload.library}:
 * a path), then, for the workload library, the folder of an {@code offload.library} override, then
 * the copy inside the jar at {@code native/<os>-<arch>/} (a library cannot be loaded from inside a
 * jar: {@link LibraryExtraction} writes it once per content to a private folder under
 * {@code java.io.tmpdir} and checks its hash before each load), then {@code java.library.path}. Bindings look
 * symbols up in the libraries of this class loader, so loading here is all they need.
 */
public final class NativeLibrary {
    public static final String PROPERTY = "offload.library";
    public static final String WORKLOAD_PROPERTY = "offload.workload.library";
    private static final System.Logger LOG = System.getLogger("dev.offload.native");
    private static volatile String loadedFrom;
    private static volatile String workloadLoadedFrom;

    private NativeLibrary() {}

    /** Loads the core library if it is not loaded yet; returns where it came from. */
    public static String load() {
        String from = loadedFrom;
        if (from != null) return from;
        synchronized (NativeLibrary.class) {
            if (loadedFrom == null) loadedFrom = loadOnce("offload", PROPERTY, null);
            return loadedFrom;
        }
    }

    /** Loads liboffload_workload (and the core) if not loaded yet; returns where it came from. */
    public static String loadWorkload() {
        load();
        String from = workloadLoadedFrom;
        if (from != null) return from;
        synchronized (NativeLibrary.class) {
            if (workloadLoadedFrom == null) {
                String core = System.getProperty(PROPERTY);
                Path sibling = core == null || core.isBlank() ? null
                        : Path.of(core).toAbsolutePath().resolveSibling(System.mapLibraryName("offload_workload"));
                workloadLoadedFrom = loadOnce("offload_workload", WORKLOAD_PROPERTY, sibling);
            }
            return workloadLoadedFrom;
        }
    }

    private static String loadOnce(String name, String property, Path sibling) {
        String lib = "lib" + name;
        List<String> tried = new ArrayList<>();
        String override = System.getProperty(property);
        if (override != null && !override.isBlank()) {
            Path path = Path.of(override).toAbsolutePath();
            try {
                System.load(path.toString());
            } catch (UnsatisfiedLinkError e) {
                throw new OffloadException(Status.BACKEND_UNAVAILABLE,
                        "cannot load " + lib + " from -D" + property + "=" + override + ": " + e.getMessage(), e);
            }
            return path.toString();
        }
        if (sibling != null && Files.isRegularFile(sibling)) {
            try {
                System.load(sibling.toString());
                return sibling.toString();
            } catch (UnsatisfiedLinkError e) {
                tried.add(sibling + " (" + e.getMessage() + ")");
            }
        }
        String resource = "/native/" + platform() + "/" + System.mapLibraryName(name);
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
            if (in != null) {
                Path file = LibraryExtraction.extractAndLoad(System.mapLibraryName(name), in.readAllBytes());
                LOG.log(Level.DEBUG, "loaded {0} from resource {1} through {2}", lib, resource, file);
                return "jar:" + resource;
            }
            tried.add("resource " + resource + " (absent)");
        } catch (IOException | UnsatisfiedLinkError e) {
            tried.add("resource " + resource + " (" + e.getMessage() + ")");
        }
        try {
            System.loadLibrary(name);
            return "java.library.path";
        } catch (UnsatisfiedLinkError e) {
            tried.add("java.library.path (" + e.getMessage() + ")");
        }
        throw new OffloadException(Status.BACKEND_UNAVAILABLE,
                "cannot load " + lib + "; tried -D" + property + " (unset), " + String.join(", ", tried));
    }

    /** "linux-x86_64", "linux-aarch64", ... */
    public static String platform() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        String osName = os.contains("linux") ? "linux" : os.contains("mac") ? "macos" : os.contains("win") ? "windows" : os;
        String archName = switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch;
        };
        return osName + "-" + archName;
    }
}
