package dev.offload;

/** Pin policies and BLOCK_PIN end to end on the host backend. */
class HostPinningTest extends PinningSuite {
    @Override
    String device() {
        return "host";
    }
}
