package dev.offload;

/** The end-to-end suite on the cuda backend; skipped by assumption where no CUDA device answers. */
class CudaOffloaderTest extends OffloaderSuite {
    @Override
    String device() {
        return "cuda";
    }

    @Override
    String unavailableBecause() {
        return TestBackends.cudaUnavailableBecause();
    }
}
