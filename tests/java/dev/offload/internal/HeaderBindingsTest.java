package dev.offload.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The committed bindings were generated from the header as it is now (see jextract/regenerate.sh). */
class HeaderBindingsTest {
    static Path root() {
        return Path.of(System.getProperty("offload.basedir", "."));
    }

    @Test
    void bindingsWereRegeneratedAfterTheLastHeaderChange() throws Exception {
        byte[] header = Files.readAllBytes(root().resolve("native/include/offload.h"));
        String actual = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(header));
        String recorded = Files.readString(root().resolve("jextract/offload.h.sha256")).trim();
        assertEquals(recorded, actual,
                "native/include/offload.h changed since the bindings were generated: run jextract/regenerate.sh and commit");
    }

    @Test
    void everyFunctionOfTheHeaderHasABinding() throws Exception {
        String header = Files.readString(root().resolve("native/include/offload.h"));
        String bindings = Files.readString(root().resolve("java/dev/offload/internal/ffi/offload_h.java"));
        var m = java.util.regex.Pattern.compile("OFL_API [^(]*?\\b(ofl_[a-z_0-9]+)\\(").matcher(header);
        int count = 0;
        while (m.find()) {
            count++;
            assertTrue(bindings.contains("public static MemorySegment " + m.group(1) + "$address()"), m.group(1) + " has no binding");
        }
        assertTrue(count > 20, "found only " + count + " functions in the header");
    }
}
