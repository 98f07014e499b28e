// mix_host.cpp: the mix workload's kernel on the CPU (see mix.hpp for the arithmetic), and the host
// function that runs it in stream order.
#include <algorithm>
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

extern "C" void oflw_mix_host(void* args) { ofl::mix_on_host(*static_cast<const oflw_mix_args*>(args)); }
