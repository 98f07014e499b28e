package dev.offload;

/**
 * TwoDevicesSuite as two engines on one GPU: "cuda" and "cuda:0" name the same GPU (ordinal 0)
 * under two names, so the offloader opens two runtimes there, each with its own budget, streams
 * and engine, sharing one portable pinned host copy, and the peer copy runs within the GPU. The
 * config refuses a name given twice ("cuda:0", "cuda:0"); should it come to refuse this pair too
 * (one GPU under two names), the tests skip by assumption, saying so. Skipped where no CUDA device answers.
 */
class CudaOneGpuTwoEnginesTest extends TwoDevicesSuite {
    @Override
    String first() {
        return "cuda";
    }

    @Override
    String second() {
        return "cuda:0";
    }

    @Override
    String unavailableBecause() {
        String why = TestBackends.cudaUnavailableBecause();
        if (why != null) return why;
        try {
            OffloadConfig.builder().devices(first(), second()).build();
            return null;
        } catch (OffloadException e) {
            return "the config refuses two names of one GPU: " + e.getMessage();
        }
    }
}
