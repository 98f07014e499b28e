// device.hpp: one opened runtime: a backend, its budget ledger, its one device allocation, and how
// it was chosen.
//
// Device is what every handle of a runtime shares (through shared_ptr), so buffers, streams and
// events stay valid after the runtime handle itself is destroyed, and objects of two runtimes can
// be told apart (mixing them is an invalid argument).
//
// Device memory (the design's memory model): the budget is allocated on the device once, at the
// runtime's first device need (not at open: a runtime used only for pinned host buffers, or a
// preview, takes no device memory, and on cuda the memory is not held before the caller has shown
// it needs it), and freed when the Device goes. Device buffers and engine regions are ranges of it
// (memory/region_allocator.hpp). The ledger keeps the books as before: the bytes asked for, never
// above the budget, and its peak. A range is rounded up to 256 bytes inside the arena, which is the
// budget plus 64 KiB for that rounding (256 ranges' worth: a budget summed from odd buffer sizes
// fits); beyond that, or where free space is split, OUT_OF_DEVICE_MEMORY says "fragmented".
//
// Device-wide waits: ofl_device_buffer_destroy keeps cudaFree's meaning (it waits for the device,
// so queued work never touches freed memory). Destroying a host buffer (freeing pinned memory, or
// unregistering caller memory that the caller then unmaps) waits for every runtime of the process
// (release_host_buffer): pinned memory is pinned for the whole process (portable on cuda, the
// process-wide table on host), so any device's copy stream may still be reading it, and neither
// cudaFreeHost nor cudaHostUnregister waits for another device. Both are counted (device_syncs,
// ofl_runtime_device_syncs); neither is on a turn (a turn frees no host copy). An engine's region
// goes back without waiting (release_region): fenced by events at its last use.
//
// Live Devices are listed process-wide (weakly): for that wait, and so that the host side of a copy
// is refused when it is a device address of any runtime (check_host_range).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend.hpp"
#include "memory/device_ledger.hpp"
#include "memory/region_allocator.hpp"

namespace ofl {

// Pinned host bytes held now and at most, for the peak-host-bytes metric.
class HostUsage {
public:
    void claim(std::uint64_t bytes) noexcept {
        std::uint64_t now = used_.fetch_add(bytes) + bytes;
        std::uint64_t peak = peak_.load();
        while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
        }
    }
    void release(std::uint64_t bytes) noexcept { used_.fetch_sub(bytes); }
    std::uint64_t used() const noexcept { return used_.load(); }
    std::uint64_t peak() const noexcept { return peak_.load(); }

private:
    std::atomic<std::uint64_t> used_{0};
    std::atomic<std::uint64_t> peak_{0};
};

class Device final : public ViewableRanges, public std::enable_shared_from_this<Device> {
public:
    // name: "auto", "host", "cuda", "cuda:N". budget 0 = the backend's default.
    static std::shared_ptr<Device> open(const std::string& name, std::uint64_t budget);

    Backend& backend() noexcept { return *backend_; }
    DeviceLedger& ledger() noexcept { return ledger_; }
    const std::string& note() const noexcept { return note_; }
    HostUsage& host_usage() noexcept { return host_usage_; }

