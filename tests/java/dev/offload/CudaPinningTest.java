package dev.offload;

/** Pin policies and BLOCK_PIN end to end on the cuda backend; skipped by assumption where no CUDA device answers. */
class CudaPinningTest extends PinningSuite {
    @Override
    String device() {
        return "cuda";
    }

    @Override
    String unavailableBecause() {
        return TestBackends.cudaUnavailableBecause();
    }
}
