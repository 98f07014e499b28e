package dev.offload.runtime;

import java.util.EnumSet;
import java.util.Set;

/** The two backends of the native core. */
public enum Backend {
    HOST(1, "host"),
    CUDA(2, "cuda");

    private final int bit;
    private final String id;

    Backend(int bit, String id) {
        this.bit = bit;
        this.id = id;
    }

    public String id() {
        return id;
    }

    /** The C API's OFL_BACKEND_* value. */
    int code() {
        return bit;
    }

    static Backend of(int code) {
        for (Backend b : values()) {
            if (b.bit == code) return b;
        }
        throw new IllegalStateException("unknown backend code " + code);
    }

    static Set<Backend> fromBits(int bits) {
        Set<Backend> set = EnumSet.noneOf(Backend.class);
        for (Backend b : values()) {
            if ((bits & b.bit) != 0) set.add(b);
        }
        return set;
    }
}
