package dev.offload.cli;

/** Bad command-line usage: exit code 2, one line on stderr. */
final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message);
    }

    /** Bad input found as a lower layer's error (a missing input file): its message, kept as the cause for --debug. */
    UsageException(String message, Throwable cause) {
        super(message, cause);
    }
}
