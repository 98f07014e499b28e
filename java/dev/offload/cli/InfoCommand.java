package dev.offload.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.offload.Size;
import dev.offload.runtime.Backend;
import dev.offload.runtime.CopyBandwidth;
import dev.offload.runtime.DeviceInfo;
import dev.offload.runtime.DeviceRuntime;
import dev.offload.runtime.PinnedBuffer;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Locale;
import java.util.Set;

/**
 * {@code ./offload info [--device NAME] [--bytes SIZE] [--repeats N] [--json]}: the compiled-in
 * backends, the backend in use, the device and its memory, and the measured host-to-device copy
 * bandwidth from pinned and from pageable memory (median of repeats, data verified).
 */
final class InfoCommand {
    static final String USAGE = "info [--device auto|host|cuda|cuda:N] [--bytes SIZE] [--repeats N] [--json]";

    private InfoCommand() {}

    static int run(java.util.List<String> argv, PrintStream out) {
        Args args = new Args(argv, Set.of("--json"), Set.of("--device", "--bytes", "--repeats"));
        if (!args.positional().isEmpty()) throw new UsageException("info takes no arguments: " + args.positional());
        String device = args.option("--device", "auto");
        long bytes = Size.parse(args.option("--bytes", "64MiB"));
        int repeats = Main.parseInt(args.option("--repeats", "7"), "--repeats", 1, 1000);
        if (bytes <= 0) throw new UsageException("--bytes must be positive");

        try (DeviceRuntime runtime = DeviceRuntime.open(device, 0)) {
            DeviceInfo info = runtime.info();
            double pinned;
            double pageable;
            try (PinnedBuffer buffer = runtime.allocatePinned(bytes)) {
                pinned = CopyBandwidth.hostToDevice(runtime, buffer.segment(), repeats).medianGbps();
            }
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment plain = arena.allocate(bytes, 4096);
                pageable = CopyBandwidth.hostToDevice(runtime, plain, repeats).medianGbps();
            }
            if (args.flag("--json")) {
                JsonObject json = new JsonObject();
                JsonArray backends = new JsonArray();
                info.compiledBackends().stream().map(Backend::id).forEach(backends::add);
                json.add("backends", backends);
                json.addProperty("backend", info.backend().id());
                json.addProperty("device", info.name());
                json.addProperty("device_index", info.deviceIndex());
                json.addProperty("total_bytes", info.totalBytes());
                json.addProperty("free_bytes", info.freeBytes());
                json.addProperty("budget_bytes", info.budgetBytes());
                json.addProperty("h2d_pinned_gbps", round(pinned));
                json.addProperty("h2d_pageable_gbps", round(pageable));
                json.addProperty("copy_bytes", bytes);
                json.addProperty("repeats", repeats);
                json.addProperty("note", info.note());
                json.addProperty("version", DeviceRuntime.version());
                out.println(json);
            } else {
                out.printf(Locale.ROOT, "offload %s%n", DeviceRuntime.version());
                out.printf(Locale.ROOT, "compiled backends : %s%n", String.join(", ",
                        info.compiledBackends().stream().map(Backend::id).toList()));
                out.printf(Locale.ROOT, "backend in use    : %s%s%n", info.backend().id(),
                        info.note().isEmpty() ? "" : "  (" + info.note() + ")");
                out.printf(Locale.ROOT, "device            : %s%n", info.name());
                out.printf(Locale.ROOT, "device memory     : %s total, %s free, budget %s%n",
                        Size.format(info.totalBytes()), Size.format(info.freeBytes()), Size.format(info.budgetBytes()));
                out.printf(Locale.ROOT, "H2D pinned        : %.2f GB/s (median of %d copies of %s, verified)%n",
                        pinned, repeats, Size.format(bytes));
                out.printf(Locale.ROOT, "H2D pageable      : %.2f GB/s (median of %d copies of %s, verified)%n",
                        pageable, repeats, Size.format(bytes));
            }
        }
        return 0;
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
