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
 * python3* dist-/site-packages); in each folder the
 * names libcublas.so, .so.13, .so.12, .so.11. libcublasLt of the same name is loaded first from the
 * same folder (libcublas needs it). Not found: BACKEND_UNAVAILABLE listing every place looked at.
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
                Path lib = locate(System.getProperty(PROPERTY), searchDirs(System.getenv("CUDA_HOME"), System.getProperty("user.home")));
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
