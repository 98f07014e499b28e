// bench_pipeline: the prefetch engine's overlap efficiency over a sweep of compute/copy ratios.
//
// Setup: --groups N streamed groups of --group-bytes B in pinned memory, word i of group g holding
// (g << 40 | i); an engine with 2 slots, prefetch depth 1, OFL_TIMING_GROUP and steps_ahead 1.
// The copy time of one group is measured first (bench_util.hpp: held stream, median of 15). For each
// ratio r in 0.25, 0.5, 1, 2, 4, a fresh engine runs --steps S steps whose compute per group is
// ofl_stream_delay(r x that copy time) on the compute stream.
// Reported, as medians over the steps after the first: the engine's step_ms, copy_ms, compute_ms,
// overlap_efficiency = max(compute_ms, copy_ms) / step_ms (per step, then the median), and the host's
// wall-clock time in acquire + release per group, less the step's back-pressure wait (host_blocked_ms).
// isolated_efficiency is the stricter figure: N x max(compute, one group's isolated copy time) over
// step_ms; it drops where the copy and compute slow each other down (on host: two workers, shared cores).
// Verification, after the run: after each group's compute, the slot's first and last 8 bytes are
// copied (device to host, in compute-stream order) into pinned memory; every sample must equal the
// acquired group's words. The same path serves host and cuda (on host it is a stream-ordered memcpy).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "bench_util.hpp"

namespace {

const char* kHelp =
    "usage: bench_pipeline [--device host|cuda|auto] [--groups N] [--group-bytes N] [--steps S (2..64)] [--json]\n";

using Clock = std::chrono::steady_clock;

double us_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::micro>(b - a).count(); }

struct Row {
    double ratio, compute_us, step_ms, copy_ms, compute_ms, overlap, isolated, host_us_per_group;
};

}  // namespace

