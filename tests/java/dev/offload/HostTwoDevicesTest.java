package dev.offload;

/** TwoDevicesSuite on the host backend's emulated host:0 and host:1: runs everywhere, so the suite the cuda tests share is checked here. */
class HostTwoDevicesTest extends TwoDevicesSuite {
    @Override
    String first() {
        return "host:0";
    }

    @Override
    String second() {
        return "host:1";
    }

    @Override
    String unavailableBecause() {
        return null;
    }
}
