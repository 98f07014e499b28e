// mix_host.cpp: the mix workload's kernel on the CPU (see mix.hpp for the arithmetic), and the host
// kernel that runs it in stream order (ofl_stream_launch_host_kernel): it reaches the state, the
// scratch and the weights through device views (ofl_device_view), as emulated device code on the
// strict host backend must. Launched any other way (as a host function), the views are refused: the
// kernel then writes nothing and says so on stderr, once (a void function has no status to return,
// and the workload's verification then fails, naming the run).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <vector>

#include "mix.hpp"

namespace ofl {

void mix_on_host(const MixLaunch& m) {
    const std::uint64_t H = m.hidden;
    if (H == 0) return;
    const std::uint64_t full_words = m.bytes / 4;
    const std::uint64_t words = (m.bytes + 3) / 4;
    const std::uint64_t rows = (words + H - 1) / H;
    std::vector<std::uint32_t> odd(H);  // a kernel launch, not the engine's steady state
    for (std::uint32_t t = 0; t < m.tokens; ++t) {
        std::uint32_t* x = m.state + t * H;
        std::uint32_t* delta = m.scratch + t * H;
        std::fill(delta, delta + H, 0u);
        for (std::uint64_t c = 0; c < H; ++c) odd[c] = x[c] | 1u;
        for (std::uint64_t r = 0; r < rows; ++r) {
            const std::uint64_t base = r * H;
            const std::uint64_t n = std::min<std::uint64_t>(H, words - base);
            std::uint32_t acc = 0;
            if (base + n <= full_words) {
                const unsigned char* p = m.weights + 4 * base;
                for (std::uint64_t c = 0; c < n; ++c) {
                    std::uint32_t w;
                    std::memcpy(&w, p + 4 * c, 4);  // little-endian hosts only (x86-64, aarch64)
                    acc += w * odd[c];
                }
            } else {
                for (std::uint64_t c = 0; c < n; ++c) acc += mix::word_at(m.weights, m.bytes, base + c) * odd[c];
            }
            delta[r % H] ^= mix::contribution(acc, r);
        }
        for (std::uint64_t c = 0; c < H; ++c) x[c] = mix::update(x[c], delta[c], static_cast<std::uint32_t>(c));
    }
}

}  // namespace ofl

namespace {

std::atomic<bool> reported{false};

template <typename T>
T* view(const void* device, std::uint64_t bytes) {
    void* host = nullptr;
    if (ofl_device_view(device, bytes, &host) == OFL_OK) return static_cast<T*>(host);
    if (!reported.exchange(true)) std::fprintf(stderr, "oflw_mix_host: no view of device memory: %s\n", ofl_last_error());
    return nullptr;
}

}  // namespace

extern "C" void oflw_mix_on_host_memory(void* argument) { ofl::mix_on_host(*static_cast<const oflw_mix_args*>(argument)); }

extern "C" void oflw_mix_host(void* argument) {
    const auto& args = *static_cast<const oflw_mix_args*>(argument);
    if (args.hidden == 0 || args.tokens == 0) return;
    const std::uint64_t state_bytes = std::uint64_t{args.tokens} * args.hidden * 4;
    ofl::MixLaunch on_views = args;
    on_views.state = view<std::uint32_t>(args.state, state_bytes);
    on_views.scratch = view<std::uint32_t>(args.scratch, state_bytes);
    on_views.weights = args.bytes > 0 ? view<const unsigned char>(args.weights, args.bytes) : args.weights;
    if (!on_views.state || !on_views.scratch || (args.bytes > 0 && !on_views.weights)) return;
    ofl::mix_on_host(on_views);
}
