// linear_cuda.cu: the linear workload's elementwise steps on the GPU (docs/WORKLOAD.md, "The linear
// workload"); its matrix products are cuBLAS calls made from Java. bf16 in and out, fp32 arithmetic
// inside, one rounding to bf16 (nearest even) per output, as LinearMath does on the host.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "offload_workload.h"

namespace ofl {

__device__ inline float bf(const std::uint16_t* p, std::uint64_t i) {
    return __uint_as_float(static_cast<std::uint32_t>(p[i]) << 16);
}

__device__ inline std::uint16_t to_bf(float f) {
    return __bfloat16_as_ushort(__float2bfloat16_rn(f));
}

// One block of 256 threads per token: a tree reduction of the squares in fp32.
__global__ void rmsnorm(const std::uint16_t* x, const std::uint16_t* w, std::uint16_t* y, std::uint32_t dim, float eps) {
    __shared__ float partial[256];
    const std::uint64_t row = static_cast<std::uint64_t>(blockIdx.x) * dim;
    float sum = 0;
    for (std::uint32_t c = threadIdx.x; c < dim; c += blockDim.x) {
        float v = bf(x, row + c);
        sum += v * v;
    }
    partial[threadIdx.x] = sum;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s /= 2) {
        if (threadIdx.x < s) partial[threadIdx.x] += partial[threadIdx.x + s];
        __syncthreads();
    }
    float r = 1.0f / sqrtf(partial[0] / static_cast<float>(dim) + eps);
    for (std::uint32_t c = threadIdx.x; c < dim; c += blockDim.x) y[row + c] = to_bf(bf(x, row + c) * r * bf(w, c));
}

__global__ void expand_add(std::uint16_t* y, const std::uint16_t* src, std::uint64_t src_stride, std::uint32_t tokens,
                           std::uint32_t heads, std::uint32_t group, std::uint32_t head_dim) {
    std::uint64_t width = static_cast<std::uint64_t>(heads) * head_dim;
    std::uint64_t i = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= width * tokens) return;
    std::uint64_t t = i / width, col = i % width;
    std::uint64_t h = col / head_dim, e = col % head_dim;
    y[i] = to_bf(bf(y, i) + bf(src, t * src_stride + (h / group) * head_dim + e));
}

__global__ void silu_mul(std::uint16_t* g, const std::uint16_t* m, std::uint64_t count) {
    std::uint64_t i = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= count) return;
    float v = bf(g, i);
    g[i] = to_bf(v / (1.0f + expf(-v)) * bf(m, i));
}

__global__ void embed_add(std::uint16_t* x, const std::uint16_t* table, const std::int32_t* ids, std::uint32_t tokens,
                          std::uint32_t dim) {
    std::uint64_t i = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= static_cast<std::uint64_t>(tokens) * dim) return;
    std::uint64_t t = i / dim, c = i % dim;
    x[i] = to_bf(bf(x, i) + bf(table, static_cast<std::uint64_t>(ids[t]) * dim + c));
}

inline unsigned blocks_for(std::uint64_t n) { return static_cast<unsigned>((n + 255) / 256); }

}  // namespace ofl

extern "C" int32_t oflw_rmsnorm_bf16(void* stream, const uint16_t* x, const uint16_t* w, uint16_t* y, uint32_t tokens, uint32_t dim,
                                     float eps) {
    if (tokens == 0 || dim == 0) return static_cast<int32_t>(cudaErrorInvalidValue);
    ofl::rmsnorm<<<tokens, 256, 0, static_cast<cudaStream_t>(stream)>>>(x, w, y, dim, eps);
    return static_cast<int32_t>(cudaGetLastError());
}

extern "C" int32_t oflw_expand_add_bf16(void* stream, uint16_t* y, const uint16_t* src, uint64_t src_stride, uint32_t tokens,
                                        uint32_t heads, uint32_t group, uint32_t head_dim) {
    std::uint64_t n = static_cast<std::uint64_t>(tokens) * heads * head_dim;
    if (n == 0 || group == 0) return static_cast<int32_t>(cudaErrorInvalidValue);
    ofl::expand_add<<<ofl::blocks_for(n), 256, 0, static_cast<cudaStream_t>(stream)>>>(y, src, src_stride, tokens, heads, group, head_dim);
    return static_cast<int32_t>(cudaGetLastError());
}

extern "C" int32_t oflw_silu_mul_bf16(void* stream, uint16_t* g, const uint16_t* m, uint64_t count) {
    if (count == 0) return static_cast<int32_t>(cudaErrorInvalidValue);
    ofl::silu_mul<<<ofl::blocks_for(count), 256, 0, static_cast<cudaStream_t>(stream)>>>(g, m, count);
    return static_cast<int32_t>(cudaGetLastError());
}

extern "C" int32_t oflw_embed_add_bf16(void* stream, uint16_t* x, const uint16_t* table, const int32_t* ids, uint32_t tokens,
                                       uint32_t dim) {
    std::uint64_t n = static_cast<std::uint64_t>(tokens) * dim;
    if (n == 0) return static_cast<int32_t>(cudaErrorInvalidValue);
    ofl::embed_add<<<ofl::blocks_for(n), 256, 0, static_cast<cudaStream_t>(stream)>>>(x, table, ids, tokens, dim);
    return static_cast<int32_t>(cudaGetLastError());
}

extern "C" int32_t oflw_load_linear_kernels(void) {
    cudaFuncAttributes a{};
    cudaError_t err = cudaFuncGetAttributes(&a, ofl::rmsnorm);
    if (err == cudaSuccess) err = cudaFuncGetAttributes(&a, ofl::expand_add);
    if (err == cudaSuccess) err = cudaFuncGetAttributes(&a, ofl::silu_mul);
    if (err == cudaSuccess) err = cudaFuncGetAttributes(&a, ofl::embed_add);
    return static_cast<int32_t>(err);
}
