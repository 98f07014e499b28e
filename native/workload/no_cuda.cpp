// no_cuda.cpp: the CUDA entry points of liboffload_workload when it is built without nvcc.
#include "offload_workload.h"

extern "C" uint32_t oflw_has_cuda(void) { return 0; }
extern "C" int32_t oflw_mix_cuda(void*, const oflw_mix_args*) { return -1; }
extern "C" int32_t oflw_load_kernels(void) { return -1; }
extern "C" const char* oflw_cuda_error_name(int32_t) { return "the CUDA kernels are not compiled into liboffload_workload"; }
