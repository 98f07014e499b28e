package dev.offload.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.offload.OffloadException;
import dev.offload.Status;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The conformance suite on the host backend, plus what only the host backend does. */
class HostConformanceTest extends BackendConformance {
    @Override
    String device() {
        return "host";
    }

    @Test
    void wrappingACudaStreamIsNotSupportedOnHost() {
        OffloadException e = assertThrows(OffloadException.class, () -> runtime.wrapStream(MemorySegment.ofAddress(0x1000)));
        assertEquals(Status.NOT_SUPPORTED, e.status());
    }

    @Test
    void hostStreamsHaveNoNativeHandle() {
        try (Stream s = runtime.createStream(StreamKind.COMPUTE)) {
            assertEquals(MemorySegment.NULL, s.nativeHandle());
        }
    }
}
