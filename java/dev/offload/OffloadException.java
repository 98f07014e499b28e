package dev.offload;

/**
 * The one exception of offload: a status (from the native core, or the same vocabulary for errors
 * found in Java) and a message that names the thing that failed, the rule and the numbers.
 */
public class OffloadException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final Status status;

    public OffloadException(Status status, String message) {
        super(message);
        this.status = status;
    }

    public OffloadException(Status status, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    public Status status() {
        return status;
    }

    public static OffloadException invalid(String message) {
        return new OffloadException(Status.INVALID_ARGUMENT, message);
    }
}
