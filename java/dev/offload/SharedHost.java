package dev.offload;

import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * A named shared host region ({@link OffloadConfig#sharedHost()}): a PINNED component's packed copy
 * kept in a shared-memory file, {@code FOLDER/offload-NAME.COMPONENT.LAYOUT} (LAYOUT: 8 hex digits of the packed layout's hash, so another grouping gets a region of its own), that every process on the node
 * opening the same model under the same name maps instead of packing its own (memory/SharedHostRegion:
 * the header tying it to the source files and the layout, the rebuild of a stale or foreign one, the
 * reservation before packing). Host memory for N processes is one copy plus a constant per process.
 *
 * @param name          the region's name: letters, digits, '.', '_', '-' (1 to 100 characters, not
 *                      starting with '.' or '-')
 * @param folder        where the region lives: {@code /dev/shm} by default (a tmpfs: memory, not disk)
 * @param removeAtClose whether the last process to close it removes it ({@code --shared-host-remove});
 *                      by default it stays for the next process
 */
public record SharedHost(String name, Path folder, boolean removeAtClose) {
    /** Where regions live unless told otherwise. */
    public static final Path DEFAULT_FOLDER = Path.of("/dev/shm");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,99}");

    public SharedHost {
        if (name == null || !NAME.matcher(name).matches()) {
            throw OffloadException.invalid("shared host region name '" + name + "': use 1 to 100 letters, digits, '.', '_' or '-',"
                    + " not starting with '.' or '-'");
        }
        if (folder == null) throw OffloadException.invalid("shared host region '" + name + "': the folder is null (/dev/shm by default)");
    }

    /** A region of this name in {@link #DEFAULT_FOLDER}, left in place when the last process closes it. */
    public static SharedHost named(String name) {
        return new SharedHost(name, DEFAULT_FOLDER, false);
    }

    /** The same region in another folder (a tmpfs of the caller's; tests). */
    public SharedHost in(Path otherFolder) {
        return new SharedHost(name, otherFolder, removeAtClose);
    }

    /** The same region, removed by the last process to close it. */
    public SharedHost removedAtClose() {
        return new SharedHost(name, folder, true);
    }
}
