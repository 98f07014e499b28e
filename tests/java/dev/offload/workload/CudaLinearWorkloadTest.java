package dev.offload.workload;

import dev.offload.OffloadException;
import dev.offload.TestBackends;

/** The linear workload suite on cuda (cuBLAS); skipped by assumption without a CUDA device or cuBLAS. */
class CudaLinearWorkloadTest extends LinearWorkloadSuite {
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
            return null;
        } catch (OffloadException e) {
            return e.getMessage();
        }
    }
}
