package dev.offload;

/**
 * Hears the progress of long work an offloader does for a caller ({@link OffloadConfig#progress}):
 * today, packing a component's weights into host memory ("packing transformer", bytes done of the
 * component's total, once per group). Called on the registering thread; must not call back into
 * the offloader. The CLI draws it as a progress bar on stderr.
 */
@FunctionalInterface
public interface ProgressListener {
    void progress(String task, long done, long total);
}
