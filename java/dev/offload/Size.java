package dev.offload;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte sizes: constructors for code ({@code Size.gib(12)}) and a parser for people
 * ({@code "512MiB"}, {@code "2GiB"}, {@code "1.5GB"}, plain bytes). Binary units (KiB, MiB, GiB,
 * TiB) are powers of 1024; decimal ones (KB, MB, GB, TB) powers of 1000; "K", "M", "G", "T" alone are
 * taken as binary, as most tools do.
 */
public final class Size {
    private static final Pattern FORM = Pattern.compile("\\s*([0-9]+(?:\\.[0-9]+)?)\\s*([a-zA-Z]*)\\s*");

    private Size() {}

    public static long kib(long n) { return times(n, 1L << 10, "KiB"); }
    public static long mib(long n) { return times(n, 1L << 20, "MiB"); }
    public static long gib(long n) { return times(n, 1L << 30, "GiB"); }

    /** n units in bytes: INVALID_ARGUMENT for a negative count or one past 2^63 - 1 bytes. */
    private static long times(long n, long unit, String name) {
        if (n < 0) throw OffloadException.invalid("size: " + n + " " + name + " is negative");
        if (n > Long.MAX_VALUE / unit) throw OffloadException.invalid("size: " + n + " " + name + " is larger than " + Long.MAX_VALUE + " bytes");
        return n * unit;
    }

    /** Parses a size; throws an INVALID_ARGUMENT OffloadException naming the text and the rule. */
    public static long parse(String text) {
        if (text == null) throw OffloadException.invalid("size is missing");
        Matcher m = FORM.matcher(text);
        if (!m.matches()) {
            throw OffloadException.invalid("size '" + text + "': expected a number with an optional unit, like 512MiB, 2GiB or 1048576");
        }
        long unit = switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "", "b" -> 1L;
            case "k", "kib" -> 1L << 10;
            case "m", "mib" -> 1L << 20;
            case "g", "gib" -> 1L << 30;
            case "t", "tib" -> 1L << 40;
            case "kb" -> 1_000L;
            case "mb" -> 1_000_000L;
            case "gb" -> 1_000_000_000L;
            case "tb" -> 1_000_000_000_000L;
            default -> throw OffloadException.invalid("size '" + text + "': unknown unit '" + m.group(2)
                    + "' (use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)");
        };
        java.math.BigDecimal bytes = new java.math.BigDecimal(m.group(1)).multiply(java.math.BigDecimal.valueOf(unit));
        if (bytes.compareTo(java.math.BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw OffloadException.invalid("size '" + text + "' is larger than " + Long.MAX_VALUE + " bytes");
        }
        // A fraction of a larger unit rounds down to whole bytes (1.1GiB); a byte count must be whole,
        // and a size that is not zero must come to at least a byte (0 often means "the default").
        if (unit == 1 && bytes.stripTrailingZeros().scale() > 0) {
            throw OffloadException.invalid("size '" + text + "' is not a whole number of bytes");
        }
        long whole = bytes.setScale(0, java.math.RoundingMode.FLOOR).longValueExact();
        if (whole == 0 && bytes.signum() > 0) throw OffloadException.invalid("size '" + text + "' is less than one byte");
        return whole;
    }

    /** "1.50 GiB", "512.00 MiB", "100 B". */
    public static String format(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = 0;
        while (Math.abs(v) >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.2f %s", v, units[u]);
    }
}
