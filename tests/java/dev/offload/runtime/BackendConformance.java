package dev.offload.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.offload.OffloadException;
import dev.offload.Status;
import dev.offload.internal.ffi.offload_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The semantics both backends must share, written once: HostConformanceTest and
 * CudaConformanceTest run it against each backend present (cuda is skipped by assumption where no
 * GPU answers). Every test checks values: random data compared byte for byte, poisoned outputs.
 */
abstract class BackendConformance {
    static final long BUDGET = 64L << 20;

    /** "host" or "cuda". */
    abstract String device();

    DeviceRuntime runtime;
    Arena arena;

    /** Why this backend cannot run here, or null when it can (each test is then skipped, not failed). */
    String unavailableBecause() {
        return null;
    }

    @BeforeEach
    void open() {
        String why = unavailableBecause();
        assumeTrue(why == null, why);
        runtime = DeviceRuntime.open(device(), BUDGET);
        arena = Arena.ofShared();
    }

    @AfterEach
    void close() {
        if (runtime == null) return;
        pinnedBuffers.forEach(PinnedBuffer::close);
        runtime.close();
        arena.close();
    }

    private final java.util.List<PinnedBuffer> pinnedBuffers = new java.util.ArrayList<>();

    /**
     * Pinned host memory for device-to-host copies: a copy into pageable memory may make the caller
     * wait for the stream on cuda, which would hide the ordering these tests check.
     */
    MemorySegment pinned(long n) {
        PinnedBuffer b = runtime.allocatePinned(n);
        pinnedBuffers.add(b);
        return b.segment();
    }

    static byte[] random(int n, long seed) {
        byte[] data = new byte[n];
        new Random(seed).nextBytes(data);
        return data;
    }

