package dev.offload.runtime;

/** A compute stream runs kernels; a copy stream is dedicated to transfers. */
public enum StreamKind {
    COMPUTE(0),
    COPY(1);

    final int code;

    StreamKind(int code) {
        this.code = code;
    }
}
