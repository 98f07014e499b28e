// cuda_check.hpp: checking CUDA calls.
//
// OFL_CUDA_CHECK(call) throws ofl::Error whose message names the call, the file, the line and the
// CUDA error name; an allocation failure maps to OFL_ERR_OUT_OF_DEVICE_MEMORY, anything else to
// OFL_ERR_DEVICE. OFL_CUDA_CHECK_NOTHROW is for destructors: it ignores the errors of a runtime that
// is shutting down and never throws.
#pragma once

#include <cuda_runtime.h>

#include "error.hpp"

namespace ofl {

[[noreturn]] inline void cuda_fail(cudaError_t err, const char* call, const char* file, int line) {
    (void)cudaGetLastError();  // clear a non-sticky error so the next call starts clean
    ofl_status status = err == cudaErrorMemoryAllocation ? OFL_ERR_OUT_OF_DEVICE_MEMORY : OFL_ERR_DEVICE;
    fail(status, call, " failed at ", file, ":", line, ": ", cudaGetErrorName(err), " (", cudaGetErrorString(err), ")");
}

}  // namespace ofl

#define OFL_CUDA_CHECK(call)                                                      \
    do {                                                                          \
        cudaError_t ofl_cuda_err_ = (call);                                       \
        if (ofl_cuda_err_ != cudaSuccess) ::ofl::cuda_fail(ofl_cuda_err_, #call, __FILE__, __LINE__); \
    } while (0)

#define OFL_CUDA_CHECK_NOTHROW(call)                 \
    do {                                             \
        cudaError_t ofl_cuda_err_ = (call);          \
        if (ofl_cuda_err_ != cudaSuccess) (void)cudaGetLastError(); \
    } while (0)
