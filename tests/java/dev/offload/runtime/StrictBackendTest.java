package dev.offload.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.offload.OffloadException;
import dev.offload.Status;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * CUDA's rules, which the host backend keeps too (docs/ENGINE.md, "the strict host backend"), from
 * Java, on each backend present (cuda is skipped by assumption where no GPU answers). The native
 * side of the same rules, C host functions included, is tests/native/test_strict_host.cpp.
 */
class StrictBackendTest {
    private static DeviceRuntime open(String device) {
        if (device.equals("cuda")) {
            String why = dev.offload.TestBackends.cudaUnavailableBecause();
            assumeTrue(why == null, why);
        }
        return DeviceRuntime.open(device, 64L << 20);
    }

    @ParameterizedTest
    @ValueSource(strings = {"host", "cuda"})
    void aHostReadOrWriteOfADeviceAddressFailsAtOnceAndTheJvmGoesOn(String device) {
        assumeTrue(device.equals("host"), "on cuda such a read is a SIGSEGV that ends the JVM: test_strict_host checks it in a child");
        try (DeviceRuntime runtime = open(device);
             DeviceBuffer buffer = runtime.allocateDevice(4096);
             PinnedBuffer back = runtime.allocatePinned(4096);
             Stream stream = runtime.createStream(StreamKind.COMPUTE)) {
            MemorySegment stray = buffer.devicePointer().reinterpret(4096);
            for (int i = 0; i < 3; i++) {
                InternalError read = assertThrows(InternalError.class, () -> stray.get(ValueLayout.JAVA_INT, 64));
                assertTrue(read.getMessage().contains("unsafe memory access"), read.getMessage());
                assertThrows(InternalError.class, () -> stray.set(ValueLayout.JAVA_BYTE, 7, (byte) 1));
            }
            stream.fill(buffer, 0, 4096, (byte) 0x42);  // the runtime goes on, and so do its bytes
            stream.copyToHost(buffer, 0, back.segment(), 4096);
            stream.synchronize();
            assertEquals((byte) 0x42, back.segment().get(ValueLayout.JAVA_BYTE, 4095));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"host", "cuda"})
    void aHostKernelViewsDeviceMemoryAndNothingElseDoes(String device) {
        try (DeviceRuntime runtime = open(device);
             DeviceBuffer buffer = runtime.allocateDevice(8192);
             PinnedBuffer back = runtime.allocatePinned(8192);
             Stream stream = runtime.createStream(StreamKind.COMPUTE)) {
            DeviceViews notAKernel = new DeviceViews(Arena.global());  // the native core refuses it all the same
            OffloadException outside = assertThrows(OffloadException.class, () -> notAKernel.view(buffer));
            assertEquals(Status.NOT_SUPPORTED, outside.status());
            assertTrue(outside.getMessage().contains("outside a host kernel"), outside.getMessage());

            AtomicReference<Throwable> inFunction = new AtomicReference<>();
            try (HostFunction function = new HostFunction("viewer", arg -> {
                try {
                    notAKernel.view(buffer);
                } catch (OffloadException e) {
                    inFunction.set(e);
                }
            })) {
                function.launch(stream, 0);
                stream.synchronize();
            }
            OffloadException refused = (OffloadException) inFunction.get();
            assertEquals(Status.NOT_SUPPORTED, refused.status());
            assertTrue(refused.getMessage().contains("from a host function"), refused.getMessage());

            try (HostKernel kernel = new HostKernel("writer", (arg, views) -> {
                views.view(buffer).fill((byte) arg);
                views.view(buffer.devicePointer(4096), 4096).set(ValueLayout.JAVA_BYTE, 0, (byte) 9);
            })) {
                if (device.equals("cuda")) {
                    OffloadException e = assertThrows(OffloadException.class, () -> kernel.launch(stream, 5));
                    assertEquals(Status.NOT_SUPPORTED, e.status());
                    return;
                }
                kernel.launch(stream, 5);
                stream.copyToHost(buffer, 0, back.segment(), 8192);
                stream.synchronize();
                kernel.check();
            }
            assertEquals(5, back.segment().get(ValueLayout.JAVA_BYTE, 0));
            assertEquals(9, back.segment().get(ValueLayout.JAVA_BYTE, 4096));
            assertEquals(5, back.segment().get(ValueLayout.JAVA_BYTE, 8191));

            try (HostKernel past = new HostKernel("past the end", (arg, views) -> views.view(buffer.devicePointer(4096), 8192))) {
                past.launch(stream, 0);
                stream.synchronize();
                OffloadException e = assertThrows(OffloadException.class, past::check);
                assertTrue(e.getMessage().contains("live device buffer"), e.getMessage());
            }
        }
    }

