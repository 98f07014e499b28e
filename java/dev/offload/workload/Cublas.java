package dev.offload.workload;

import dev.offload.OffloadException;
import dev.offload.Status;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * cuBLAS, found and bound at run time through FFM (no build-time dependency): a user's library, as a
 * Java inference engine would load it. Search order: the system property {@code offload.cublas}
 * (a path to libcublas.so*; when set, only it is tried), then {@code $CUDA_HOME/lib64},
 * {@code /usr/local/cuda/lib64}, {@code /usr/local/cuda/targets/x86_64-linux/lib}, then PyTorch's
 * wheel folders ({@code nvidia/cublas/lib}, and {@code nvidia/cu13/lib} of CUDA 13 wheels, under
 * python3* dist-/site-packages), then those wheel folders in a virtual environment ({@code $VIRTUAL_ENV})
 * and in each entry of python3's {@code sys.path} (asked only when every folder before missed); in each
 * folder the names libcublas.so, .so.13, .so.12, .so.11. libcublasLt of the same name is loaded first
 * from the same folder (libcublas needs it). As the last resort the sonames libcublas.so.13, .12, .11
 * go to the dynamic loader's own search ({@code LD_LIBRARY_PATH}, the ld.so cache, the system folders),
 * which finds libcublasLt itself. Not found: BACKEND_UNAVAILABLE listing every place looked at and
 * what the loader said.
 *
 * <p>Row-major products: {@code Y[t, out] = X[t, in] W[out, in]^T} is, in cuBLAS's column-major
 * terms, {@code Y^T (out x t) = op(W) X^T} where row-major W is column-major {@code W^T} (in x out,
 * lda = in), so op = T; row-major X is column-major {@code X^T} (in x t, ldb = in), op = N; Y^T has
 * ldc = out. Hence {@link #gemm}: GemmEx(T, N, m = out, n = t, k = in, W, in, X, in, Y, out), bf16
 * in and out, fp32 compute, alpha = 1, beta = 0 or 1 (host pointers, the default pointer mode).
 */
final class Cublas {
    static final String PROPERTY = "offload.cublas";
    static final List<String> NAMES = List.of("libcublas.so", "libcublas.so.13", "libcublas.so.12", "libcublas.so.11");
    /** What the dynamic loader is asked for, last (a bare libcublas.so is a development link, not a soname). */
    static final List<String> SONAMES = List.of("libcublas.so.13", "libcublas.so.12", "libcublas.so.11");
    private static final int OP_N = 0, OP_T = 1, R_16BF = 14, COMPUTE_32F = 68, GEMM_DEFAULT = -1;
    private static volatile Cublas loaded;

    private static final int MATH_DISALLOW_REDUCED_PRECISION_REDUCTION = 16;  // cublasMath_t, over CUBLAS_DEFAULT_MATH (0)
    private final MethodHandle create, setStream, setMathMode, gemmEx, destroy;

    private Cublas(SymbolLookup lib) {
        Linker linker = Linker.nativeLinker();
        ValueLayout i = ValueLayout.JAVA_INT, p = ValueLayout.ADDRESS;
        create = linker.downcallHandle(lib.findOrThrow("cublasCreate_v2"), FunctionDescriptor.of(i, p));
        setStream = linker.downcallHandle(lib.findOrThrow("cublasSetStream_v2"), FunctionDescriptor.of(i, p, p));
        setMathMode = linker.downcallHandle(lib.findOrThrow("cublasSetMathMode"), FunctionDescriptor.of(i, p, i));
        destroy = linker.downcallHandle(lib.findOrThrow("cublasDestroy_v2"), FunctionDescriptor.of(i, p));
        gemmEx = linker.downcallHandle(lib.findOrThrow("cublasGemmEx"),
                FunctionDescriptor.of(i, p, i, i, i, i, i, p, p, i, i, p, i, i, p, p, i, i, i, i));
    }

    /** The library, loaded once per process. */
    static Cublas load() {
        Cublas c = loaded;
        if (c != null) return c;
        synchronized (Cublas.class) {
            if (loaded == null) {
                String property = System.getProperty(PROPERTY);
                List<Path> dirs = searchDirs(System.getenv("CUDA_HOME"), System.getProperty("user.home"));
                Path lib;
                try {
                    lib = locate(property, dirs);
                } catch (OffloadException notInFixedFolders) {
                    if (property != null && !property.isEmpty()) throw notInFixedFolders;
                    List<Path> more = pythonDirs(System.getenv("VIRTUAL_ENV"), pythonSysPath());
                    try {
                        lib = locate(null, more);
                    } catch (OffloadException notInPython) {
                        List<Path> all = new ArrayList<>(dirs);
                        all.addAll(more);
                        loaded = new Cublas(bySoname(all, name -> SymbolLookup.libraryLookup(name, Arena.global())));
                        return loaded;
                    }
                }
                Path lt = lib.resolveSibling(lib.getFileName().toString().replace("libcublas", "libcublasLt"));
                try {
                    if (Files.exists(lt)) SymbolLookup.libraryLookup(lt, Arena.global());
                    loaded = new Cublas(SymbolLookup.libraryLookup(lib, Arena.global()));
                } catch (RuntimeException e) {
                    throw new OffloadException(Status.BACKEND_UNAVAILABLE, "cuBLAS at " + lib + " could not be loaded: " + e.getMessage()
                            + " (point at another with -D" + PROPERTY + "=PATH)", e);
                }
            }
            return loaded;
        }
    }

    /** The folders searched when the property is not set, in order (python3* folders expanded). */
    static List<Path> searchDirs(String cudaHome, String userHome) {
        List<Path> dirs = new ArrayList<>();
        if (cudaHome != null && !cudaHome.isEmpty()) dirs.add(Path.of(cudaHome, "lib64"));
        dirs.add(Path.of("/usr/local/cuda/lib64"));
        dirs.add(Path.of("/usr/local/cuda/targets/x86_64-linux/lib"));
        for (String wheel : List.of("nvidia/cublas/lib", "nvidia/cu13/lib")) {  // CUDA 12 and CUDA 13 wheels
            pythons(Path.of("/usr/local/lib"), "dist-packages/" + wheel, dirs);
            dirs.add(Path.of("/usr/lib/python3/dist-packages", wheel));
            pythons(Path.of("/usr/local/lib"), "site-packages/" + wheel, dirs);
            if (userHome != null) pythons(Path.of(userHome, ".local/lib"), "site-packages/" + wheel, dirs);
        }
        return dirs;
    }

    /**
     * The wheel folders under a virtual environment ({@code venv/lib/python3*\/site-packages/...}) and
     * under each of python3's {@code sys.path} entries, in that order.
     */
    static List<Path> pythonDirs(String virtualEnv, List<Path> sysPath) {
        List<Path> dirs = new ArrayList<>();
        for (String wheel : List.of("nvidia/cublas/lib", "nvidia/cu13/lib")) {
            if (virtualEnv != null && !virtualEnv.isEmpty()) pythons(Path.of(virtualEnv, "lib"), "site-packages/" + wheel, dirs);
            for (Path entry : sysPath) dirs.add(entry.resolve(wheel));
        }
        return dirs;
    }

    /** python3's {@code sys.path} (its folders only), or nothing when there is no python3 or it does not answer in 10 s. */
    static List<Path> pythonSysPath() {
        List<Path> out = new ArrayList<>();
        try {
            Process p = new ProcessBuilder("python3", "-c", "import sys\nfor p in sys.path:\n    print(p)")
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String text;
            try (var in = p.getInputStream()) {
                text = new String(in.readNBytes(1 << 16), java.nio.charset.StandardCharsets.UTF_8);
            }
            if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return out;
            }
            for (String line : text.split("\n")) {
                if (!line.isBlank() && Files.isDirectory(Path.of(line.strip()))) out.add(Path.of(line.strip()));
            }
        } catch (IOException | RuntimeException e) {
            return out;  // no python3: nothing more to search
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return out;
    }

    /**
     * The last resort: each soname ({@link #SONAMES}) through {@code open}, the dynamic loader's own
     * search; the first that opens. None: BACKEND_UNAVAILABLE naming the folders looked in before and
     * what the loader said for each soname.
     */
    static SymbolLookup bySoname(List<Path> lookedIn, java.util.function.Function<String, SymbolLookup> open) {
        List<String> refused = new ArrayList<>();
        for (String soname : SONAMES) {
            try {
                return open.apply(soname);
            } catch (RuntimeException e) {
                refused.add(soname + ": " + e.getMessage());
            }
        }
        throw new OffloadException(Status.BACKEND_UNAVAILABLE, "cuBLAS not found: looked for " + String.join(", ", NAMES) + " in "
                + String.join(", ", lookedIn.stream().map(Path::toString).toList()) + ", then asked the dynamic loader (LD_LIBRARY_PATH,"
                + " the ld.so cache) for " + String.join(", ", SONAMES) + " (" + String.join("; ", refused) + "); point at it with -D"
                + PROPERTY + "=PATH/libcublas.so.N (or set CUDA_HOME)");
    }

    private static void pythons(Path parent, String rest, List<Path> out) {
        List<Path> found = new ArrayList<>();
        try (var list = Files.list(parent)) {
            list.filter(p -> p.getFileName().toString().startsWith("python3")).sorted().forEach(p -> found.add(p.resolve(rest)));
        } catch (IOException | RuntimeException e) {
            // no such folder: reported as the pattern below
        }
        if (found.isEmpty()) found.add(parent.resolve("python3*").resolve(rest));
        out.addAll(found);
    }

    /** The first libcublas found: {@code property} alone when set, else each name in each folder. */
    static Path locate(String property, List<Path> dirs) {
        if (property != null && !property.isEmpty()) {
            Path p = Path.of(property);
            if (Files.isRegularFile(p)) return p;
            throw new OffloadException(Status.BACKEND_UNAVAILABLE, "cuBLAS not found: -D" + PROPERTY + "=" + property
                    + " is not a file (point it at libcublas.so*, or leave it unset to search the usual places)");
        }
        for (Path dir : dirs) {
            for (String name : NAMES) {
                Path p = dir.resolve(name);
                if (Files.isRegularFile(p)) return p;
            }
        }
        throw new OffloadException(Status.BACKEND_UNAVAILABLE, "cuBLAS not found: looked for " + String.join(", ", NAMES) + " in "
                + String.join(", ", dirs.stream().map(Path::toString).toList())
                + "; point at it with -D" + PROPERTY + "=PATH/libcublas.so.N (or set CUDA_HOME)");
    }

    /** A handle whose work goes on {@code cudaStream}. */
    MemorySegment createHandle(MemorySegment cudaStream) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            check((int) create.invokeExact(out), "cublasCreate_v2");
            MemorySegment handle = out.get(ValueLayout.ADDRESS, 0);
            check((int) setStream.invokeExact(handle, cudaStream), "cublasSetStream_v2");
            // No reduced-precision (bf16) split-K reductions: each product is summed in fp32 and
            // rounded once, as docs/WORKLOAD.md and the reference assume.
            check((int) setMathMode.invokeExact(handle, MATH_DISALLOW_REDUCED_PRECISION_REDUCTION), "cublasSetMathMode");
            return handle;
        } catch (OffloadException e) {
            throw e;
        } catch (Throwable t) {
            throw new OffloadException(Status.INTERNAL, "cuBLAS call failed: " + t, t);
        }
    }

    void destroy(MemorySegment handle) {
        try {
            check((int) destroy.invokeExact(handle), "cublasDestroy_v2");
        } catch (OffloadException e) {
            throw e;
        } catch (Throwable t) {
            throw new OffloadException(Status.INTERNAL, "cublasDestroy_v2 failed: " + t, t);
        }
    }

    /** Queues row-major bf16 {@code Y[t, out] = beta Y + X[t, in] W[out, in]^T}, fp32 accumulation. */
    void gemm(MemorySegment handle, int tokens, int in, int out, MemorySegment w, MemorySegment x, MemorySegment y,
              MemorySegment one, MemorySegment beta) {
        int status;
        try {
            status = (int) gemmEx.invokeExact(handle, OP_T, OP_N, out, tokens, in, one, w, R_16BF, in, x, R_16BF, in, beta, y,
                    R_16BF, out, COMPUTE_32F, GEMM_DEFAULT);
        } catch (Throwable t) {
            throw new OffloadException(Status.INTERNAL, "cublasGemmEx failed: " + t, t);
        }
        if (status != 0) check(status, "cublasGemmEx(" + out + "x" + tokens + "x" + in + ")");
    }

    private static void check(int status, String what) {
        if (status != 0) throw new OffloadException(Status.DEVICE, what + " returned cublasStatus_t " + status);
    }
}
