// bench_util.hpp: what the native microbenchmarks share: option parsing, a status check that names
// the failed call, medians, the runtime's backend name, and timing copies on a held stream.
//
// Benchmarks are programs, not library code: a failed call prints the call and ofl_last_error() and
// exits 1 (usage errors exit 2). Only the public C API (offload.h) is used.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "offload.h"

#define BENCH_OK(call)                                                                                  \
    do {                                                                                                \
        ofl_status s_ = (call);                                                                         \
        if (s_ != OFL_OK) {                                                                             \
            std::fprintf(stderr, "%s:%d: %s: %s (%s)\n", __FILE__, __LINE__, #call, ofl_status_name(s_), \
                         ofl_last_error());                                                             \
            std::exit(1);                                                                               \
        }                                                                                               \
    } while (0)

namespace bench {

[[noreturn]] inline void usage(const char* text) {
    std::fprintf(stderr, "%s", text);
    std::exit(2);
}

// "--name value" options and "--flag" switches; anything unknown is a usage error.
struct Args {
    std::vector<std::string> argv;
    Args(int argc, char** a) : argv(a + 1, a + argc) {}
    bool flag(const char* name) {
        auto it = std::find(argv.begin(), argv.end(), name);
        if (it == argv.end()) return false;
        argv.erase(it);
        return true;
    }
    std::string value(const char* name, const std::string& fallback, const char* help) {
        auto it = std::find(argv.begin(), argv.end(), name);
        if (it == argv.end()) return fallback;
        if (it + 1 == argv.end()) usage(help);
        std::string v = *(it + 1);
        argv.erase(it, it + 2);
        return v;
    }
    std::uint64_t number(const char* name, std::uint64_t fallback, const char* help) {
        std::string v = value(name, "", help);
        if (v.empty()) return fallback;
        char* end = nullptr;
        unsigned long long n = std::strtoull(v.c_str(), &end, 10);
        if (*end != '\0' || n == 0) usage(help);
        return n;
    }
    void done(const char* help) {
        if (!argv.empty()) usage(help);
    }
};

inline double median(std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

inline const char* backend_name(const ofl_device_info& info) { return info.backend == OFL_BACKEND_CUDA ? "cuda" : "host"; }

// Copy timing, nvbandwidth's method: the stream is held behind a delay while one warm-up copy and
// `repeats` timed copies are queued, each timed copy between two timing events (events[i] and
// events[i + 1]), so the host's launch cost is not in any figure. Returns the milliseconds of each.
inline std::vector<double> time_copies(ofl_stream* stream, std::vector<ofl_event*>& events, void* dst, const void* src,
                                       std::uint64_t bytes, int32_t kind, std::uint32_t hold_us) {
    BENCH_OK(ofl_stream_delay(stream, hold_us));
    BENCH_OK(ofl_copy_async(stream, dst, src, bytes, kind));  // warm-up
    BENCH_OK(ofl_event_record(events[0], stream));
    for (std::size_t i = 1; i < events.size(); ++i) {
        BENCH_OK(ofl_copy_async(stream, dst, src, bytes, kind));
        BENCH_OK(ofl_event_record(events[i], stream));
    }
    BENCH_OK(ofl_stream_synchronize(stream));
    std::vector<double> ms;
    for (std::size_t i = 1; i < events.size(); ++i) {
        float t = 0;
        BENCH_OK(ofl_event_elapsed_ms(events[i - 1], events[i], &t));
        ms.push_back(t);
    }
    return ms;
}

}  // namespace bench