    /** A view kept past its run: IllegalStateException on the kernel's thread, WrongThreadException elsewhere, even after its runtime is closed (no SIGSEGV). */
    @org.junit.jupiter.api.Test
    void aViewKeptPastItsKernelRunThrowsWhenUsedAndTheJvmGoesOn() {
        AtomicReference<MemorySegment> kept = new AtomicReference<>();
        AtomicReference<DeviceViews> keptViews = new AtomicReference<>();
        AtomicReference<Throwable> nextRun = new AtomicReference<>();
        try (DeviceRuntime runtime = open("host");
             DeviceBuffer buffer = runtime.allocateDevice(4096);
             PinnedBuffer back = runtime.allocatePinned(4096);
             Stream stream = runtime.createStream(StreamKind.COMPUTE)) {
            try (HostKernel keeper = new HostKernel("keeper", (arg, views) -> {
                if (arg == 0) {
                    MemorySegment v = views.view(buffer);
                    v.set(ValueLayout.JAVA_INT, 0, 0x5EED);
                    kept.set(v);
                    keptViews.set(views);
                } else {
                    try {
                        kept.get().get(ValueLayout.JAVA_INT, 0);  // on the same thread, in a later run
                    } catch (Throwable t) {
                        nextRun.set(t);
                    }
                    views.view(buffer).set(ValueLayout.JAVA_INT, 4, 7);  // this run's own view works
                }
            })) {
                keeper.launch(stream, 0);
                keeper.launch(stream, 1);
                stream.copyToHost(buffer, 0, back.segment(), 4096);
                stream.synchronize();
                keeper.check();
            }
            assertEquals(0x5EED, back.segment().get(ValueLayout.JAVA_INT, 0));
            assertEquals(7, back.segment().get(ValueLayout.JAVA_INT, 4));
            assertTrue(nextRun.get() instanceof IllegalStateException, "a later run: " + nextRun.get());
            // Another thread: the run's arena is confined to the kernel's thread, so WrongThreadException (before and after the run).
            assertThrows(WrongThreadException.class, () -> kept.get().get(ValueLayout.JAVA_INT, 0));
            IllegalStateException again = assertThrows(IllegalStateException.class, () -> keptViews.get().view(buffer));
            assertTrue(again.getMessage().contains("after its body returned"), again.getMessage());
        }
        // The runtime is closed: its mappings are gone. The kept view still only throws.
        assertThrows(WrongThreadException.class, () -> kept.get().get(ValueLayout.JAVA_INT, 0));
        assertThrows(WrongThreadException.class, () -> kept.get().set(ValueLayout.JAVA_INT, 0, 1));
        assertTrue(nextRun.get() instanceof IllegalStateException && nextRun.get().getMessage().contains("closed"), nextRun.get().getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"host", "cuda"})
    void aRuntimeCallFromAHostFunctionIsRefusedNatively(String device) {
        try (DeviceRuntime runtime = open(device);
             DeviceBuffer buffer = runtime.allocateDevice(4096);
             Stream stream = runtime.createStream(StreamKind.COMPUTE);
             Stream other = runtime.createStream(StreamKind.COPY)) {
            AtomicReference<OffloadException> refused = new AtomicReference<>();
            // Queueing work is not checked in Java (HostFunctionThread): the native core refuses it.
            try (HostFunction function = new HostFunction("queuer", arg -> {
                try {
                    other.fill(buffer, 0, 4096, (byte) 1);
                } catch (OffloadException e) {
                    refused.set(e);
                }
            })) {
                function.launch(stream, 0);
                stream.synchronize();
            }
            assertEquals(Status.NOT_SUPPORTED, refused.get().status());
            assertTrue(refused.get().getMessage().contains("ofl_device_fill_async called from a host function: CUDA forbids runtime calls"),
                    refused.get().getMessage());
            other.fill(buffer, 0, 4096, (byte) 1);  // the same call from the queueing thread
            other.synchronize();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"host", "cuda"})
    void aCopyFromOrIntoPageableMemoryMakesTheCallerWaitAndIsCounted(String device) {
        int n = 1 << 16;
        try (DeviceRuntime runtime = open(device);
             Arena arena = Arena.ofConfined();
             DeviceBuffer buffer = runtime.allocateDevice(n);
             PinnedBuffer pinned = runtime.allocatePinned(n);
             Stream stream = runtime.createStream(StreamKind.COMPUTE)) {
            assertEquals(0, runtime.pageableCopies());
            stream.delay(Duration.ofMillis(200));
            long t = System.nanoTime();
            stream.copyToDevice(pinned.segment(), buffer, 0, n);
            assertTrue(System.nanoTime() - t < 100_000_000L, "a pinned copy only queues");
            stream.synchronize();
            assertEquals(0, runtime.pageableCopies());

            MemorySegment pageable = arena.allocate(n);
            pageable.fill((byte) 0x2B);
            stream.delay(Duration.ofMillis(200));
            t = System.nanoTime();
            stream.copyToDevice(pageable, buffer, 0, n);
            assertTrue(System.nanoTime() - t >= 150_000_000L, "the caller waited for the stream's earlier work");
            assertEquals(1, runtime.pageableCopies());
            MemorySegment out = arena.allocate(n);
            stream.copyToHost(buffer, 0, out, n);
            assertEquals(-1, out.mismatch(pageable), "a copy into pageable memory is done when the call returns");
            assertEquals(2, runtime.pageableCopies());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"host", "cuda"})
    void aLaterRecordOnAnotherStreamDoesNotReleaseAnEarlierWait(String device) {
        try (DeviceRuntime runtime = open(device);
             Stream a = runtime.createStream(StreamKind.COMPUTE);
             Stream b = runtime.createStream(StreamKind.COPY);
             Stream c = runtime.createStream(StreamKind.COMPUTE);
             Event event = runtime.createEvent(false)) {
            AtomicLong startedAt = new AtomicLong();
            try (HostFunction stamp = new HostFunction("stamp", arg -> startedAt.set(System.nanoTime()))) {
                long t = System.nanoTime();
                a.delay(Duration.ofMillis(300));
                event.record(a);           // the record c's wait captures
                c.waitFor(event);
                stamp.launch(c, 0);
                event.record(b);           // later, on an idle stream: it completes first
                b.synchronize();
                c.synchronize();
                long waitedMs = (startedAt.get() - t) / 1_000_000;
                assertTrue(waitedMs >= 250, "c's work started " + waitedMs + " ms in, before a's 300 ms delay ended");
                a.synchronize();
                assertTrue(event.query());
            }
        }
    }

