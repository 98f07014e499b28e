package dev.offload.workload;

import dev.offload.OffloadException;
import dev.offload.TestBackends;

/** The --like acceptance on cuda (cuBLAS and liboffload_workload's kernels); skipped by assumption without a CUDA device or cuBLAS. */
class CudaTransformerLikeTest extends TransformerLikeSuite {
    @Override
    String device() {
        return "cuda";
    }

    @Override
    String unavailableBecause() {
        String why = TestBackends.cudaUnavailableBecause();
        if (why != null) return why;
        try {
            Cublas.load();
            LinearKernels.load();
            return null;
        } catch (OffloadException e) {
            return e.getMessage();
        }
    }
}