    // A device buffer counted against the budget, from the arena's high end, usable from any stream
    // at once (a fenced range is waited for on the host: an event wait, never the whole device).
    void* allocate(std::uint64_t bytes);
    // Frees a device buffer as cudaFree does: waits for the device first (counted).
    void deallocate(void* p) noexcept;
    // Async copies whose host side was not pinned (the caller waited for each): ofl_runtime_stats.
    void count_pageable_copy() noexcept { pageable_copies_.fetch_add(1, std::memory_order_relaxed); }
    std::uint64_t pageable_copies() const noexcept { return pageable_copies_.load(std::memory_order_relaxed); }
    // An engine's region, from the arena's low end; the caller's copy stream waits on each piece's
    // fences before its first copy into that piece (no host wait).
    struct Region {
        void* address = nullptr;
        std::vector<RegionAllocator::Piece> pieces;
    };
    Region allocate_region(std::uint64_t bytes);
    // Gives an engine's region back without waiting: reusable once every fence is complete; parts
    // (RegionAllocator::give_parts) each with fences of their own.
    void release_region(void* p, std::vector<Fence> fences) noexcept;
    void release_region_parts(void* p, std::vector<RegionAllocator::Part> parts) noexcept;
    // Frees pinned host memory (backend host_free: it waits for the device, as cudaFreeHost does; counted).
    void free_host(void* p) noexcept;
    // Pinned staging rings of disk sources that ended, kept for the next one: freeing pinned memory
    // waits for the whole device (cudaFreeHost), which a model-level turn must not. A ring comes back
    // with the fence after which nothing reads it (null: nothing does); take_staging hands out the
    // smallest one of at least `bytes` (false when none), whose taker waits for that fence on its own
    // reader thread before writing into it. At most kStagingPool are kept (a further one is freed,
    // counted); the rest go at the runtime's end. Pooled rings stay counted in host_usage.
    struct PooledStaging {
        unsigned char* data = nullptr;
        std::uint64_t bytes = 0;
        std::shared_ptr<Event> fence;
    };
    static constexpr std::size_t kStagingPool = 4;
    bool take_staging(std::uint64_t bytes, PooledStaging& out);
    void pool_staging(PooledStaging ring) noexcept;
    // A host buffer's end (ofl_host_buffer_destroy): waits for every live runtime of the process, then
    // frees p (host_alloc's) or, when registered, unregisters it (the caller unmaps it next). Counted once.
    void release_host_buffer(void* p, bool registered) noexcept;
    // Device-wide waits this runtime made (buffer destroys, pinned host frees).
    std::uint64_t device_syncs() const noexcept { return device_syncs_.load(); }
    // The runtime's device clock: an event recorded once, on the compute stream of the runtime's first
    // engine, before anything of it. Engines place their steps' begin on it (ofl_step_metrics.begin_ms),
    // so the timelines of successive engines (a model-level swap) share one clock.
    Event& clock_origin(Stream& first_user);
    // Throws OFL_ERR_INVALID_ARGUMENT unless [p, p + bytes) lies inside one live device buffer.
    void check_device_range(const void* p, std::uint64_t bytes, const char* what) const;
    // Throws OFL_ERR_INVALID_ARGUMENT when p, the host side of a copy, is NULL or a device address:
    // of any live runtime's buffers or regions, or of any emulated device's arena (host:N), whose
    // addresses fault on the host. A copy between devices is ofl_copy_peer. ofl_copy_async asks it
    // only of a host side that is not pinned (the pinned table first); the arenas' scan takes no lock.
    void check_host_range(const void* p, std::uint64_t bytes, const char* what) const;
    // ViewableRanges: inside one live buffer or region, or space given back behind a pending fence.
    bool viewable(const void* p, std::uint64_t bytes) const override;

    Device(std::unique_ptr<Backend> backend, std::uint64_t budget, std::string note);
    ~Device();
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;

private:
    void synchronize_device_counted() noexcept;
    // Takes a range for bytes already claimed in the ledger (unclaims and throws when none fits).
    RegionAllocator::Taken take(std::uint64_t bytes, bool from_top);

    std::unique_ptr<Backend> backend_;
    DeviceLedger ledger_;
    mutable std::mutex arena_mutex_;           // the arena and its allocator
    unsigned char* arena_ = nullptr;           // the one device allocation, made at the first need
    std::unique_ptr<RegionAllocator> regions_;
    std::unique_ptr<Event> clock_origin_;
    std::atomic<std::uint64_t> device_syncs_{0};
    HostUsage host_usage_;
    std::mutex staging_mutex_;
    std::vector<PooledStaging> staging_pool_;
    std::atomic<std::uint64_t> pageable_copies_{0};
    std::string note_;
};

// Backends compiled into this library, as OFL_BACKEND_* bits.
std::uint32_t compiled_backends() noexcept;

}  // namespace ofl
