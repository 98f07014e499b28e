// mix_cuda.hpp: launching the reference workload's kernel on a CUDA stream.
#pragma once

#include <cuda_runtime.h>

#include "workload/mix.hpp"

namespace ofl {

void mix_on_cuda(const MixLaunch& launch, cudaStream_t stream);

}  // namespace ofl
