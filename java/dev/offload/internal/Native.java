package dev.offload.internal;

import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.internal.ffi.offload_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Helpers around the generated bindings: they turn statuses into
 * {@link OffloadException}s carrying the native message, and reads C strings.
 */
public final class Native {
    private Native() {}

    /** Throws when status is not OFL_OK; the message is "what: native message". */
    public static void check(int status, String what) {
        if (status != 0) {
            throw new OffloadException(Status.of(status), what + ": " + lastError());
        }
    }

    public static String lastError() {
        return string(offload_h.ofl_last_error());
    }

    public static String version() {
        NativeLibrary.load();
        return string(offload_h.ofl_version());
    }

    public static int compiledBackends() {
        NativeLibrary.load();
        return offload_h.ofl_compiled_backends();
    }

    public static String statusName(int status) {
        return string(offload_h.ofl_status_name(status));
    }

    static String string(MemorySegment cString) {
        return cString.equals(MemorySegment.NULL) ? "" : cString.reinterpret(Long.MAX_VALUE).getString(0);
    }

    /**
     * Calls a native function whose result is one pointer out-parameter: {@code call} gets the
     * out-parameter's address and returns the status; "what" names the call in errors.
     */
    public static MemorySegment pointerResult(java.util.function.ToIntFunction<MemorySegment> call, String what) {
        try (Arena temp = Arena.ofConfined()) {
            MemorySegment out = temp.allocate(ValueLayout.ADDRESS);
            check(call.applyAsInt(out), what);
            return pointer(out);
        }
    }

    /** Reads a pointer out-parameter. */
    public static MemorySegment pointer(MemorySegment out) {
        return out.get(ValueLayout.ADDRESS, 0);
    }
}
