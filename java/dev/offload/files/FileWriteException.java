package dev.offload.files;

import dev.offload.OffloadException;
import dev.offload.Status;

/**
 * Writing a file failed at run time (a full disk, a read-only or vanished folder, an IO error): the
 * message names the file, what it is and why. Nothing was left at the file's name (an earlier file
 * there is unchanged) and no temporary remains. The CLI exits 1 for it: a fault, not bad input.
 */
public final class FileWriteException extends OffloadException {
    private static final long serialVersionUID = 1L;

    public FileWriteException(String message, Throwable cause) {
        super(Status.IO, message, cause);
    }
}
