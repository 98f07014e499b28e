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
// step path's copies pay nothing for it. The Device makes one allocation of it, at its first device
// need, for the runtime's whole budget (device.hpp: engines' regions and device buffers are ranges of
// that allocation, kept by the Device's ledger and region allocator); the arena is sized for that one
// allocation: the budget, page-rounded, plus 1 MiB of slack for the Device's rounding (64 KiB). Its
// pages are punched out of the memfd (the RAM goes back to the system) when the runtime ends and the
// Device frees the allocation. A view is granted only for a range the Device calls viewable (live():
// inside one live buffer or region of its ledger, or space still fenced by queued work): the arena
// alone knows just the one allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>

namespace ofl {

class ViewableRanges;

class DeviceArena {
public:
    // ranges: what of the runtime's memory a host kernel may view (the Device), which live() asks; it
    // outlives every use of the arena (the Device owns both).
    DeviceArena(std::uint64_t budget, const ViewableRanges& ranges);
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
    // emulated device, host:N); takes the process-wide list's lock (peer copies only).
    static void* translate_any(const void* p) noexcept;
    bool is_device(const void* p) const noexcept { return reinterpret_cast<std::uintptr_t>(p) - device_base_ < size_; }
    // Whether p is a device address of any arena of the process (another emulated device's
    // included): a scan of a fixed table of atomic ranges, without a lock (the locked list only
    // while more than 64 arenas live). A user copy's host side that is not pinned asks it.
    static bool is_device_any(const void* p) noexcept;
    // Whether [p, p + bytes) is a range of this arena that a host kernel may view (ViewableRanges).
    bool live(const void* p, std::uint64_t bytes) const;

private:
    std::uintptr_t device_base_ = 0;
    std::uintptr_t view_base_ = 0;
    std::uint64_t size_ = 0;
    int data_fd_ = -1;
    bool spilled_ = false;  // left out of the lock-free range table (more than 64 arenas)
    const ViewableRanges& ranges_;
    mutable std::mutex mutex_;
    std::map<std::uint64_t, std::uint64_t> free_;  // offset -> length, coalesced
    std::map<std::uint64_t, std::uint64_t> used_;  // offset -> bytes asked (the range is that, 256-rounded)
};

}  // namespace ofl
