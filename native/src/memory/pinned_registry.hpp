// pinned_registry.hpp: which host memory is pinned, for the whole process.
//
// Pinned host memory belongs to the process, not to the runtime that allocated it: on cuda it is
// allocated portable (cudaHostAllocPortable), so every device's copies from it run at pinned speed;
// on the host backend a component replicated on several emulated devices (host:0, host:1) is packed
// once and every device's engine streams from the same slabs. So the ranges live in one registry
// per process, and a runtime asking whether a range is pinned asks this registry, whichever runtime
// allocated it.
#pragma once

#include <cstddef>

namespace ofl::pinned {

// Notes [p, p + bytes) as pinned (a new allocation); remove() forgets it before it is freed.
void add(const void* p, std::size_t bytes);
void remove(const void* p) noexcept;
// Whether [p, p + bytes) lies inside one registered range.
bool contains(const void* p, std::size_t bytes);

}  // namespace ofl::pinned
