package dev.offload.internal;

import dev.offload.OffloadException;
import dev.offload.Status;
import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Loads liboffload once per class loader, before any generated binding runs.
 *
 * <p>Order: the system property {@code offload.library} (a path to the library), then the copy inside
 * the jar at {@code native/<os>-<arch>/liboffload.so} (copied to a temporary folder, since a library
 * cannot be loaded from inside a jar), then {@code java.library.path}. The bindings look symbols up
 * in the libraries of this class loader, so loading here is all they need.
 */
public final class NativeLibrary {
    public static final String PROPERTY = "offload.library";
    private static final System.Logger LOG = System.getLogger("dev.offload.native");
    private static volatile String loadedFrom;

    private NativeLibrary() {}

    /** Loads the library if it is not loaded yet; returns where it came from. */
    public static String load() {
        String from = loadedFrom;
        return from != null ? from : loadOnce();
    }

    private static synchronized String loadOnce() {
        if (loadedFrom != null) return loadedFrom;
        List<String> tried = new ArrayList<>();
        String override = System.getProperty(PROPERTY);
        if (override != null && !override.isBlank()) {
            Path path = Path.of(override).toAbsolutePath();
            try {
                System.load(path.toString());
            } catch (UnsatisfiedLinkError e) {
                throw new OffloadException(Status.BACKEND_UNAVAILABLE,
                        "cannot load liboffload from -D" + PROPERTY + "=" + override + ": " + e.getMessage(), e);
            }
            return loadedFrom = path.toString();
        }
        String resource = "/native/" + platform() + "/" + System.mapLibraryName("offload");
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
            if (in != null) {
                Path dir = Files.createTempDirectory("offload-native-");
                Path file = dir.resolve(System.mapLibraryName("offload"));
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                file.toFile().deleteOnExit();
                dir.toFile().deleteOnExit();
                System.load(file.toString());
                LOG.log(Level.DEBUG, "loaded liboffload from resource {0}", resource);
                return loadedFrom = "jar:" + resource;
            }
            tried.add("resource " + resource + " (absent)");
        } catch (IOException | UnsatisfiedLinkError e) {
            tried.add("resource " + resource + " (" + e.getMessage() + ")");
        }
        try {
            System.loadLibrary("offload");
            return loadedFrom = "java.library.path";
        } catch (UnsatisfiedLinkError e) {
            tried.add("java.library.path (" + e.getMessage() + ")");
        }
        throw new OffloadException(Status.BACKEND_UNAVAILABLE,
                "cannot load liboffload; tried -D" + PROPERTY + " (unset), " + String.join(", ", tried));
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
