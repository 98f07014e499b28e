package dev.offload;

/** Components taking turns, on the cuda backend; skipped by assumption where no CUDA device answers. */
class CudaTurnsTest extends TurnsSuite {
    @Override
    String device() {
        return "cuda";
    }

    @Override
    String unavailableBecause() {
        return TestBackends.cudaUnavailableBecause();
    }
}
