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
        assertEquals(Size.gib(12), 12L << 30);
    }

    @Test
    void rejectsWhatIsNotASize() {
        for (String bad : new String[] {"", "-1", "12XB", "GiB", "1e9", "99999999999TiB"}) {
            OffloadException e = assertThrows(OffloadException.class, () -> Size.parse(bad));
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
        }
    }

    @Test
    void formatsForPeople() {
        assertEquals("100 B", Size.format(100));
        assertEquals("1.50 GiB", Size.format(1536L << 20));
    }
}
