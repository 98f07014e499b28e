// The prefetch engine on the host backend: outputs equal a direct computation bit for bit, under
// slow compute, deep prefetch and a host running steps ahead; at most one host wait per step;
// figures that measure what happened; the protocol's misuse gets clear errors; budgets hold.
// Compute is the mix workload's host kernel (liboffload_workload), queued in stream order with
// ofl_stream_launch_host_kernel, as any user's emulated device code would be.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <vector>

#include "check.hpp"
#include "offload_workload.h"

namespace {

constexpr std::uint32_t kTokens = 2, kHidden = 64;

struct Fixture {
    ofl_runtime* rt = nullptr;
    ofl_stream* compute = nullptr;
    ofl_stream* copy = nullptr;
    ofl_device_buffer* state_buffer = nullptr;
    ofl_device_buffer* scratch_buffer = nullptr;
    void* state = nullptr;
    void* scratch = nullptr;

    explicit Fixture(std::uint64_t budget) {
        CHECK_OK(ofl_runtime_open("host", budget, &rt));
        CHECK_OK(ofl_stream_create(rt, OFL_STREAM_COMPUTE, &compute));
        CHECK_OK(ofl_stream_create(rt, OFL_STREAM_COPY, &copy));
        CHECK_OK(ofl_device_buffer_create(rt, kTokens * kHidden * 4, &state_buffer));
        CHECK_OK(ofl_device_buffer_create(rt, kTokens * kHidden * 4, &scratch_buffer));
        CHECK_OK(ofl_device_buffer_address(state_buffer, &state));
        CHECK_OK(ofl_device_buffer_address(scratch_buffer, &scratch));
    }
    // The groups' bytes copied into pinned memory: the engine refuses pageable group memory on both
    // backends (a copy from it would block the calling thread). Each call pins a copy of its own.
    std::vector<ofl_group_desc> pinned_descs(const std::vector<std::vector<unsigned char>>& groups,
                                             const std::vector<std::uint32_t>& resident) {
        std::uint64_t total = 0;
        for (const auto& g : groups) total += (g.size() + 4095) / 4096 * 4096;
        ofl_host_buffer* buffer = nullptr;
        void* base = nullptr;
        CHECK_OK(ofl_host_buffer_create(rt, total, &buffer));
        CHECK_OK(ofl_host_buffer_address(buffer, &base));
        pinned.push_back(buffer);
        std::vector<ofl_group_desc> desc;
        auto* at = static_cast<unsigned char*>(base);
        for (std::size_t g = 0; g < groups.size(); ++g) {
            std::memcpy(at, groups[g].data(), groups[g].size());
            desc.push_back({at, groups[g].size(), resident.empty() ? 0 : resident[g], 0});
            at += (groups[g].size() + 4095) / 4096 * 4096;
        }
        return desc;
    }
    std::vector<ofl_host_buffer*> pinned;

