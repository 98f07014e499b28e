package dev.offload.workload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.OffloadException;
import dev.offload.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Finding cuBLAS (no GPU needed): the property wins, then the folders in order; not found says where it looked. */
class CublasLocatorTest {
    @TempDir
    Path dir;

    @Test
    void aPropertyPointingNowhereIsAClearError() {
        String missing = dir.resolve("nope/libcublas.so.12").toString();
        var e = assertThrows(OffloadException.class, () -> Cublas.locate(missing, Cublas.searchDirs(null, null)));
        assertEquals(Status.BACKEND_UNAVAILABLE, e.status());
        assertTrue(e.getMessage().contains("-Doffload.cublas=" + missing + " is not a file"), e.getMessage());
    }

    @Test
    void notFoundListsEveryPlaceLookedAtAndHowToPointAtIt() {
        List<Path> dirs = Cublas.searchDirs(dir.resolve("cuda").toString(), dir.toString());
        assertEquals(dir.resolve("cuda/lib64"), dirs.get(0));
        assertTrue(dirs.contains(Path.of("/usr/local/cuda/targets/x86_64-linux/lib")), dirs.toString());
        assertTrue(dirs.stream().anyMatch(p -> p.toString().endsWith("site-packages/nvidia/cublas/lib")), dirs.toString());
        assertTrue(dirs.getLast().toString().endsWith("site-packages/nvidia/cu13/lib"), dirs.toString());
        List<Path> empty = List.of(dir.resolve("a"), dir.resolve("b"));
        var e = assertThrows(OffloadException.class, () -> Cublas.locate(null, empty));
        assertEquals(Status.BACKEND_UNAVAILABLE, e.status());
        for (Path p : empty) assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("libcublas.so.12") && e.getMessage().contains("-Doffload.cublas=PATH"), e.getMessage());
    }

    @Test
    void theFirstNameInTheFirstFolderWins() throws java.io.IOException {
        Path a = Files.createDirectories(dir.resolve("a")), b = Files.createDirectories(dir.resolve("b"));
        Files.createFile(b.resolve("libcublas.so.12"));
        Files.createFile(b.resolve("libcublas.so"));
        assertEquals(b.resolve("libcublas.so"), Cublas.locate(null, List.of(a, b)));
        Path explicit = Files.createFile(a.resolve("libcublas.so.11"));
        assertEquals(explicit, Cublas.locate(explicit.toString(), List.of(b)));
    }
}
