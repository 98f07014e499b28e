package dev.offload;

import dev.offload.runtime.DeviceRuntime;

/** TwoDevicesSuite on two GPUs (cuda:0, cuda:1); skipped by assumption where fewer than two CUDA devices answer. */
class CudaTwoDevicesTest extends TwoDevicesSuite {
    @Override
    String first() {
        return "cuda:0";
    }

    @Override
    String second() {
        return "cuda:1";
    }

    @Override
    String unavailableBecause() {
        String why = TestBackends.cudaUnavailableBecause();
        if (why != null) return why;
        try (DeviceRuntime probe = DeviceRuntime.open("cuda:1", 1 << 20)) {
            probe.info();
            return null;
        } catch (OffloadException e) {
            return "a second CUDA device is needed: " + e.getMessage();
        }
    }
}
