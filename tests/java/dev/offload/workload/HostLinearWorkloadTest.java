package dev.offload.workload;

/** The linear workload suite on the host backend (plain Java compute through a HostFunction). */
class HostLinearWorkloadTest extends LinearWorkloadSuite {
    @Override
    String device() {
        return "host";
    }
}
