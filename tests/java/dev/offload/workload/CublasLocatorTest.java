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

/**
 * Finding cuBLAS (no GPU needed): the property wins, then the folders in order, then a virtual environment's and
 * python's wheel folders, then the dynamic loader by soname; not found says where it looked.
 */
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

    @Test
    void aVirtualEnvironmentsWheelFoldersAndPythonsPathAreSearched() throws java.io.IOException {
        Path venv = Files.createDirectories(dir.resolve("venv/lib/python3.12/site-packages/nvidia/cublas/lib"));
        Path sys = Files.createDirectories(dir.resolve("sys/nvidia/cu13/lib"));
        List<Path> dirs = Cublas.pythonDirs(dir.resolve("venv").toString(), List.of(dir.resolve("sys")));
        assertEquals(venv, dirs.get(0));
        assertTrue(dirs.contains(sys), dirs.toString());
        Path lib = Files.createFile(sys.resolve("libcublas.so.13"));
        assertEquals(lib, Cublas.locate(null, dirs));
        assertTrue(Cublas.pythonDirs(null, List.of()).isEmpty());
    }

    @Test
    void theLoadersOwnSearchBySonameIsTheLastResort() {
        List<String> asked = new java.util.ArrayList<>();
        java.lang.foreign.SymbolLookup found = name -> java.util.Optional.empty();
        var lookup = Cublas.bySoname(List.of(dir), name -> {
            asked.add(name);
            if (!name.equals("libcublas.so.12")) throw new IllegalArgumentException("Cannot open library: " + name);
            return found;
        });
        assertEquals(found, lookup);
        assertEquals(List.of("libcublas.so.13", "libcublas.so.12"), asked);
        var e = assertThrows(OffloadException.class, () -> Cublas.bySoname(List.of(dir.resolve("a")), name -> {
            throw new IllegalArgumentException("Cannot open library: " + name);
        }));
        assertEquals(Status.BACKEND_UNAVAILABLE, e.status());
        assertTrue(e.getMessage().contains(dir.resolve("a").toString()) && e.getMessage().contains("dynamic loader")
                && e.getMessage().contains("libcublas.so.11: Cannot open library"), e.getMessage());
    }
}
