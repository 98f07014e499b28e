package dev.offload.files;

import dev.offload.OffloadException;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * Paths as native code must see them. A Unix file name is bytes, not text: a name that is not valid
 * in the JVM's file-name encoding ({@code sun.jnu.encoding}; {@code mod\xe9l\xff.safetensors} under
 * UTF-8 or LANG=C) is held by a {@link Path} from a folder listing as its raw bytes, but its
 * {@code toString()} replaces them, and {@code Arena.allocateFrom(path.toString())} would hand native
 * code a name that does not exist. {@code toUri().getRawPath()} percent-encodes exactly the raw bytes
 * (sun.nio.fs.UnixUriUtils, whatever the encoding), so decoding the escapes gives them back, with no
 * reflection into the JDK.
 */
public final class NativePaths {
    private NativePaths() {}

    /** The absolute path's raw bytes, without a terminator; INVALID_ARGUMENT for a NUL byte (no Linux name has one). */
    public static byte[] rawBytes(Path file) {
        Path absolute = file.toAbsolutePath();
        String raw = absolute.toUri().getRawPath();
        if (raw.length() > 1 && raw.endsWith("/") && !absolute.toString().endsWith("/")) {
            raw = raw.substring(0, raw.length() - 1);  // toUri adds a slash after an existing folder's name
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%' && i + 2 < raw.length()) {
                out.write(Integer.parseInt(raw, i + 1, i + 3, 16));
                i += 2;
            } else {
                out.write(c);  // an unescaped character of a raw URI path is ASCII
            }
        }
        byte[] bytes = out.toByteArray();
        for (byte b : bytes) {
            if (b == 0) throw OffloadException.invalid("path " + file + " holds a NUL byte; no file can have that name");
        }
        return bytes;
    }

    /** The raw bytes, NUL-terminated, in {@code arena}: a {@code const char*} for offload.h. */
    public static MemorySegment cString(Path file, Arena arena) {
        byte[] raw = rawBytes(file);
        MemorySegment c = arena.allocate(raw.length + 1L);
        MemorySegment.copy(raw, 0, c, ValueLayout.JAVA_BYTE, 0, raw.length);
        c.set(ValueLayout.JAVA_BYTE, raw.length, (byte) 0);
        return c;
    }
}
