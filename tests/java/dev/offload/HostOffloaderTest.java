package dev.offload;

/** The end-to-end suite on the host backend. */
class HostOffloaderTest extends OffloaderSuite {
    @Override
    String device() {
        return "host";
    }
}
