// host_backend.hpp: the factory of the host backend.
#pragma once

#include <memory>

#include "backend.hpp"

namespace ofl {

// index: the emulated device's ordinal ("host:N"; plain "host" is host:0). Each backend has its own
// streams and worker threads; its Device has its own arena ledger and budget.
std::unique_ptr<Backend> make_host_backend(int index = 0);

}  // namespace ofl
