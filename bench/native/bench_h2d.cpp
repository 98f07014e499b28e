// bench_h2d: host-to-device copy bandwidth through ofl_copy_async, from pinned memory
// (ofl_host_buffer_create) and from pageable memory (malloc), over sizes from 64 KiB to 1 GiB.
//
// Method (bench_util.hpp, nvbandwidth's): for each size and kind, the copy stream is held behind
// ofl_stream_delay while a warm-up copy and --repeats timed copies, each between two timing events,
// are queued; the median is reported (GB/s = 10^9 bytes/s). The device buffer is zeroed before each
// run; after timing it is copied back into pinned memory and compared with the source byte for byte
// (the two sources hold different patterns, so a stale copy cannot pass). On cuda a pageable copy
// is staged by the driver and may return only once done: that cost is part of pageable bandwidth.
// Sizes stop at --max-bytes (default 256 MiB on host, to fit a small machine; 1 GiB on cuda).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bench_util.hpp"

namespace {

const char* kHelp =
    "usage: bench_h2d [--device host|cuda|auto] [--max-bytes N] [--repeats N] [--json]\n";

void fill(unsigned char* p, std::uint64_t bytes, std::uint64_t seed) {
    std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (std::uint64_t i = 0; i < bytes; i += 8) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        std::memcpy(p + i, &x, std::min<std::uint64_t>(8, bytes - i));
    }
}

}  // namespace

int main(int argc, char** argv) {
    bench::Args args(argc, argv);
    std::string device = args.value("--device", "auto", kHelp);
    std::uint64_t max_arg = args.number("--max-bytes", 0, kHelp);
    int repeats = static_cast<int>(args.number("--repeats", 7, kHelp));
    bool json = args.flag("--json");
    args.done(kHelp);

    ofl_runtime* rt = nullptr;
    BENCH_OK(ofl_runtime_open(device.c_str(), 0, &rt));
    ofl_device_info info{};
    info.struct_size = sizeof info;
    BENCH_OK(ofl_runtime_info(rt, &info));
    const bool cuda = info.backend == OFL_BACKEND_CUDA;
    std::uint64_t max_bytes = max_arg ? max_arg : (cuda ? 1ull << 30 : 256ull << 20);
    std::vector<std::uint64_t> sizes;
    for (std::uint64_t b = 64ull << 10; b <= (1ull << 30) && b <= max_bytes; b *= 4) sizes.push_back(b);
    if (sizes.empty()) bench::usage("bench_h2d: --max-bytes is below the smallest size (64 KiB)\n");
    const std::uint64_t top = sizes.back();

    ofl_host_buffer *pinned_buf = nullptr, *check_buf = nullptr;
    ofl_device_buffer* dev_buf = nullptr;
    void *pinned = nullptr, *check = nullptr, *dev = nullptr;
    BENCH_OK(ofl_host_buffer_create(rt, top, &pinned_buf));
    BENCH_OK(ofl_host_buffer_create(rt, top, &check_buf));
    BENCH_OK(ofl_device_buffer_create(rt, top, &dev_buf));
    BENCH_OK(ofl_host_buffer_address(pinned_buf, &pinned));
    BENCH_OK(ofl_host_buffer_address(check_buf, &check));
    BENCH_OK(ofl_device_buffer_address(dev_buf, &dev));
    auto* pageable = static_cast<unsigned char*>(std::malloc(top));
    if (!pageable) { std::fprintf(stderr, "bench_h2d: malloc(%llu) failed\n", (unsigned long long)top); return 1; }
    fill(static_cast<unsigned char*>(pinned), top, 1);
    fill(pageable, top, 2);

    ofl_stream* stream = nullptr;
    BENCH_OK(ofl_stream_create(rt, OFL_STREAM_COPY, &stream));
    std::vector<ofl_event*> events(repeats + 1);
    for (auto& e : events) BENCH_OK(ofl_event_create(rt, OFL_EVENT_TIMING, &e));

    struct Row { std::uint64_t bytes; double pinned_gbps, pageable_gbps; };
    std::vector<Row> rows;
    bool verified = true;
    for (std::uint64_t bytes : sizes) {
        Row row{bytes, 0, 0};
        for (int kind = 0; kind < 2; ++kind) {
            const void* src = kind == 0 ? pinned : static_cast<const void*>(pageable);
            BENCH_OK(ofl_device_fill_async(stream, dev, 0, bytes));
            // The hold covers queuing: a few microseconds per copy on host, tens on cuda.
            std::vector<double> ms = bench::time_copies(stream, events, dev, src, bytes, OFL_COPY_HOST_TO_DEVICE, 2000 + 50 * repeats);
            double gbps = static_cast<double>(bytes) / (bench::median(ms) * 1e6);
            (kind == 0 ? row.pinned_gbps : row.pageable_gbps) = gbps;
            std::memset(check, 0xA5, bytes);
            BENCH_OK(ofl_copy_async(stream, check, dev, bytes, OFL_COPY_DEVICE_TO_HOST));
            BENCH_OK(ofl_stream_synchronize(stream));
            if (std::memcmp(check, src, bytes) != 0) {
                std::fprintf(stderr, "bench_h2d: %s copy of %llu bytes: device data differs from the source\n",
                             kind == 0 ? "pinned" : "pageable", (unsigned long long)bytes);
                verified = false;
            }
        }
        rows.push_back(row);
    }

    if (json) {
        std::printf("{\"backend\":\"%s\",\"device\":\"%s\",\"repeats\":%d,\"verified\":%s,\"rows\":[", bench::backend_name(info),
                    info.name, repeats, verified ? "true" : "false");
        for (std::size_t i = 0; i < rows.size(); ++i)
            std::printf("%s{\"bytes\":%llu,\"pinned_gbps\":%.3f,\"pageable_gbps\":%.3f}", i ? "," : "",
                        (unsigned long long)rows[i].bytes, rows[i].pinned_gbps, rows[i].pageable_gbps);
        std::printf("]}\n");
    } else {
        std::printf("backend %s (%s), median of %d copies, data %s\n", bench::backend_name(info), info.name, repeats,
                    verified ? "verified" : "WRONG");
        std::printf("%12s  %12s  %14s\n", "bytes", "pinned GB/s", "pageable GB/s");
        for (const Row& r : rows)
            std::printf("%12llu  %12.2f  %14.2f\n", (unsigned long long)r.bytes, r.pinned_gbps, r.pageable_gbps);
    }

    for (auto& e : events) ofl_event_destroy(e);
    ofl_stream_destroy(stream);
    std::free(pageable);
    ofl_device_buffer_destroy(dev_buf);
    ofl_host_buffer_destroy(check_buf);
    ofl_host_buffer_destroy(pinned_buf);
    ofl_runtime_destroy(rt);
    return verified ? 0 : 1;
}
