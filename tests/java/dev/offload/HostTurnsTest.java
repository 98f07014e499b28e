package dev.offload;

/** Components taking turns, on the host backend. */
class HostTurnsTest extends TurnsSuite {
    @Override
    String device() {
        return "host";
    }
}
