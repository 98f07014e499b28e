// cuda_backend.hpp: the factory of the cuda backend (compiled only where nvcc was found).
#pragma once

#include <memory>
#include <string>

#include "backend.hpp"

namespace ofl {

// Number of CUDA devices that answer; 0 with the reason in why when none does (no driver, no device).
int cuda_device_count(std::string& why) noexcept;
std::unique_ptr<Backend> make_cuda_backend(int device_index);

}  // namespace ofl
