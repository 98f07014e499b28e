package dev.offload.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The command line after the command word: positional arguments, boolean flags and valued options
 * ({@code --budget 2GiB} or {@code --budget=2GiB}). Each command names the flags and options it
 * takes; anything else is a usage error that names it.
 */
final class Args {
    private final List<String> positional = new ArrayList<>();
    private final Set<String> flagsSeen = new java.util.HashSet<>();
    private final Map<String, String> options = new HashMap<>();
    private final Map<String, List<String>> repeated = new HashMap<>();  // every value of an option given more than once (--place)

    Args(List<String> args, Set<String> flags, Set<String> valued) {
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (!a.startsWith("--")) {
                positional.add(a);
                continue;
            }
            String name = a;
            String value = null;
            int eq = a.indexOf('=');
            if (eq > 0) {
                name = a.substring(0, eq);
                value = a.substring(eq + 1);
            }
            if (flags.contains(name)) {
                if (value != null) throw new UsageException(name + " takes no value");
                flagsSeen.add(name);
            } else if (valued.contains(name)) {
                if (value == null) {
                    if (i + 1 >= args.size()) throw new UsageException(name + " needs a value");
                    value = args.get(++i);
                }
                options.put(name, value);
                repeated.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
            } else {
                throw new UsageException("unknown option " + name);
            }
        }
    }

    boolean flag(String name) {
        return flagsSeen.contains(name);
    }

    String option(String name, String fallback) {
        return options.getOrDefault(name, fallback);
    }

    /** Every value given for an option, in order (none: empty). */
    List<String> options(String name) {
        return repeated.getOrDefault(name, List.of());
    }

    boolean has(String name) {
        return options.containsKey(name);
    }

    List<String> positional() {
        return positional;
    }
}
