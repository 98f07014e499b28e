// device_arena.hpp: the host backend's "device memory", which host code cannot touch.
//
// One runtime's device memory is one memfd, sized (sparsely) to the arena, mapped twice:
//  - the device range, which is what device addresses point into: a MAP_SHARED mapping of a second,
//    zero-length memfd, so that any load or store through a device address is past that file's end
//    and raises SIGBUS. C code dies of it at once; HotSpot turns it into java.lang.InternalError for
//    MemorySegment and Unsafe accesses and goes on (PROT_NONE would raise SIGSEGV, which kills the JVM);
//  - the view range, a read-write mapping of the real memfd at a second address: device address
//    base + off is view address view_base + off. Only the backend's copy engine (stream copies and
//    fills) and host kernels, through ofl_device_view, use it.
// Translation is one range check and an add, without a lock (the two bases never change), so the
// step path's copies pay nothing for it. Allocation is first-fit over 256-byte-aligned ranges (the
// alignment cudaMalloc gives), under a mutex: it is never on the step path (engines allocate once).
// Freed whole pages are punched out of the memfd, so the RAM goes back to the system. The arena's
// size is the runtime's budget, doubled plus 256 MiB of address space for alignment and
// fragmentation: it costs address space only; the budget itself is enforced by the Device's ledger.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>

namespace ofl {

class DeviceArena {
public:
    explicit DeviceArena(std::uint64_t budget);
    ~DeviceArena();
    DeviceArena(const DeviceArena&) = delete;
    DeviceArena& operator=(const DeviceArena&) = delete;

    // A device address of bytes (> 0), 256-aligned; throws OFL_ERR_OUT_OF_DEVICE_MEMORY when no range fits.
    void* allocate(std::size_t bytes);
    void free(void* device) noexcept;

    // The view of a device address (any address inside the device range), or p itself when it is
    // not a device address of this arena (host memory).
    void* translate(const void* p) const noexcept {
        auto at = reinterpret_cast<std::uintptr_t>(p);
        if (at - device_base_ < size_) return reinterpret_cast<void*>(view_base_ + (at - device_base_));
        return const_cast<void*>(p);
    }
    // As translate, for a device address of any arena of the process (a peer copy's source on another
    // emulated device, host:N); takes the process-wide list's lock: never on the step path.
    static void* translate_any(const void* p) noexcept;
    bool is_device(const void* p) const noexcept { return reinterpret_cast<std::uintptr_t>(p) - device_base_ < size_; }
    // Whether [p, p + bytes) lies inside one live allocation.
    bool live(const void* p, std::uint64_t bytes) const;

private:
    std::uintptr_t device_base_ = 0;
    std::uintptr_t view_base_ = 0;
    std::uint64_t size_ = 0;
    int data_fd_ = -1;
    mutable std::mutex mutex_;
    std::map<std::uint64_t, std::uint64_t> free_;  // offset -> length, coalesced
    std::map<std::uint64_t, std::uint64_t> used_;  // offset -> bytes asked (the range is that, 256-rounded)
};

}  // namespace ofl
