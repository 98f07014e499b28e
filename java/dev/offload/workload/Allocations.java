package dev.offload.workload;

import java.util.ArrayList;
import java.util.List;

/**
 * What a workload's constructor has allocated so far. When a later allocation fails (a budget too
 * small for the last buffer), {@link #undo} closes the earlier ones in reverse order, so a failed
 * constructor leaves nothing behind.
 */
final class Allocations {
    private final List<AutoCloseable> made = new ArrayList<>();

    <T extends AutoCloseable> T keep(T resource) {
        made.add(resource);
        return resource;
    }

    /** Closes everything kept, newest first; returns {@code failure} with any close errors suppressed in it. */
    RuntimeException undo(RuntimeException failure) {
        for (int i = made.size() - 1; i >= 0; i--) {
            try {
                made.get(i).close();
            } catch (Exception e) {
                failure.addSuppressed(e);
            }
        }
        made.clear();
        return failure;
    }
}
