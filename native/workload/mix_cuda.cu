// mix_cuda.cu: the mix workload's kernel on the GPU (see mix.hpp for the arithmetic).
// One warp per (token, row): lanes read consecutive words (coalesced) and a shuffle reduction sums
// them; rows fold into the scratch with atomicXor, which is order-free, so the result is the same
// bit for bit as the host's.
#include <cuda_runtime.h>

#include <cstdint>

#include "mix.hpp"

namespace ofl {

constexpr int kWarpsPerBlock = 8;

__global__ void mix_rows(const std::uint32_t* state, std::uint32_t* scratch, std::uint32_t tokens, std::uint32_t hidden,
                         const unsigned char* weights, std::uint64_t bytes, std::uint64_t rows, bool aligned) {
    std::uint64_t warp = (static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
    unsigned lane = threadIdx.x % 32;
    if (warp >= rows * tokens) return;
    std::uint32_t t = static_cast<std::uint32_t>(warp / rows);
    std::uint64_t r = warp % rows;
    std::uint64_t words = (bytes + 3) / 4;
    std::uint64_t base = r * hidden;
    const std::uint32_t* x = state + static_cast<std::uint64_t>(t) * hidden;
    std::uint32_t acc = 0;
    for (std::uint64_t c = lane; c < hidden && base + c < words; c += 32) {
        std::uint64_t i = base + c;
        std::uint32_t w = aligned && 4 * i + 4 <= bytes ? *reinterpret_cast<const std::uint32_t*>(weights + 4 * i)
                                                        : mix::word_at(weights, bytes, i);
        acc += w * (x[c] | 1u);
    }
    for (int offset = 16; offset > 0; offset /= 2) acc += __shfl_down_sync(0xffffffffu, acc, offset);
    if (lane == 0) atomicXor(scratch + static_cast<std::uint64_t>(t) * hidden + r % hidden, mix::contribution(acc, r));
}

__global__ void mix_update(std::uint32_t* state, const std::uint32_t* scratch, std::uint32_t tokens, std::uint32_t hidden) {
    std::uint64_t i = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= static_cast<std::uint64_t>(tokens) * hidden) return;
    std::uint32_t c = static_cast<std::uint32_t>(i % hidden);
    state[i] = mix::update(state[i], scratch[i], c);
}

cudaError_t mix_on_cuda(const MixLaunch& m, cudaStream_t stream) {
    std::uint64_t cells = static_cast<std::uint64_t>(m.tokens) * m.hidden;
    cudaError_t err = cudaMemsetAsync(m.scratch, 0, cells * 4, stream);
    if (err != cudaSuccess) return err;
    std::uint64_t words = (m.bytes + 3) / 4;
    std::uint64_t rows = (words + m.hidden - 1) / m.hidden;
    std::uint64_t warps = rows * m.tokens;
    if (warps > 0) {
        unsigned blocks = static_cast<unsigned>((warps + kWarpsPerBlock - 1) / kWarpsPerBlock);
        bool aligned = reinterpret_cast<std::uintptr_t>(m.weights) % 4 == 0;  // packed tensors are; a caller's may not be
        mix_rows<<<blocks, kWarpsPerBlock * 32, 0, stream>>>(m.state, m.scratch, m.tokens, m.hidden, m.weights, m.bytes, rows,
                                                             aligned);
        err = cudaGetLastError();
        if (err != cudaSuccess) return err;
    }
    unsigned blocks = static_cast<unsigned>((cells + 255) / 256);
    mix_update<<<blocks, 256, 0, stream>>>(m.state, m.scratch, m.tokens, m.hidden);
    return cudaGetLastError();
}

}  // namespace ofl

extern "C" int32_t oflw_mix_cuda(void* cuda_stream, const oflw_mix_args* args) {
    if (args == nullptr || args->hidden == 0 || args->tokens == 0) return static_cast<int32_t>(cudaErrorInvalidValue);
    return static_cast<int32_t>(ofl::mix_on_cuda(*args, static_cast<cudaStream_t>(cuda_stream)));
}

extern "C" const char* oflw_cuda_error_name(int32_t code) { return cudaGetErrorName(static_cast<cudaError_t>(code)); }

extern "C" int32_t oflw_load_kernels(void) {
    cudaFuncAttributes attributes{};
    cudaError_t err = cudaFuncGetAttributes(&attributes, ofl::mix_rows);
    if (err == cudaSuccess) err = cudaFuncGetAttributes(&attributes, ofl::mix_update);
    return static_cast<int32_t>(err);
}

extern "C" uint32_t oflw_has_cuda(void) { return 1; }
