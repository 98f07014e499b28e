package dev.offload.engine;

import dev.offload.OffloadException;
import dev.offload.Size;

import dev.offload.runtime.CopyBandwidth;
import dev.offload.runtime.DeviceInfo;
import dev.offload.runtime.DeviceRuntime;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The host-to-device bandwidth and fixed cost of a copy that plans predict with: the config's
 * ({@code h2dGbps}), or measured once per device and JVM by a probe on a runtime of its own (so the
 * budget's room does not limit it): 64 MiB copies for the bandwidth, 4 KiB ones for the fixed cost;
 * medians of repeats, data verified (CopyBandwidth).
 */
final class BandwidthProbe {
    /** GB/s, the fixed cost of one copy in ms, and where the figures come from. */
    record Bandwidth(double gbps, double latencyMs, String source) {}

    /** Fixed cost assumed per copy when the bandwidth is given rather than probed, milliseconds. */
    static final double DEFAULT_COPY_LATENCY_MS = 0.01;

    private static final Map<String, Bandwidth> PROBED = new ConcurrentHashMap<>();

    private BandwidthProbe() {}

    static Bandwidth of(Settings config, DeviceRuntime runtime) {
        if (config.h2dGbps() > 0) return new Bandwidth(config.h2dGbps(), DEFAULT_COPY_LATENCY_MS, "given");
        DeviceInfo info = runtime.info();
        String key = info.backend().id() + ":" + info.deviceIndex() + ":" + info.name();
        return PROBED.computeIfAbsent(key, k -> probe(config.device()));
    }

    private static Bandwidth probe(String device) {
        long big = 64L << 20;
        try (DeviceRuntime probe = DeviceRuntime.open(device, big + (8L << 20));
             var buffer = probe.allocatePinned(big); var tiny = probe.allocatePinned(4096)) {
            double gbps = CopyBandwidth.hostToDevice(probe, buffer.segment(), 5).medianGbps();
            double tinyGbps = CopyBandwidth.hostToDevice(probe, tiny.segment(), 9).medianGbps();
            double small = 4096 / (tinyGbps * 1e6);
            return new Bandwidth(gbps, Math.max(0, small - 4096 / (gbps * 1e6)), "measured with " + Size.format(big) + " copies");
        } catch (OffloadException e) {
            throw new OffloadException(e.status(), "the bandwidth probe failed (" + e.getMessage() + "); give the bandwidth instead: "
                    + "OffloadConfig.builder().h2dGbps(...)", e);
        }
    }
}
