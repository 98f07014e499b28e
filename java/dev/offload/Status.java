package dev.offload;

/** The status codes of the native core (offload.h), by name. */
public enum Status {
    OK(0),
    INVALID_ARGUMENT(1),
    OUT_OF_DEVICE_MEMORY(2),
    OUT_OF_HOST_MEMORY(3),
    NOT_SUPPORTED(4),
    BACKEND_UNAVAILABLE(5),
    IO(6),
    CLOSED(7),
    INTERNAL(8),
    NOT_READY(9),
    DEVICE(10),
    UNKNOWN(-1);

    private final int code;

    Status(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static Status of(int code) {
        for (Status s : values()) {
            if (s.code == code) return s;
        }
        return UNKNOWN;
    }
}