    ~Fixture() {
        for (ofl_host_buffer* b : pinned) ofl_host_buffer_destroy(b);
        ofl_device_buffer_destroy(state_buffer);
        ofl_device_buffer_destroy(scratch_buffer);
        ofl_stream_destroy(compute);
        ofl_stream_destroy(copy);
        ofl_runtime_destroy(rt);
    }
};

std::vector<std::uint32_t> initial_state() {
    std::vector<std::uint32_t> s(kTokens * kHidden);
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<std::uint32_t>(i * 2654435761u);
    return s;
}

struct Shape {
    std::uint32_t slots, depth, ahead = 1;
    std::uint32_t compute_delay_us = 0;  // a slow compute stream: reads its slot late
    std::uint32_t copy_delay_us = 0;     // the copy stream held back before the first step
    std::uint32_t timing = OFL_TIMING_GROUP;
    std::uint32_t trace = 0;
    bool advance = false;  // ofl_engine_advance between groups instead of release + acquire
    std::uint64_t skip_seed = 0;  // nonzero: groups skipped in a seeded pattern (skipped())
};

// Whether group g is skipped in step s under a seed (0: never): about one group in three, and now
// and then the rest of a step (a cache hit ending it early).
bool skipped(std::uint64_t seed, int s, std::uint32_t g, std::uint32_t groups) {
    if (seed == 0) return false;
    std::uint64_t h = seed * 0x9E3779B97F4A7C15ull ^ (static_cast<std::uint64_t>(s) << 32) ^ g;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    std::uint64_t rest = seed * 0x94D049BB133111EBull ^ static_cast<std::uint64_t>(s);
    rest ^= rest >> 31;
    const bool ends_early = rest % 4 == 0 && g >= groups / 2;
    return ends_early || h % 3 == 0;
}

struct Run {
    std::vector<std::uint32_t> state;
    std::vector<ofl_step_metrics> metrics;
    std::vector<std::vector<ofl_group_span>> spans;  // per step, with trace on
};

// Runs `steps` steps through an engine; returns the final state and every step's figures.
Run run_engine(Fixture& f, const std::vector<std::vector<unsigned char>>& groups, const std::vector<std::uint32_t>& resident,
               Shape shape, int steps) {
    std::vector<ofl_group_desc> desc = f.pinned_descs(groups, resident);
    ofl_engine_config config{sizeof(ofl_engine_config), shape.slots, shape.depth, shape.timing, shape.ahead, shape.trace};
    ofl_engine* engine = nullptr;
    CHECK_OK(ofl_engine_create(f.rt, desc.data(), static_cast<std::uint32_t>(desc.size()), &config, f.compute, f.copy, &engine));
    Run run;
    run.state = initial_state();
    // One argument block per launch: a host function's user data must live until it has run.
    std::vector<oflw_mix_args> args(static_cast<std::size_t>(steps) * groups.size());
    CHECK_OK(ofl_copy_async(f.compute, f.state, run.state.data(), run.state.size() * 4, OFL_COPY_HOST_TO_DEVICE));
    if (shape.copy_delay_us) CHECK_OK(ofl_stream_delay(f.copy, shape.copy_delay_us));
    for (int s = 0; s < steps; ++s) {
        void* next = nullptr;
        for (std::uint32_t g = 0; g < groups.size(); ++g) {
            if (skipped(shape.skip_seed, s, g, static_cast<std::uint32_t>(groups.size()))) {
                CHECK_OK(ofl_engine_skip(engine, g));
                continue;
            }
            void* weights = nullptr;
            if (shape.advance && g > 0) weights = next;
            else CHECK_OK(ofl_engine_acquire(engine, g, &weights));
            if (shape.compute_delay_us) CHECK_OK(ofl_stream_delay(f.compute, shape.compute_delay_us));
            oflw_mix_args& a = args[s * groups.size() + g];
            a = {static_cast<std::uint32_t*>(f.state), static_cast<std::uint32_t*>(f.scratch), kTokens, kHidden,
                 static_cast<const unsigned char*>(weights), groups[g].size()};
            CHECK_OK(ofl_stream_launch_host_kernel(f.compute, oflw_mix_host, &a));
            if (shape.advance && g + 1 < groups.size()) CHECK_OK(ofl_engine_advance(engine, g, &next));
            else CHECK_OK(ofl_engine_release(engine, g));
        }
        ofl_step_metrics m{};
        m.struct_size = sizeof m;
        CHECK_STATUS(ofl_engine_step_metrics(engine, s + 1, 1, &m), OFL_ERR_NOT_READY);
    }
    for (int s = 0; s < steps; ++s) {
        ofl_step_metrics m{};
        m.struct_size = sizeof m;
        CHECK_OK(ofl_engine_step_metrics(engine, s, 1, &m));
        CHECK(m.step == static_cast<std::uint64_t>(s) && m.timed == 1 && m.step_ms >= 0);
        if (shape.timing == OFL_TIMING_GROUP) {
            CHECK(m.compute_ms >= 0 && m.compute_idle_ms >= 0 && m.copy_ms >= 0);
        } else {  // step timing: four events a step, no per-group figures
            CHECK(m.compute_ms != m.compute_ms && m.compute_idle_ms != m.compute_idle_ms && m.copy_ms != m.copy_ms);
        }
        CHECK(m.copy_busy_ms >= 0);
        if (shape.trace) {
            std::vector<ofl_group_span> spans(groups.size());
            CHECK_OK(ofl_engine_step_spans(engine, s, 0, spans.data(), static_cast<std::uint32_t>(spans.size())));
            run.spans.push_back(spans);
        } else {
            ofl_group_span one{};
            CHECK_STATUS(ofl_engine_step_spans(engine, s, 0, &one, 1), OFL_ERR_INVALID_ARGUMENT);
        }
        run.metrics.push_back(m);
    }
    CHECK_OK(ofl_copy_async(f.compute, run.state.data(), f.state, run.state.size() * 4, OFL_COPY_DEVICE_TO_HOST));
    CHECK_OK(ofl_stream_synchronize(f.compute));
    CHECK_OK(ofl_engine_destroy(engine));
    return run;
}

std::vector<std::uint32_t> run_direct(const std::vector<std::vector<unsigned char>>& groups, int steps, std::uint64_t skip_seed = 0) {
    std::vector<std::uint32_t> state = initial_state(), scratch(state.size());
    for (int s = 0; s < steps; ++s)
        for (std::uint32_t i = 0; i < groups.size(); ++i) {
            if (skipped(skip_seed, s, i, static_cast<std::uint32_t>(groups.size()))) continue;
            const auto& g = groups[i];
            oflw_mix_args a{state.data(), scratch.data(), kTokens, kHidden, g.data(), g.size()};
            oflw_mix_on_host_memory(&a);
        }
    return state;
}

}  // namespace

