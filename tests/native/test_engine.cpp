// The prefetch engine on the host backend: outputs equal a direct computation bit for bit, under
// slow compute and deep prefetch too; the protocol's misuse gets clear errors; budgets hold.
#include <cstring>
#include <random>
#include <vector>

#include "check.hpp"
#include "workload/mix.hpp"

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
    ~Fixture() {
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

// Runs `steps` steps through an engine; returns the final state.
std::vector<std::uint32_t> run_engine(Fixture& f, const std::vector<std::vector<unsigned char>>& groups,
                                      const std::vector<std::uint32_t>& resident, std::uint32_t slots, std::uint32_t depth,
                                      int steps, std::uint32_t delay_us) {
    std::vector<ofl_group_desc> desc(groups.size());
    for (std::size_t g = 0; g < groups.size(); ++g) desc[g] = {groups[g].data(), groups[g].size(), resident[g], 0};
    ofl_engine_config config{sizeof(ofl_engine_config), slots, depth, 1};
    ofl_engine* engine = nullptr;
    CHECK_OK(ofl_engine_create(f.rt, desc.data(), static_cast<std::uint32_t>(desc.size()), &config, f.compute, f.copy, &engine));
    std::vector<std::uint32_t> state = initial_state();
    CHECK_OK(ofl_copy_async(f.compute, f.state, state.data(), state.size() * 4, OFL_COPY_HOST_TO_DEVICE));
    for (int s = 0; s < steps; ++s) {
        for (std::uint32_t g = 0; g < groups.size(); ++g) {
            void* weights = nullptr;
            CHECK_OK(ofl_engine_acquire(engine, g, &weights));
            if (delay_us) CHECK_OK(ofl_stream_delay(f.compute, delay_us));  // slow compute: reads its slot late
            CHECK_OK(ofl_workload_mix_async(f.compute, f.state, f.scratch, kTokens, kHidden, weights, groups[g].size()));
            CHECK_OK(ofl_engine_release(engine, g));
        }
        ofl_step_metrics m{};
        m.struct_size = sizeof m;
        if (s >= 1) {  // step s - 1 was read when step s completed, without waiting
            CHECK_OK(ofl_engine_step_metrics(engine, s - 1, 0, &m));
            CHECK(m.step == static_cast<std::uint64_t>(s - 1) && m.timed == 1 && m.step_ms > 0 && m.compute_ms > 0);
        }
        CHECK_STATUS(ofl_engine_step_metrics(engine, s + 1, 1, &m), OFL_ERR_NOT_READY);
    }
    ofl_step_metrics last{};
    last.struct_size = sizeof last;
    CHECK_OK(ofl_engine_step_metrics(engine, steps - 1, 1, &last));
    CHECK(last.step == static_cast<std::uint64_t>(steps - 1) && last.step_ms > 0);
    CHECK_OK(ofl_copy_async(f.compute, state.data(), f.state, state.size() * 4, OFL_COPY_DEVICE_TO_HOST));
    CHECK_OK(ofl_stream_synchronize(f.compute));
    CHECK_OK(ofl_engine_destroy(engine));
    return state;
}

std::vector<std::uint32_t> run_direct(const std::vector<std::vector<unsigned char>>& groups, int steps) {
    std::vector<std::uint32_t> state = initial_state(), scratch(state.size());
    for (int s = 0; s < steps; ++s)
        for (const auto& g : groups) ofl::mix_on_host({state.data(), scratch.data(), kTokens, kHidden, g.data(), g.size()});
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
    const int steps = 3;
    const auto expected = run_direct(groups, steps);
    std::vector<std::uint32_t> none(groups.size(), 0), some = {1, 0, 0, 1, 0, 1};

    {  // several ring shapes, with and without resident groups
        Fixture f(8 << 20);
        CHECK(run_engine(f, groups, none, 1, 0, steps, 0) == expected);
        CHECK(run_engine(f, groups, none, 2, 1, steps, 0) == expected);
        CHECK(run_engine(f, groups, some, 3, 2, steps, 0) == expected);
        CHECK(run_engine(f, groups, {1, 1, 1, 1, 1, 1}, 0, 0, steps, 0) == expected);
    }
    {  // slow compute with deep prefetch: a copy that did not wait for its slot's release would corrupt the output
        Fixture f(8 << 20);
        CHECK(run_engine(f, groups, none, 4, 3, steps, 20000) == expected);
        CHECK(run_engine(f, groups, none, 2, 1, steps, 20000) == expected);
    }
    {  // one changed byte changes the output
        auto changed = groups;
        changed[2][777] ^= 1;
        CHECK(run_direct(changed, steps) != expected);
    }
    {  // misuse
        Fixture f(1 << 20);
        std::vector<ofl_group_desc> desc;
        for (const auto& g : groups) desc.push_back({g.data(), g.size(), 0, 0});
        ofl_engine_config config{sizeof(ofl_engine_config), 2, 2, 0};
        ofl_engine* engine = nullptr;
        CHECK_STATUS(ofl_engine_create(f.rt, desc.data(), 6, &config, f.compute, f.copy, &engine), OFL_ERR_INVALID_ARGUMENT);
        config.prefetch_depth = 1;
        config.slots = 8;  // 8 slots of 150272 bytes exceed the 1 MiB budget
        CHECK_STATUS(ofl_engine_create(f.rt, desc.data(), 6, &config, f.compute, f.copy, &engine), OFL_ERR_OUT_OF_DEVICE_MEMORY);
        CHECK_STATUS(ofl_engine_create(f.rt, desc.data(), 6, &config, f.compute, f.compute, &engine), OFL_ERR_INVALID_ARGUMENT);
        config.slots = 2;
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
