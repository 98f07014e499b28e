// mix.hpp: the arithmetic of the mix workload's one kernel, shared by its host function
// (mix_host.cpp), its CUDA kernel (mix_cuda.cu) and mirrored by the Java reference
// (dev.offload.workload.ReferenceMix). docs/WORKLOAD.md states it in words. The workload is a user
// of the C API (liboffload_workload), not part of the core.
//
// For a tensor of B bytes read as little-endian uint32 words (the last one zero-padded), arranged
// in rows of H words, and a state of T tokens x H words:
//   acc[t][r]    = sum over c of word[r*H + c] * (x[t][c] | 1)         (mod 2^32)
//   delta[t][j]  = XOR over rows r with r % H == j of fmix(acc[t][r] + r)
//   x'[t][c]     = rotl(x[t][c] ^ delta[t][c], 5) * 0x9E3779B1 + (c + 1)
// Multiplying by an odd number is a bijection mod 2^32 and fmix is a bijection, so every weight
// byte changes the result; sums and XORs are order-free, so a parallel kernel agrees bit for bit.
#pragma once

#include <cstdint>
#include <cstring>

#include "offload_workload.h"

#ifdef __CUDACC__
#define OFL_HD __host__ __device__ __forceinline__
#else
#define OFL_HD inline
#endif

namespace ofl {
namespace mix {

OFL_HD std::uint32_t fmix(std::uint32_t h) {
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

OFL_HD std::uint32_t contribution(std::uint32_t acc, std::uint64_t row) {
    return fmix(acc + static_cast<std::uint32_t>(row));
}

OFL_HD std::uint32_t update(std::uint32_t x, std::uint32_t delta, std::uint32_t column) {
    std::uint32_t v = x ^ delta;
    return ((v << 5) | (v >> 27)) * 0x9e3779b1u + (column + 1u);
}

// Word i of the weights, little-endian, bytes past the end read as zero.
OFL_HD std::uint32_t word_at(const unsigned char* weights, std::uint64_t bytes, std::uint64_t i) {
    std::uint32_t w = 0;
    for (int b = 0; b < 4; ++b) {
        std::uint64_t at = 4 * i + b;
        if (at < bytes) w |= static_cast<std::uint32_t>(weights[at]) << (8 * b);
    }
    return w;
}

}  // namespace mix

using MixLaunch = oflw_mix_args;

// Runs the kernel on the calling thread (the host backend's compute worker).
void mix_on_host(const MixLaunch& launch);

}  // namespace ofl
