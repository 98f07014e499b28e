/*
 * offload_workload.h: the kernels of the reference workloads (docs/WORKLOAD.md), in their own
 * library, liboffload_workload. They are users of the C API, not part of the core: on the host
 * backend they run through ofl_stream_launch_host_kernel, on cuda they launch on the stream's
 * cudaStream_t (ofl_stream_native_handle). Java binds these few functions by hand
 * (dev.offload.workload.MixKernels).
 */
#ifndef OFFLOAD_WORKLOAD_H
#define OFFLOAD_WORKLOAD_H

#include <stdint.h>

#include "offload.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OFLW_API __attribute__((visibility("default")))

/* One mix layer: mixes `bytes` bytes of weights into a state of tokens x hidden uint32 words,
 * using scratch of the same size. All three are device pointers. */
typedef struct oflw_mix_args {
    uint32_t* state;
    uint32_t* scratch;
    uint32_t tokens;
    uint32_t hidden;
    const unsigned char* weights;
    uint64_t bytes;
} oflw_mix_args;

/* An ofl_host_fn to launch as a host kernel (ofl_stream_launch_host_kernel, host backend): runs one
 * mix layer on the calling thread through device views; args is an oflw_mix_args*. */
OFLW_API void oflw_mix_host(void* args);
/* The same layer on host memory (all three pointers are host pointers): a reference computation. */
OFLW_API void oflw_mix_on_host_memory(void* args);
/* 1 when the CUDA kernels are compiled in. */
OFLW_API uint32_t oflw_has_cuda(void);
/* Launches one mix layer on a cudaStream_t; returns the cudaError_t (0 = cudaSuccess). */
OFLW_API int32_t oflw_mix_cuda(void* cuda_stream, const oflw_mix_args* args);
/* Loads the CUDA kernels now (CUDA loads modules lazily otherwise); returns the cudaError_t. */
OFLW_API int32_t oflw_load_kernels(void);
/* The linear workload's elementwise steps (its products are cuBLAS calls): bf16 (uint16_t bits)
 * device pointers, fp32 arithmetic, one rounding per output; each launches on a cudaStream_t and
 * returns the cudaError_t (-1 when built without nvcc).
 * rmsnorm:    y[t, c] = x[t, c] / sqrt(mean_c(x[t, c]^2) + eps) * w[c]
 * expand_add: y[t, h*hd + e] += src[t*src_stride + (h / group)*hd + e], h < heads (bias: stride 0, group 1, hd 1)
 * silu_mul:   g[i] = silu(g[i]) * m[i]
 * embed_add:  x[t, c] += table[ids[t], c] */
OFLW_API int32_t oflw_rmsnorm_bf16(void* cuda_stream, const uint16_t* x, const uint16_t* w, uint16_t* y, uint32_t tokens,
                                   uint32_t dim, float eps);
OFLW_API int32_t oflw_expand_add_bf16(void* cuda_stream, uint16_t* y, const uint16_t* src, uint64_t src_stride, uint32_t tokens,
                                      uint32_t heads, uint32_t group, uint32_t head_dim);
OFLW_API int32_t oflw_silu_mul_bf16(void* cuda_stream, uint16_t* g, const uint16_t* m, uint64_t count);
OFLW_API int32_t oflw_embed_add_bf16(void* cuda_stream, uint16_t* x, const uint16_t* table, const int32_t* ids, uint32_t tokens,
                                     uint32_t dim);
/* Loads the linear kernels now; returns the cudaError_t. */
OFLW_API int32_t oflw_load_linear_kernels(void);
/* cudaGetErrorName of a code returned above. */
OFLW_API const char* oflw_cuda_error_name(int32_t code);

#ifdef __cplusplus
}
#endif

#endif /* OFFLOAD_WORKLOAD_H */