int main() {
    std::mt19937_64 rng(1234);
    std::vector<std::vector<unsigned char>> groups;
    for (std::size_t bytes : {70000u, 131072u, 99999u, 4096u, 150001u, 3u}) {
        std::vector<unsigned char> g(bytes);
        for (auto& b : g) b = static_cast<unsigned char>(rng());
        groups.push_back(std::move(g));
    }
    const int steps = 4;
    const auto expected = run_direct(groups, steps);
    std::vector<std::uint32_t> none(groups.size(), 0), some = {1, 0, 0, 1, 0, 1}, all(groups.size(), 1);

    {  // several ring shapes, with and without resident groups, the host 0, 1 or 3 steps ahead
        Fixture f(8 << 20);
        CHECK(run_engine(f, groups, none, {1, 0}, steps).state == expected);
        CHECK(run_engine(f, groups, none, {2, 1}, steps).state == expected);
        CHECK(run_engine(f, groups, some, {3, 2}, steps).state == expected);
        CHECK(run_engine(f, groups, all, {0, 0}, steps).state == expected);
        CHECK(run_engine(f, groups, none, {2, 1, 0}, steps).state == expected);
        CHECK(run_engine(f, groups, some, {3, 2, 3}, steps).state == expected);
    }
    {  // Two slots, slow compute, the host a step ahead: every copy of step s + 1 is queued while the
       // device still computes step s from the same two slots. A wait that named another record than
       // the slot's last release would let a copy overwrite weights still in use: the output differs.
        Fixture f(8 << 20);
        const std::uint32_t delay = 15000;
        Run run = run_engine(f, groups, none, {2, 1, 1, delay}, steps);
        CHECK(run.state == expected);
        // At most one wait per step, and only back-pressure: steps 0 and 1 never wait (the host may be
        // one step ahead), later ones do, since compute is far slower than queueing.
        std::uint64_t waits = 0;
        for (const ofl_step_metrics& m : run.metrics) {
            CHECK(m.host_waits <= 1);
            waits += m.host_waits;
            // compute holds each of the 6 groups for `delay`: the step's compute reflects it
            CHECK(m.compute_ms >= 6 * delay / 1000.0 * 0.9);
            CHECK(m.step_ms >= m.compute_ms * 0.99);
        }
        CHECK(run.metrics[0].host_waits == 0 && run.metrics[1].host_waits == 0);
        CHECK(waits >= 1);
        CHECK(run.metrics[2].host_waits == 1 && run.metrics[2].host_blocked_ms > 0);
        // deep prefetch, three steps ahead
        CHECK(run_engine(f, groups, none, {4, 3, 3, delay / 3}, steps).state == expected);
    }
    {  // advance (release + acquire in one call) gives the same outputs and figures, whatever the shape
        Fixture f(8 << 20);
        for (Shape shape : {Shape{1, 0}, Shape{2, 1}, Shape{3, 2}, Shape{0, 0}, Shape{2, 1, 3, 3000}}) {
            shape.advance = true;
            const auto& resident = shape.slots == 0 ? all : shape.slots == 3 ? some : none;
            Run run = run_engine(f, groups, resident, shape, steps);
            CHECK(run.state == expected);
            if (shape.compute_delay_us) CHECK(run.metrics[0].compute_ms >= 6 * 3.0 * 0.9);
        }
        Shape step_timing{2, 1, 1};
        step_timing.timing = OFL_TIMING_STEP;
        step_timing.advance = true;
        CHECK(run_engine(f, groups, some, step_timing, steps).state == expected);
        // misuse: advancing from the last group, or from a group not held
        std::vector<ofl_group_desc> desc = f.pinned_descs(groups, {});
        ofl_engine_config config{sizeof(ofl_engine_config), 2, 1, OFL_TIMING_OFF, 1, 0};
        ofl_engine* engine = nullptr;
        CHECK_OK(ofl_engine_create(f.rt, desc.data(), 6, &config, f.compute, f.copy, &engine));
        ofl_engine_layout layout{};
        layout.struct_size = sizeof layout;
        CHECK_OK(ofl_engine_layout_get(engine, &layout));  // the largest group is 150001 bytes, every group streams
        CHECK(layout.slots == 2 && layout.prefetch_depth == 1 && layout.resident_bytes == 0 && layout.slot_bytes == 150016 &&
              layout.device_bytes == 2 * 150016ull);
        void* p = nullptr;
        CHECK_STATUS(ofl_engine_advance(engine, 0, &p), OFL_ERR_INVALID_ARGUMENT);  // nothing held
        CHECK_OK(ofl_engine_acquire(engine, 0, &p));
        CHECK_STATUS(ofl_engine_advance(engine, 1, &p), OFL_ERR_INVALID_ARGUMENT);
        for (std::uint32_t g = 0; g < 5; ++g) CHECK_OK(ofl_engine_advance(engine, g, &p));
        CHECK_STATUS(ofl_engine_advance(engine, 5, &p), OFL_ERR_INVALID_ARGUMENT);
        CHECK(std::strstr(ofl_last_error(), "last group") != nullptr);
        CHECK_OK(ofl_engine_release(engine, 5));
        CHECK_OK(ofl_engine_destroy(engine));
    }
    {  // Skips: groups skipped in a seeded pattern (and steps ended early) over many steps, every ring
       // shape, slow compute, the host ahead: what runs equals the direct computation of the groups
       // that run. With no prefetch (one slot), a skipped group is never copied: h2d_bytes is
       // exactly the streamed groups that ran.
        Fixture f(8 << 20);
        const int many = 12;
        for (std::uint64_t seed : {1ull, 7ull, 42ull}) {
            const auto direct = run_direct(groups, many, seed);
            CHECK(direct != run_direct(groups, many));  // the pattern skips something
            for (Shape shape : {Shape{1, 0}, Shape{2, 1}, Shape{3, 2, 3, 800}, Shape{4, 3, 0}, Shape{2, 1, 2, 0, 0, OFL_TIMING_STEP}}) {
                shape.skip_seed = seed;
                Run run = run_engine(f, groups, shape.slots == 3 ? some : none, shape, many);
                CHECK(run.state == direct);
                if (shape.slots == 1) {
                    for (int s = 0; s < many; ++s) {
                        std::uint64_t ran = 0;
                        for (std::uint32_t g = 0; g < groups.size(); ++g)
                            if (!skipped(seed, s, g, static_cast<std::uint32_t>(groups.size()))) ran += groups[g].size();
                        CHECK(run.metrics[s].h2d_bytes == ran);
                    }
                }
            }
        }
        // misuse: skipping out of order, or while a group is held
        std::vector<ofl_group_desc> desc = f.pinned_descs(groups, {});
        ofl_engine_config config{sizeof(ofl_engine_config), 2, 1, OFL_TIMING_OFF, 1, 0};
        ofl_engine* engine = nullptr;
        CHECK_OK(ofl_engine_create(f.rt, desc.data(), 6, &config, f.compute, f.copy, &engine));
        void* p = nullptr;
        CHECK_STATUS(ofl_engine_skip(engine, 1), OFL_ERR_INVALID_ARGUMENT);
        CHECK_OK(ofl_engine_acquire(engine, 0, &p));
        CHECK_STATUS(ofl_engine_skip(engine, 1), OFL_ERR_INVALID_ARGUMENT);
        CHECK(std::strstr(ofl_last_error(), "still held") != nullptr);
        CHECK_OK(ofl_engine_release(engine, 0));
        for (std::uint32_t g = 1; g < 6; ++g) CHECK_OK(ofl_engine_skip(engine, g));
        CHECK_OK(ofl_engine_acquire(engine, 0, &p));  // the next step starts in order
        CHECK_OK(ofl_engine_release(engine, 0));
        CHECK_OK(ofl_engine_destroy(engine));
    }
    {  // Step timing (the default level): the same outputs, step figures only
        Fixture f(8 << 20);
        Shape step_timing{2, 1, 1};
        step_timing.timing = OFL_TIMING_STEP;
        CHECK(run_engine(f, groups, some, step_timing, steps).state == expected);
    }
    {  // The host 8 steps ahead over 14 steps of slow compute: the engine reads the early steps itself
       // (before their events are reused), the rest on request; every step's figures are its own.
        Fixture f(8 << 20);
        const int long_run = 14;
        const std::uint32_t delay = 1500;
        Run run = run_engine(f, groups, none, {2, 1, 8, delay}, long_run);
        CHECK(run.state == run_direct(groups, long_run));
        std::uint64_t late_waits = 0;
        for (int s = 0; s < long_run; ++s) {
            const ofl_step_metrics& m = run.metrics[s];
            CHECK(m.step == static_cast<std::uint64_t>(s));
            CHECK(m.compute_ms >= 6 * delay / 1000.0 * 0.9 && m.step_ms >= m.compute_ms * 0.99);
            if (s < 9) CHECK(m.host_waits == 0);  // steps 0-8 may always be queued before step 0 is done
            else late_waits += m.host_waits;
        }
        CHECK(late_waits >= 1);  // the device is far slower than queueing: back-pressure holds the host
    }
    {  // Traces: every group's copy ends before its compute starts; on one timeline the copy spans and the
       // compute spans each follow one another without overlap, and copies overlap compute somewhere.
        Fixture f(8 << 20);
        Shape traced{2, 1, 1, 3000};
        traced.trace = 1;
        Run run = run_engine(f, groups, some, traced, steps);
        CHECK(run.state == expected && run.spans.size() == static_cast<std::size_t>(steps));
        double copy_end = -1e300, compute_end = -1e300, prev_begin = -1;
        bool overlapped = false;
        std::vector<std::pair<double, double>> copies, computes;
        for (int s = 0; s < steps; ++s) {
            const double begin = run.metrics[s].begin_ms;
            CHECK(begin > prev_begin);
            prev_begin = begin;
            for (const ofl_group_span& g : run.spans[s]) {
                CHECK(g.streamed == (some[g.group] ? 0u : 1u));
                CHECK(g.compute_end_ms >= g.compute_start_ms);
                CHECK(begin + g.compute_start_ms >= compute_end - 1e-3);
                compute_end = begin + g.compute_end_ms;
                computes.push_back({begin + g.compute_start_ms, compute_end});
                if (!g.streamed) continue;
                CHECK(g.copy_end_ms >= g.copy_start_ms && g.copy_end_ms <= g.compute_start_ms + 1e-3);
                copies.push_back({begin + g.copy_start_ms, begin + g.copy_end_ms});
            }
        }
        std::sort(copies.begin(), copies.end());
        for (const auto& c : copies) {
            CHECK(c.first >= copy_end - 1e-3);
            copy_end = c.second;
            for (const auto& k : computes) overlapped |= c.first < k.second && k.first < c.second;
        }
        CHECK(overlapped);
    }
    {  // the copy stream held back 60 ms before the first step: compute waits for copies, and says so
        Fixture f(8 << 20);
        Run run = run_engine(f, groups, none, {2, 1, 1, 0, 60000}, steps);
        CHECK(run.state == expected);
        const ofl_step_metrics& first = run.metrics[0];
        CHECK(first.compute_idle_ms >= 30);  // 60 ms held, less whatever the host took to reach the first acquire
        CHECK(first.step_ms >= first.compute_idle_ms);
        CHECK(first.copy_busy_ms >= first.copy_ms * 0.99);
        CHECK(first.copy_ms > 0);
        CHECK(first.h2d_bytes == 70000u + 131072u + 99999u + 4096u + 150001u + 3u);
        for (std::size_t s = 1; s < run.metrics.size(); ++s) CHECK(run.metrics[s].compute_idle_ms < first.compute_idle_ms);
    }
    {  // one changed byte changes the output
        auto changed = groups;
        changed[2][777] ^= 1;
        CHECK(run_direct(changed, steps) != expected);
    }
    {  // misuse
        Fixture f(768 << 10);
        std::vector<ofl_group_desc> desc = f.pinned_descs(groups, {});
        ofl_engine_config config{sizeof(ofl_engine_config), 2, 2, OFL_TIMING_OFF, 1, 0};
        ofl_engine* engine = nullptr;
        CHECK_STATUS(ofl_engine_create(f.rt, desc.data(), 6, &config, f.compute, f.copy, &engine), OFL_ERR_INVALID_ARGUMENT);
        config.prefetch_depth = 1;
        config.steps_ahead = OFL_MAX_STEPS_AHEAD + 1;
        CHECK_STATUS(ofl_engine_create(f.rt, desc.data(), 6, &config, f.compute, f.copy, &engine), OFL_ERR_INVALID_ARGUMENT);
        CHECK(std::strstr(ofl_last_error(), "steps_ahead") != nullptr);
        config.steps_ahead = 1;
        config.slots = 6;  // 6 slots of 150272 bytes exceed the 768 KiB budget
        CHECK_STATUS(ofl_engine_create(f.rt, desc.data(), 6, &config, f.compute, f.copy, &engine), OFL_ERR_OUT_OF_DEVICE_MEMORY);
        CHECK_STATUS(ofl_engine_create(f.rt, desc.data(), 6, &config, f.compute, f.compute, &engine), OFL_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(ofl_stream_launch_host_func(f.compute, nullptr, nullptr), OFL_ERR_INVALID_ARGUMENT);
        config.slots = 2;
        std::vector<ofl_group_desc> pageable = desc;  // group 2 in ordinary memory: refused, as on cuda
        pageable[2].host_address = groups[2].data();
        CHECK_STATUS(ofl_engine_create(f.rt, pageable.data(), 6, &config, f.compute, f.copy, &engine), OFL_ERR_INVALID_ARGUMENT);
        CHECK(std::strstr(ofl_last_error(), "group 2 ") != nullptr && std::strstr(ofl_last_error(), "pageable host memory") != nullptr);
        CHECK_OK(ofl_engine_create(f.rt, desc.data(), 6, &config, f.compute, f.copy, &engine));
        void* p = nullptr;
        ofl_step_metrics m{};
        m.struct_size = sizeof m;
        CHECK_STATUS(ofl_engine_step_metrics(engine, 0, 1, &m), OFL_ERR_NOT_READY);
        CHECK_STATUS(ofl_engine_acquire(engine, 1, &p), OFL_ERR_INVALID_ARGUMENT);
        CHECK(std::strstr(ofl_last_error(), "expected group 0") != nullptr);
        CHECK_STATUS(ofl_engine_release(engine, 0), OFL_ERR_INVALID_ARGUMENT);
        CHECK_OK(ofl_engine_acquire(engine, 0, &p));
        CHECK_STATUS(ofl_engine_acquire(engine, 1, &p), OFL_ERR_INVALID_ARGUMENT);
        CHECK_OK(ofl_engine_release(engine, 0));
        // without timing the figures carry counters and NaN times
        for (std::uint32_t g = 1; g < 6; ++g) {
            CHECK_OK(ofl_engine_acquire(engine, g, &p));
            CHECK_OK(ofl_engine_release(engine, g));
        }
        CHECK_OK(ofl_engine_step_metrics(engine, 0, 1, &m));
        CHECK(m.timed == 0 && m.step_ms != m.step_ms && m.host_waits == 0 && m.h2d_bytes > 0);
        CHECK_OK(ofl_engine_destroy(engine));
        CHECK_STATUS(ofl_engine_destroy(engine), OFL_ERR_CLOSED);
        ofl_device_info info;
        std::memset(&info, 0, sizeof info);
        info.struct_size = sizeof info;
        CHECK_OK(ofl_runtime_info(f.rt, &info));
        CHECK(info.used_bytes == 2 * kTokens * kHidden * 4);  // the engine's region went back to the budget
    }
    return finish("test_engine");
}
