package dev.offload.workload;

/** The --like acceptance on the host backend. */
class HostTransformerLikeTest extends TransformerLikeSuite {
    @Override
    String device() {
        return "host";
    }
}
