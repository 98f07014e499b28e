// host_backend.hpp: the factory of the host backend.
#pragma once

#include <memory>

#include "backend.hpp"

namespace ofl {

std::unique_ptr<Backend> make_host_backend();

}  // namespace ofl
