// no_cuda.cpp: the CUDA entry points of liboffload_workload when it is built without nvcc.
#include "offload_workload.h"

extern "C" uint32_t oflw_has_cuda(void) { return 0; }
extern "C" int32_t oflw_mix_cuda(void*, const oflw_mix_args*) { return -1; }
extern "C" int32_t oflw_load_kernels(void) { return -1; }
extern "C" const char* oflw_cuda_error_name(int32_t) { return "the CUDA kernels are not compiled into liboffload_workload"; }
extern "C" int32_t oflw_rmsnorm_bf16(void*, const uint16_t*, const uint16_t*, uint16_t*, uint32_t, uint32_t, float) { return -1; }
extern "C" int32_t oflw_expand_add_bf16(void*, uint16_t*, const uint16_t*, uint64_t, uint32_t, uint32_t, uint32_t, uint32_t) { return -1; }
extern "C" int32_t oflw_silu_mul_bf16(void*, uint16_t*, const uint16_t*, uint64_t) { return -1; }
extern "C" int32_t oflw_embed_add_bf16(void*, uint16_t*, const uint16_t*, const int32_t*, uint32_t, uint32_t) { return -1; }
extern "C" int32_t oflw_load_linear_kernels(void) { return -1; }
