package dev.offload.cli;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress of long CLI work on stderr (stdout stays for results and JSON): on a terminal a bar
 * redrawn in place with the rate and the time left, at most ten times a second; otherwise a plain
 * line at most every two seconds, and one at the end. Off when {@code enabled} is false (the CLI
 * turns it off with --json: nothing but the JSON object is printed then).
 */
final class Progress {
    private final PrintStream err;
    private final String label;
    private final String unit;
    private final long total;
    private final boolean terminal;
    private final boolean enabled;
    private final long startNanos = System.nanoTime();
    private long done;
    private long lastPrintNanos;

    Progress(PrintStream err, String label, long total, String unit, boolean enabled) {
        this.err = err;
        this.label = label;
        this.total = Math.max(1, total);
        this.unit = unit;
        this.enabled = enabled;
        java.io.Console console = System.console();
        this.terminal = err == System.err && console != null && console.isTerminal();
        this.lastPrintNanos = startNanos;
    }

    /**
     * A ProgressListener for the offloader's long work (packing), one bar per task in MiB; off when
     * {@code enabled} is false.
     */
    static dev.offload.ProgressListener tasks(PrintStream err, boolean enabled) {
        return new dev.offload.ProgressListener() {
            private String task;
            private Progress bar;
            private long shown;

            @Override
            public void progress(String what, long done, long total) {
                if (!enabled) return;
                if (!what.equals(task)) {
                    if (bar != null) bar.finish();
                    task = what;
                    bar = new Progress(err, what, Math.max(1, total >> 20), "MiB", true);
                    shown = 0;
                }
                long mib = done >> 20;
                if (mib > shown || done == total) {
                    bar.advance(done == total ? Long.MAX_VALUE / 2 : mib - shown);
                    shown = mib;
                }
                if (done == total) {
                    bar.finish();
                    task = null;
                    bar = null;
                }
            }
        };
    }

    void advance(long n) {
        done = Math.min(total, done + n);
        if (!enabled) return;
        long now = System.nanoTime();
        long every = terminal ? 100_000_000L : 2_000_000_000L;
        if (now - lastPrintNanos >= every || done == total) {
            lastPrintNanos = now;
            print(now);
        }
    }

    /** Ends the line on a terminal; the last plain line was printed by the final advance. */
    void finish() {
        if (enabled && terminal) err.println();
    }

    private void print(long now) {
        double seconds = (now - startNanos) / 1e9;
        double rate = seconds > 0 ? done / seconds : 0;
        double eta = rate > 0 ? (total - done) / rate : Double.NaN;
        String text = String.format(Locale.ROOT, "%s: %d/%d %s (%.0f%%), %.1f %s/s, %s left", label, done, total, unit,
                100.0 * done / total, rate, unit, Double.isFinite(eta) ? String.format(Locale.ROOT, "%.1f s", eta) : "-");
        if (terminal) {
            int width = 24, filled = (int) (width * done / total);
            err.print("\r[" + "#".repeat(filled) + " ".repeat(width - filled) + "] " + text);
            err.flush();
        } else {
            err.println("offload: " + text);
        }
    }
}
