package dev.offload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SizeTest {
    @Test
    void parsesBinaryDecimalAndPlainSizes() {
        assertEquals(512L << 20, Size.parse("512MiB"));
        assertEquals(2L << 30, Size.parse("2GiB"));
        assertEquals(2L << 30, Size.parse("2g"));
        assertEquals(1_500_000_000L, Size.parse("1.5GB"));
        assertEquals(1536L << 20, Size.parse("1.5GiB"));
        assertEquals(1048576L, Size.parse("1048576"));
        assertEquals(7L, Size.parse(" 7 B "));
        assertEquals(7L, Size.parse("7.0"));
        assertEquals(0L, Size.parse("0.0"));
        assertEquals(1181116006L, Size.parse("1.1GiB"));  // a fraction of a larger unit rounds down to bytes
        assertEquals(512L, Size.parse("0.5KiB"));
        assertEquals(Size.gib(12), 12L << 30);
    }

    @Test
    void rejectsWhatIsNotASize() {
        // a fraction of a byte, or a non-zero size under one byte (which would read as 0, "the default")
        for (String bad : new String[] {"", "-1", "12XB", "GiB", "1e9", "99999999999TiB", "0.6", "1.5", "1.5B", "0.0001KiB"}) {
            OffloadException e = assertThrows(OffloadException.class, () -> Size.parse(bad));
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
        }
    }

    @Test
    void unitConstructorsRefuseNegativeAndOverflowingCounts() {
        assertEquals(3L << 30, Size.gib(3));
        for (org.junit.jupiter.api.function.Executable bad : new org.junit.jupiter.api.function.Executable[] {
                () -> Size.gib(-1), () -> Size.mib(Long.MAX_VALUE), () -> Size.kib(Long.MIN_VALUE)}) {
            assertEquals(Status.INVALID_ARGUMENT, assertThrows(OffloadException.class, bad).status());
        }
    }

    @Test
    void formatsForPeople() {
        assertEquals("100 B", Size.format(100));
        assertEquals("1.50 GiB", Size.format(1536L << 20));
    }
}
