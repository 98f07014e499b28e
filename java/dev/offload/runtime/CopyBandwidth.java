package dev.offload.runtime;

import dev.offload.OffloadException;
import dev.offload.Status;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Measures host-to-device copy bandwidth the way nvbandwidth does: the copy stream is held behind
 * a short delay while a warm-up copy and the timed copies (each between two timing events) are
 * queued, so launch overhead stays out of the timing; the data is verified after timing (copied
 * back and compared byte for byte); the median of the repeats is reported.
 */
public final class CopyBandwidth {
    /** GB/s are 10^9 bytes per second. */
    public record Result(long bytes, double medianGbps, double[] samplesGbps) {}

    private CopyBandwidth() {}

    /** Copies {@code src} (pinned or ordinary native memory) to the device {@code repeats} times. */
    public static Result hostToDevice(DeviceRuntime runtime, MemorySegment src, int repeats) {
        if (repeats < 1) throw OffloadException.invalid("bandwidth repeats must be at least 1, got " + repeats);
        long bytes = src.byteSize();
        fillRandom(src, 42);
        List<Event> events = new ArrayList<>();
        try (DeviceBuffer dst = runtime.allocateDevice(bytes);
             Stream stream = runtime.createStream(StreamKind.COPY);
             PinnedBuffer check = runtime.allocatePinned(bytes)) {
            for (int i = 0; i < 2 * repeats; i++) events.add(runtime.createEvent(true));
            stream.delay(Duration.ofMillis(5));
            stream.copyToDevice(src, dst, 0, bytes);  // warm-up
            for (int i = 0; i < repeats; i++) {
                events.get(2 * i).record(stream);
                stream.copyToDevice(src, dst, 0, bytes);
                events.get(2 * i + 1).record(stream);
            }
            stream.synchronize();
            double[] samples = new double[repeats];
            for (int i = 0; i < repeats; i++) {
                double seconds = events.get(2 * i).elapsedMillis(events.get(2 * i + 1)) / 1e3;
                samples[i] = bytes / Math.max(seconds, 1e-9) / 1e9;
            }
            MemorySegment back = check.segment();  // pinned: the read-back never waits on a pageable copy
            stream.copyToHost(dst, 0, back, bytes);
            stream.synchronize();
            long mismatch = back.mismatch(src);
            if (mismatch != -1) {
                throw new OffloadException(Status.INTERNAL, "bandwidth check: the device copy differs from the source at byte "
                        + mismatch + " of " + bytes);
            }
            return new Result(bytes, median(samples), samples);
        } finally {
            events.forEach(Event::close);
        }
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    static void fillRandom(MemorySegment segment, long seed) {
        Random random = new Random(seed);
        long n = segment.byteSize();
        long i = 0;
        for (; i + 8 <= n; i += 8) segment.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, i, random.nextLong());
        for (; i < n; i++) segment.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
    }
}
