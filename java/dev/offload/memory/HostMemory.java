package dev.offload.memory;

import dev.offload.OffloadException;
import dev.offload.Size;
import dev.offload.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.function.LongSupplier;

/**
 * How much host memory the system can still give: {@code MemAvailable} of {@code /proc/meminfo}
 * (Linux's estimate of what can be allocated without swapping), read each time it is asked.
 *
 * <p>The guard: a component's pinned copy is made only when its bytes plus {@link #MARGIN_BYTES}
 * fit in what is available; otherwise registration fails at once with OUT_OF_HOST_MEMORY and the
 * numbers, rather than the process being killed later by the OOM killer. The margin leaves room for
 * the JVM, the native core and the rest of the system. Where {@code /proc/meminfo} cannot be read
 * (not Linux) the guard does not apply. The system property {@value #AVAILABLE_PROPERTY} (bytes)
 * overrides the reading, for tests and for users who want a lower ceiling.
 */
public final class HostMemory {
    /** System property: the available host bytes to assume instead of reading /proc/meminfo. */
    public static final String AVAILABLE_PROPERTY = "offload.hostAvailableBytes";
    /** Host bytes the guard keeps free beyond a component's copy. */
    public static final long MARGIN_BYTES = 256L << 20;
    /** Test hook: when set, the available bytes (before the property and /proc). */
    static volatile LongSupplier override;

    private HostMemory() {}

    /** Available host bytes, or empty when they cannot be known here. */
    public static OptionalLong available() {
        LongSupplier o = override;
        if (o != null) return OptionalLong.of(o.getAsLong());
        String property = System.getProperty(AVAILABLE_PROPERTY);
        if (property != null) {
            try {
                return OptionalLong.of(Long.parseLong(property.trim()));
            } catch (NumberFormatException e) {
                throw OffloadException.invalid(AVAILABLE_PROPERTY + " must be a number of bytes, got '" + property + "'");
            }
        }
        return memAvailable(Path.of("/proc/meminfo"));
    }

    /** MemAvailable of a meminfo file, in bytes; empty when the file or the line is missing. */
    static OptionalLong memAvailable(Path meminfo) {
        try {
            for (String line : Files.readAllLines(meminfo)) {
                if (!line.startsWith("MemAvailable:")) continue;
                String[] parts = line.substring("MemAvailable:".length()).trim().split("\\s+");
                long value = Long.parseLong(parts[0]);
                return OptionalLong.of(parts.length > 1 && parts[1].equalsIgnoreCase("kB") ? value * 1024 : value);
            }
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
        return OptionalLong.empty();
    }

    /**
     * Throws OUT_OF_HOST_MEMORY, naming the component and both numbers, when {@code bytes} plus the
     * margin do not fit in the available host memory.
     */
    public static void require(String component, long bytes) {
        OptionalLong available = available();
        if (available.isEmpty()) return;
        long free = available.getAsLong();
        if (bytes > free - MARGIN_BYTES) {
            throw new OffloadException(Status.OUT_OF_HOST_MEMORY, "component '" + component + "': its host copy needs " + bytes
                    + " bytes (" + Size.format(bytes) + ") plus a margin of " + Size.format(MARGIN_BYTES) + ", but only " + free
                    + " bytes (" + Size.format(free) + ") of host memory are available (MemAvailable); refused before pinning "
                    + "rather than being killed later. Free host memory, or stream the weights from disk (OffloadConfig.source(DISK), --source disk) "
                    + "instead of holding a whole pinned copy");
        }
    }
}