    /** Another emulated device's address as a copy's host side: refused naming ofl_copy_peer (its memcpy would die of SIGBUS on a native thread). */
    @org.junit.jupiter.api.Test
    void anotherDevicesAddressIsNotAHostSideOfACopyAndTheJvmGoesOn() {
        try (DeviceRuntime a = DeviceRuntime.open("host:0", 16L << 20);
             DeviceRuntime b = DeviceRuntime.open("host:1", 16L << 20);
             DeviceBuffer mine = a.allocateDevice(4096);
             DeviceBuffer theirs = b.allocateDevice(4096);
             PinnedBuffer back = a.allocatePinned(4096);
             Stream stream = a.createStream(StreamKind.COPY)) {
            MemorySegment other = theirs.devicePointer().reinterpret(4096);
            OffloadException in = assertThrows(OffloadException.class, () -> stream.copyToDevice(other, mine, 0, 4096));
            assertEquals(Status.INVALID_ARGUMENT, in.status());
            assertTrue(in.getMessage().contains("ofl_copy_peer") && in.getMessage().contains("device memory"), in.getMessage());
            OffloadException out = assertThrows(OffloadException.class, () -> stream.copyToHost(mine, 0, other, 4096));
            assertEquals(Status.INVALID_ARGUMENT, out.status());
            stream.fill(mine, 0, 4096, (byte) 9);  // the runtime goes on
            stream.copyToHost(mine, 0, back.segment(), 4096);
            stream.synchronize();
            assertEquals((byte) 9, back.segment().get(ValueLayout.JAVA_BYTE, 4095));
        }
    }
}
