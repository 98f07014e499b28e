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

    /**
     * An IO error: {@code context} (which names the file and the thing), then why in words. Java's
     * file exceptions often carry only the path as their message ("NoSuchFileException: /a/b").
     */
    public static OffloadException io(String context, java.io.IOException e) {
        return new OffloadException(Status.IO, context + ": " + reason(e), e);
    }

    /** Why an IO operation failed, in words: "no such file or folder", "permission denied", or the exception's own text. */
    public static String reason(java.io.IOException e) {
        if (e instanceof java.nio.file.NoSuchFileException) return "no such file or folder";
        if (e instanceof java.nio.file.AccessDeniedException) return "permission denied";
        if (e instanceof java.nio.file.NotDirectoryException) return "not a folder";
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() != null) return f.getReason();
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }
}