int main(int argc, char** argv) {
    bench::Args args(argc, argv);
    std::string device = args.value("--device", "auto", kHelp);
    const std::uint32_t groups = static_cast<std::uint32_t>(args.number("--groups", 8, kHelp));
    const std::uint64_t bytes = args.number("--group-bytes", 16ull << 20, kHelp) / 8 * 8;
    const std::uint32_t steps = static_cast<std::uint32_t>(args.number("--steps", 10, kHelp));
    const bool json = args.flag("--json");
    args.done(kHelp);
    if (steps < 2 || steps > 64 || bytes < 16) bench::usage(kHelp);

    ofl_runtime* rt = nullptr;
    BENCH_OK(ofl_runtime_open(device.c_str(), 0, &rt));
    ofl_device_info info{};
    info.struct_size = sizeof info;
    BENCH_OK(ofl_runtime_info(rt, &info));
    ofl_stream *compute = nullptr, *copy = nullptr;
    BENCH_OK(ofl_stream_create(rt, OFL_STREAM_COMPUTE, &compute));
    BENCH_OK(ofl_stream_create(rt, OFL_STREAM_COPY, &copy));

    ofl_host_buffer *host_buf = nullptr, *sample_buf = nullptr;
    void *host = nullptr, *samples_ptr = nullptr;
    BENCH_OK(ofl_host_buffer_create(rt, bytes * groups, &host_buf));
    BENCH_OK(ofl_host_buffer_address(host_buf, &host));
    const std::uint64_t words = bytes / 8;
    auto* w = static_cast<std::uint64_t*>(host);
    for (std::uint64_t g = 0; g < groups; ++g)
        for (std::uint64_t i = 0; i < words; ++i) w[g * words + i] = g << 40 | i;
    // Two samples (first and last word of the slot) per group per step.
    BENCH_OK(ofl_host_buffer_create(rt, std::uint64_t(steps) * groups * 16, &sample_buf));
    BENCH_OK(ofl_host_buffer_address(sample_buf, &samples_ptr));
    auto* samples = static_cast<std::uint64_t*>(samples_ptr);

    // The copy time of one group, launch overhead kept out.
    double copy_us = 0;
    {
        ofl_device_buffer* dev_buf = nullptr;
        void* dev = nullptr;
        BENCH_OK(ofl_device_buffer_create(rt, bytes, &dev_buf));
        BENCH_OK(ofl_device_buffer_address(dev_buf, &dev));
        std::vector<ofl_event*> events(16);
        for (auto& e : events) BENCH_OK(ofl_event_create(rt, OFL_EVENT_TIMING, &e));
        copy_us = 1000.0 * bench::median(bench::time_copies(copy, events, dev, host, bytes, OFL_COPY_HOST_TO_DEVICE, 2000));
        for (auto& e : events) ofl_event_destroy(e);
        BENCH_OK(ofl_device_buffer_destroy(dev_buf));
    }

    std::vector<ofl_group_desc> desc(groups);
    for (std::uint32_t g = 0; g < groups; ++g) desc[g] = {static_cast<unsigned char*>(host) + g * bytes, bytes, 0, 0};
    ofl_engine_config config{sizeof(ofl_engine_config), 2, 1, OFL_TIMING_GROUP, 1, 0};
    std::vector<Row> rows;
    std::uint64_t wrong = 0;
    for (double ratio : {0.25, 0.5, 1.0, 2.0, 4.0}) {
        const auto delay_us = static_cast<std::uint32_t>(std::max(1.0, std::round(ratio * copy_us)));
        std::memset(samples, 0, std::uint64_t(steps) * groups * 16);
        ofl_engine* engine = nullptr;
        BENCH_OK(ofl_engine_create(rt, desc.data(), groups, &config, compute, copy, &engine));
        std::vector<double> host_us(steps, 0.0);
        for (std::uint32_t s = 0; s < steps; ++s) {
            for (std::uint32_t g = 0; g < groups; ++g) {
                void* slot = nullptr;
                auto t0 = Clock::now();
                BENCH_OK(ofl_engine_acquire(engine, g, &slot));
                auto t1 = Clock::now();
                BENCH_OK(ofl_stream_delay(compute, delay_us));
                std::uint64_t* out = samples + (std::uint64_t(s) * groups + g) * 2;
                BENCH_OK(ofl_copy_async(compute, out, slot, 8, OFL_COPY_DEVICE_TO_HOST));
                BENCH_OK(ofl_copy_async(compute, out + 1, static_cast<unsigned char*>(slot) + bytes - 8, 8, OFL_COPY_DEVICE_TO_HOST));
                auto t2 = Clock::now();
                BENCH_OK(ofl_engine_release(engine, g));
                host_us[s] += us_between(t0, t1) + us_between(t2, Clock::now());
            }
        }
        std::vector<double> step_ms, copy_ms, compute_ms, overlap, host_per_group;
        for (std::uint32_t s = 0; s < steps; ++s) {
            ofl_step_metrics m{};
            m.struct_size = sizeof m;
            BENCH_OK(ofl_engine_step_metrics(engine, s, 1, &m));
            if (s == 0) continue;
            step_ms.push_back(m.step_ms);
            copy_ms.push_back(m.copy_ms);
            compute_ms.push_back(m.compute_ms);
            overlap.push_back(std::max(m.compute_ms, m.copy_ms) / m.step_ms);
            host_per_group.push_back((host_us[s] - 1000.0 * m.host_blocked_ms) / groups);
        }
        BENCH_OK(ofl_stream_synchronize(compute));
        BENCH_OK(ofl_engine_destroy(engine));
        for (std::uint64_t i = 0; i < std::uint64_t(steps) * groups; ++i) {
            std::uint64_t g = i % groups;
            if (samples[2 * i] != (g << 40) || samples[2 * i + 1] != (g << 40 | (words - 1))) ++wrong;
        }
        rows.push_back({ratio, double(delay_us), bench::median(step_ms), bench::median(copy_ms), bench::median(compute_ms),
                        bench::median(overlap),
                        groups * std::max(double(delay_us), copy_us) / 1000.0 / bench::median(step_ms), bench::median(host_per_group)});
    }
    if (wrong) std::fprintf(stderr, "bench_pipeline: %llu group samples held the wrong bytes\n", (unsigned long long)wrong);

    if (json) {
        std::printf("{\"backend\":\"%s\",\"device\":\"%s\",\"groups\":%u,\"group_bytes\":%llu,\"steps\":%u,"
                    "\"copy_us_per_group\":%.1f,\"verified\":%s,\"rows\":[",
                    bench::backend_name(info), info.name, groups, (unsigned long long)bytes, steps, copy_us, wrong ? "false" : "true");
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const Row& r = rows[i];
            std::printf("%s{\"ratio\":%.2f,\"compute_us_per_group\":%.0f,\"step_ms\":%.3f,\"copy_ms\":%.3f,\"compute_ms\":%.3f,"
                        "\"overlap_efficiency\":%.3f,\"isolated_efficiency\":%.3f,\"host_us_per_group\":%.2f}",
                        i ? "," : "", r.ratio, r.compute_us, r.step_ms, r.copy_ms, r.compute_ms, r.overlap, r.isolated, r.host_us_per_group);
        }
        std::printf("]}\n");
    } else {
        std::printf("backend %s (%s): %u groups of %llu bytes, 2 slots, depth 1, %u steps (medians of steps 1..%u); "
                    "one group copies in %.1f us; data %s\n",
                    bench::backend_name(info), info.name, groups, (unsigned long long)bytes, steps, steps - 1, copy_us,
                    wrong ? "WRONG" : "verified");
        std::printf("%6s  %11s  %8s  %8s  %10s  %7s  %8s  %13s\n", "ratio", "compute us", "step ms", "copy ms", "compute ms",
                    "overlap", "isolated", "host us/group");
        for (const Row& r : rows)
            std::printf("%6.2f  %11.0f  %8.2f  %8.2f  %10.2f  %7.3f  %8.3f  %13.2f\n", r.ratio, r.compute_us, r.step_ms, r.copy_ms,
                        r.compute_ms, r.overlap, r.isolated, r.host_us_per_group);
    }

    ofl_stream_destroy(compute);
    ofl_stream_destroy(copy);
    ofl_host_buffer_destroy(sample_buf);
    ofl_host_buffer_destroy(host_buf);
    ofl_runtime_destroy(rt);
    return wrong ? 1 : 0;
}