    static byte[] bytes(MemorySegment s, long n) {
        return s.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 255, 4097, (1 << 20) + 3})
    void copiesRoundTripRandomDataBitExact(int n) {
        byte[] data = random(n, n);
        try (PinnedBuffer pinned = runtime.allocatePinned(n);
             DeviceBuffer a = runtime.allocateDevice(n);
             DeviceBuffer b = runtime.allocateDevice(n + 64);
             Stream stream = runtime.createStream(StreamKind.COPY)) {
            MemorySegment.copy(data, 0, pinned.segment(), ValueLayout.JAVA_BYTE, 0, n);
            MemorySegment out = pinned(n);
            out.fill((byte) 0x5A);
            stream.fill(b, 0, n + 64, (byte) 0xEE);
            stream.copyToDevice(pinned.segment(), a, 0, n);
            stream.copyOnDevice(a, 0, b, 64, n);
            stream.copyToHost(b, 64, out, n);
            stream.synchronize();
            assertArrayEquals(data, bytes(out, n));

            // The bytes in front of the copied range kept the fill: the copy went exactly where asked.
            MemorySegment head = pinned(64);
            stream.copyToHost(b, 0, head, 64);
            stream.synchronize();
            for (byte x : bytes(head, 64)) assertEquals((byte) 0xEE, x);
        }
    }

    @Test
    void pageableHostMemoryCopiesToo() {
        int n = 300_001;
        byte[] data = random(n, 7);
        MemorySegment src = arena.allocate(n);
        MemorySegment.copy(data, 0, src, ValueLayout.JAVA_BYTE, 0, n);
        MemorySegment out = pinned(n);
        try (DeviceBuffer d = runtime.allocateDevice(n); Stream s = runtime.createStream(StreamKind.COMPUTE)) {
            s.copyToDevice(src, d, 0, n);
            s.copyToHost(d, 0, out, n);
            s.synchronize();
            assertArrayEquals(data, bytes(out, n));
        }
    }

    @Test
    void copyQueuedBehindAnEventWaitSeesTheSlowWorkOnTheOtherStream() {
        int n = 2 << 20;
        byte[] data = random(n, 99);
        try (PinnedBuffer src = runtime.allocatePinned(n);
             DeviceBuffer shared = runtime.allocateDevice(n);
             Stream producer = runtime.createStream(StreamKind.COMPUTE);
             Stream consumer = runtime.createStream(StreamKind.COPY);
             Event produced = runtime.createEvent(false)) {
            MemorySegment.copy(data, 0, src.segment(), ValueLayout.JAVA_BYTE, 0, n);
            MemorySegment out = pinned(n);
            out.fill((byte) 0x11);
            producer.fill(shared, 0, n, (byte) 0);
            producer.synchronize();

            producer.delay(Duration.ofMillis(400));
            producer.copyToDevice(src.segment(), shared, 0, n);
            produced.record(producer);
            consumer.waitFor(produced);   // must not block this thread
            consumer.copyToHost(shared, 0, out, n);
            assertFalse(produced.query(), "the producer is still inside its 400 ms delay");

            consumer.synchronize();
            assertTrue(produced.query());
            assertArrayEquals(data, bytes(out, n), "the consumer read the buffer before the producer wrote it");
        }
    }

    @Test
    void eventWaitUsesTheRecordThatExistedWhenTheWaitWasQueued() {
        int n = 4096;
        try (DeviceBuffer d = runtime.allocateDevice(n);
             Stream a = runtime.createStream(StreamKind.COMPUTE);
             Stream b = runtime.createStream(StreamKind.COPY);
             Event e = runtime.createEvent(false)) {
            MemorySegment out = pinned(n);
            b.waitFor(e);                 // never recorded: complete, b is not held
            b.fill(d, 0, n, (byte) 3);
            b.copyToHost(d, 0, out, n);
            b.synchronize();
            for (byte x : bytes(out, n)) assertEquals(3, x);

            a.delay(Duration.ofMillis(200));
            e.record(a);
            b.waitFor(e);
            b.fill(d, 0, n, (byte) 4);
            e.record(b);                  // a later record does not release the earlier wait
            b.copyToHost(d, 0, out, n);
            b.synchronize();
            assertTrue(e.query());
            for (byte x : bytes(out, n)) assertEquals(4, x);
        }
    }

    @Test
    void eventsQuerySynchronizeAndTime() {
        try (Stream s = runtime.createStream(StreamKind.COMPUTE);
             Event start = runtime.createEvent(true);
             Event end = runtime.createEvent(true);
             Event untimed = runtime.createEvent(false)) {
            assertTrue(start.query(), "an event never recorded is complete");
            OffloadException neverRecorded = assertThrows(OffloadException.class, () -> start.elapsedMillis(end));
            assertEquals(Status.INVALID_ARGUMENT, neverRecorded.status());

            start.record(s);
            s.delay(Duration.ofMillis(150));
            end.record(s);
            assertFalse(end.query());
            OffloadException pending = assertThrows(OffloadException.class, () -> start.elapsedMillis(end));
            assertEquals(Status.NOT_READY, pending.status());
            end.synchronize();
            assertTrue(end.query());
            float ms = start.elapsedMillis(end);
            assertTrue(ms >= 140 && ms < 5000, "elapsed " + ms + " ms for a 150 ms delay");

            untimed.record(s);
            untimed.synchronize();
            assertEquals(Status.INVALID_ARGUMENT, assertThrows(OffloadException.class, () -> start.elapsedMillis(untimed)).status());
        }
    }

    @Test
    void budgetIsEnforcedAndAFailedAllocationChangesNothing() {
        try (DeviceRuntime small = DeviceRuntime.open(device(), 1 << 20)) {
            DeviceBuffer a = small.allocateDevice(768 << 10);
            OffloadException over = assertThrows(OffloadException.class, () -> small.allocateDevice(512 << 10));
            assertEquals(Status.OUT_OF_DEVICE_MEMORY, over.status());
            assertTrue(over.getMessage().contains("524288") && over.getMessage().contains("1048576"), over.getMessage());
            DeviceInfo info = small.info();
            assertEquals(768 << 10, info.usedBytes());
            assertEquals(1 << 20, info.budgetBytes());
            a.close();
            assertEquals(0, small.info().usedBytes());
            assertEquals(768 << 10, small.info().peakBytes());
            try (DeviceBuffer whole = small.allocateDevice(1 << 20)) {
                assertEquals(1 << 20, whole.byteSize());
            }
        }
    }

    @Test
    void badDeviceNamesAreClearErrors() {
        for (String name : new String[] {"tpu", "", "cuda:x", "cuda:-1", "host:x", "host:-1"}) {  // host:N is an emulated device (issue 20)
            OffloadException e = assertThrows(OffloadException.class, () -> DeviceRuntime.open(name, 0));
            assertTrue(e.status() == Status.INVALID_ARGUMENT || e.status() == Status.BACKEND_UNAVAILABLE, name + ": " + e.status());
            assertTrue(e.getMessage().contains("'" + name + "'"), e.getMessage());
        }
        assertEquals(Status.INVALID_ARGUMENT, assertThrows(OffloadException.class, () -> DeviceRuntime.open(null, 0)).status());
        assertEquals(Status.INVALID_ARGUMENT, assertThrows(OffloadException.class, () -> DeviceRuntime.open(device(), -1)).status());
    }

    @Test
    void closedObjectsSayWhatTheyAreAndCloseTwiceIsHarmless() {
        Stream s = runtime.createStream(StreamKind.COPY);
        DeviceBuffer d = runtime.allocateDevice(4096);
        PinnedBuffer p = runtime.allocatePinned(4096);
        Event e = runtime.createEvent(false);
        MemorySegment staleStream = s.handle();
        s.close();
        s.close();
        d.close();
        p.close();
        e.close();
        OffloadException closed = assertThrows(OffloadException.class, s::synchronize);
        assertEquals(Status.CLOSED, closed.status());
        assertTrue(closed.getMessage().contains("copy stream is closed"), closed.getMessage());
        assertTrue(assertThrows(OffloadException.class, d::devicePointer).getMessage().contains("device buffer (4096 bytes)"));
        assertEquals(Status.CLOSED, assertThrows(OffloadException.class, p::segment).status());
        assertEquals(Status.CLOSED, assertThrows(OffloadException.class, e::query).status());
        // The native side refuses the stale handle as well: a double destroy is an error, not a crash.
        assertEquals(offload_h.OFL_ERR_CLOSED(), offload_h.ofl_stream_destroy(staleStream));
        assertEquals(offload_h.OFL_ERR_INVALID_ARGUMENT(), offload_h.ofl_stream_destroy(MemorySegment.NULL));
        runtime.close();
        assertEquals(Status.CLOSED, assertThrows(OffloadException.class, () -> runtime.allocateDevice(16)).status());
    }

    @Test
    void objectsOutliveTheirRuntimeHandle() {
        int n = 8192;
        byte[] data = random(n, 5);
        DeviceRuntime rt = DeviceRuntime.open(device(), 1 << 20);
        try (DeviceBuffer d = rt.allocateDevice(n); Stream s = rt.createStream(StreamKind.COPY)) {
            rt.close();
            MemorySegment src = arena.allocate(n);
            MemorySegment.copy(data, 0, src, ValueLayout.JAVA_BYTE, 0, n);
            MemorySegment out = pinned(n);
            s.copyToDevice(src, d, 0, n);
            s.copyToHost(d, 0, out, n);
            s.synchronize();
            assertArrayEquals(data, bytes(out, n));
        }
    }

    @Test
    void badArgumentsAreRefusedBeforeAnythingIsQueued() {
        try (DeviceBuffer d = runtime.allocateDevice(4096); Stream s = runtime.createStream(StreamKind.COPY)) {
            MemorySegment host = arena.allocate(8192);
            assertInvalid(() -> runtime.allocateDevice(-1));
            assertInvalid(() -> runtime.allocateDevice(0));
            assertInvalid(() -> runtime.allocatePinned(-5));
            assertInvalid(() -> s.copyToDevice(host, d, 1, 4096));
            assertInvalid(() -> s.copyToDevice(host, d, -1, 16));
            assertInvalid(() -> s.copyToDevice(host, d, 0, -16));
            assertInvalid(() -> s.copyToDevice(host.asSlice(0, 100), d, 0, 200));
            assertInvalid(() -> s.copyToDevice(MemorySegment.ofArray(new byte[16]), d, 0, 16));
            assertInvalid(() -> s.copyToHost(d, 0, null, 16));
            assertInvalid(() -> s.fill(d, 4000, 200, (byte) 1));
            assertInvalid(() -> s.delay(Duration.ofMillis(-1)));
            // Natively: a device pointer outside every live buffer, NULL pointers, unknown kinds.
            MemorySegment outside = MemorySegment.ofAddress(d.devicePointer().address() + 4096);
            assertEquals(offload_h.OFL_ERR_INVALID_ARGUMENT(),
                    offload_h.ofl_copy_async(s.handle(), outside, host, 16, offload_h.OFL_COPY_HOST_TO_DEVICE()));
            assertEquals(offload_h.OFL_ERR_INVALID_ARGUMENT(),
                    offload_h.ofl_copy_async(s.handle(), d.devicePointer(), MemorySegment.NULL, 16, offload_h.OFL_COPY_HOST_TO_DEVICE()));
            assertEquals(offload_h.OFL_ERR_INVALID_ARGUMENT(),
                    offload_h.ofl_copy_async(s.handle(), d.devicePointer(), host, 16, 42));
            assertEquals(offload_h.OFL_ERR_INVALID_ARGUMENT(),
                    offload_h.ofl_stream_create(runtime.handle(), 9, arena.allocate(ValueLayout.ADDRESS)));
            s.synchronize();
        }
    }

    static void assertInvalid(org.junit.jupiter.api.function.Executable call) {
        OffloadException e = assertThrows(OffloadException.class, call);
        assertEquals(Status.INVALID_ARGUMENT, e.status(), e.getMessage());
    }

    @Test
    void freeingMemoryWaitsForQueuedWorkThatUsesIt() {
        int n = 1 << 20;
        Stream s = runtime.createStream(StreamKind.COPY);
        Event done = runtime.createEvent(false);
        PinnedBuffer src = runtime.allocatePinned(n);
        DeviceBuffer dst = runtime.allocateDevice(n);
        s.delay(Duration.ofMillis(200));
        s.copyToDevice(src.segment(), dst, 0, n);
        done.record(s);
        assertFalse(done.query());
        dst.close();  // as cudaFree does, waits for the device before the memory goes
        assertTrue(done.query(), "the copy into the freed buffer had finished before the free returned");
        src.close();
        s.close();
        done.close();
    }

    @Test
    void infoDescribesTheDevice() {
        DeviceInfo info = runtime.info();
        assertEquals(device(), info.backend().id());
        assertTrue(info.compiledBackends().contains(Backend.HOST));
        assertTrue(info.compiledBackends().contains(info.backend()));
        assertEquals(BUDGET, info.budgetBytes());
        assertTrue(info.totalBytes() > 0 && info.freeBytes() > 0 && info.freeBytes() <= info.totalBytes());
        assertFalse(info.name().isBlank());
    }

    @Test
    void bandwidthProbeVerifiesItsData() {
        try (PinnedBuffer p = runtime.allocatePinned(4 << 20)) {
            CopyBandwidth.Result r = CopyBandwidth.hostToDevice(runtime, p.segment(), 3);
            assertEquals(4 << 20, r.bytes());
            assertEquals(3, r.samplesGbps().length);
            assertTrue(r.medianGbps() > 0);
        }
    }

    @Test
    void aHostFunctionRunsInStreamOrder() {
        // The host function reads what the copy before it brought back and stamps a pinned word;
        // the copy after it must see the stamp, and everything waits behind a 300 ms delay.
        int n = 4096;
        byte[] data = random(n, 17);
        MemorySegment src = pinned(n);
        MemorySegment back = pinned(n);
        MemorySegment stamp = pinned(n);
        MemorySegment.copy(data, 0, src, ValueLayout.JAVA_BYTE, 0, n);
        back.fill((byte) 0);
        stamp.fill((byte) 0);
        java.util.concurrent.atomic.AtomicLong seen = new java.util.concurrent.atomic.AtomicLong(-1);
        try (DeviceBuffer d = runtime.allocateDevice(n);
             Stream s = runtime.createStream(StreamKind.COMPUTE);
             HostFunction fn = new HostFunction("stamp", arg -> {
                 seen.set(back.get(ValueLayout.JAVA_LONG, 0) ^ arg);          // the copy before it is done
                 stamp.set(ValueLayout.JAVA_LONG, 0, 0x5EED_0000_0000_0001L);   // work after it sees this
             })) {
            s.delay(Duration.ofMillis(300));
            s.copyToDevice(src, d, 0, n);
            s.copyToHost(d, 0, back, n);
            fn.launch(s, 0x1234);
            s.copyToDevice(stamp, d, 0, 8);
            s.copyToHost(d, 0, back, n);
            assertEquals(-1, seen.get(), "the host function ran before the stream reached it");
            s.synchronize();
            fn.check();
            assertEquals(src.get(ValueLayout.JAVA_LONG, 0) ^ 0x1234, seen.get());
            assertEquals(0x5EED_0000_0000_0001L, back.get(ValueLayout.JAVA_LONG, 0));
            assertArrayEquals(java.util.Arrays.copyOfRange(data, 8, n), java.util.Arrays.copyOfRange(bytes(back, n), 8, n));
        }
    }

    /**
     * Closing a host function whose runs are still queued (behind a delay, on two streams) waits
     * for them instead of freeing the stub a stream is about to call (that was a SIGSEGV); launching
     * after close is CLOSED; closing twice is a no-op.
     */
    @Test
    void closingAHostFunctionWithRunsQueuedWaitsForThem() {
        java.util.concurrent.atomic.AtomicInteger ran = new java.util.concurrent.atomic.AtomicInteger();
        try (Stream a = runtime.createStream(StreamKind.COMPUTE); Stream b = runtime.createStream(StreamKind.COMPUTE)) {
            for (int i = 0; i < 12; i++) {
                HostFunction fn = new HostFunction("late", arg -> {
                    Thread.sleep(1);
                    ran.incrementAndGet();
                });
                a.delay(Duration.ofMillis(5));
                b.delay(Duration.ofMillis(3));
                fn.launch(a, i);
                fn.launch(b, i);
                fn.launch(a, i);
                fn.close();
                assertEquals(3 * (i + 1), ran.get(), "close waited for every queued run");
                assertEquals(Status.CLOSED, assertThrows(OffloadException.class, () -> fn.launch(a, 0)).status());
                fn.close();
                fn.check();
            }
        }
    }

    @Test
    void aFailingHostFunctionIsReportedNotFatal() {
        try (Stream s = runtime.createStream(StreamKind.COMPUTE);
             HostFunction fn = new HostFunction("broken", arg -> {
                 throw new IllegalStateException("bad argument " + arg);
             })) {
            fn.launch(s, 7);
            fn.launch(s, 8);
            s.synchronize();  // the stream goes on: a Java exception never unwinds into native code
            OffloadException e = assertThrows(OffloadException.class, fn::check);
            assertTrue(e.getMessage().contains("broken") && e.getMessage().contains("bad argument 7"), e.getMessage());
        }
        try (Stream s = runtime.createStream(StreamKind.COMPUTE)) {
            assertInvalid(() -> s.launchHostFunc(MemorySegment.NULL, MemorySegment.NULL));
        }
    }
}
