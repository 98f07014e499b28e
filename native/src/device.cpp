#include "device.hpp"

#include <cstdlib>

#include "error.hpp"
#include "host/device_arena.hpp"
#include "host/host_backend.hpp"
#ifdef OFL_WITH_CUDA
#include "cuda/cuda_backend.hpp"
#endif

namespace ofl {

std::uint32_t compiled_backends() noexcept {
    std::uint32_t bits = OFL_BACKEND_HOST;
#ifdef OFL_WITH_CUDA
    bits |= OFL_BACKEND_CUDA;
#endif
    return bits;
}

namespace {

constexpr std::uint64_t kRoundedRanges = 256;  // 64 KiB of the arena beyond the budget (device.hpp)

// Every live Device of the process (device.hpp): weak, so the list never keeps one alive.
std::mutex& devices_mutex() {
    static std::mutex mutex;
    return mutex;
}
std::vector<std::weak_ptr<Device>>& devices() {
    static std::vector<std::weak_ptr<Device>>* list = new std::vector<std::weak_ptr<Device>>();  // outlives static teardown
    return *list;
}

// The live Devices now (a Device whose last owner is letting go has no stream left to wait for).
std::vector<std::shared_ptr<Device>> live_devices() {
    std::vector<std::shared_ptr<Device>> out;
    std::lock_guard<std::mutex> lock(devices_mutex());
    auto& list = devices();
    for (auto it = list.begin(); it != list.end();) {
        if (auto d = it->lock()) {
            out.push_back(std::move(d));
            ++it;
        } else {
            it = list.erase(it);
        }
    }
    return out;
}

#ifdef OFL_WITH_CUDA
int parse_cuda_index(const std::string& name) {
    if (name == "cuda") return 0;
    std::string digits = name.substr(5);
    OFL_EXPECT(!digits.empty() && digits.size() <= 4 && digits.find_first_not_of("0123456789") == std::string::npos,
               OFL_ERR_INVALID_ARGUMENT, "device name '", name, "': expected cuda:N with N a device ordinal");
    return std::atoi(digits.c_str());
}
#endif

// "host:N": the host backend's emulated device N; each is a runtime of its own (arena, budget,
// streams and worker threads), so one process can emulate any number of devices.
int parse_host_index(const std::string& name) {
    std::string digits = name.substr(5);
    OFL_EXPECT(!digits.empty() && digits.size() <= 4 && digits.find_first_not_of("0123456789") == std::string::npos,
               OFL_ERR_INVALID_ARGUMENT, "device name '", name, "': expected host:N with N an emulated device ordinal (0 to 9999)");
    return std::atoi(digits.c_str());
}

bool is_cuda_name(const std::string& name) {
    return name == "cuda" || name.rfind("cuda:", 0) == 0;
}

}  // namespace

std::shared_ptr<Device> Device::open(const std::string& name, std::uint64_t budget) {
    std::unique_ptr<Backend> backend;
    std::string note;
    if (name == "host") {
        backend = make_host_backend();
    } else if (name.rfind("host:", 0) == 0) {
        backend = make_host_backend(parse_host_index(name));
    } else if (name == "auto") {
#ifdef OFL_WITH_CUDA
        std::string why;
        if (cuda_device_count(why) > 0) {
            backend = make_cuda_backend(0);
            note = "auto: chose cuda:0";
        } else {
            backend = make_host_backend();
            note = "auto: chose host because cuda is unavailable: " + why;
        }
#else
        backend = make_host_backend();
        note = "auto: chose host because the cuda backend is not compiled into this library";
#endif
    } else if (is_cuda_name(name)) {
#ifdef OFL_WITH_CUDA
        int index = parse_cuda_index(name);
        std::string why;
        int count = cuda_device_count(why);
        OFL_EXPECT(count > 0, OFL_ERR_BACKEND_UNAVAILABLE, "device '", name, "' is unavailable: ", why);
        OFL_EXPECT(index < count, OFL_ERR_BACKEND_UNAVAILABLE, "device '", name, "' is unavailable: only ", count,
                   " CUDA device(s) present");
        backend = make_cuda_backend(index);
#else
        fail(OFL_ERR_BACKEND_UNAVAILABLE, "device '", name,
             "' is unavailable: the cuda backend is not compiled into this library (built without nvcc)");
#endif
    } else {
        fail(OFL_ERR_INVALID_ARGUMENT, "unknown device name '", name, "': expected auto, host, host:N, cuda or cuda:N");
    }
    if (budget == 0) {
        budget = backend->default_budget();
    } else {
        // A budget the device cannot hold now is refused, not capped (issue 16): the planner spends
        // the budget (BLOCK_PIN pins as much as it allows, the rings are sized from it), so a
        // budget beyond the memory plans what later fails to allocate, or on the host backend what
        // the kernel's OOM killer ends. Capping would change the plan the caller asked for behind a
        // warning. The limit is what the device has free now: cudaMemGetInfo's free bytes, or the
        // host's MemAvailable for the emulated device (it shares RAM with everything else).
        const MemoryInfo memory = backend->memory();
        const bool host = backend->kind() == OFL_BACKEND_HOST;
        OFL_EXPECT(budget <= memory.free_bytes, OFL_ERR_INVALID_ARGUMENT, "the budget of ", budget,
                   " bytes (", budget >> 20, " MiB) is more than the ", memory.free_bytes, " bytes (", memory.free_bytes >> 20,
                   " MiB) ", host ? "of host memory available (MemAvailable), which the host backend's device memory comes from"
                                  : "free on the device (cudaMemGetInfo)",
                   "; give a budget of at most that, or 0 for the default (", backend->default_budget(), " bytes)");
    }
    auto device = std::make_shared<Device>(std::move(backend), budget, std::move(note));
    std::lock_guard<std::mutex> lock(devices_mutex());
    auto& list = devices();
    for (auto it = list.begin(); it != list.end();) it = it->expired() ? list.erase(it) : it + 1;
    list.push_back(device);
    return device;
}

Device::Device(std::unique_ptr<Backend> backend, std::uint64_t budget, std::string note)
    : backend_(std::move(backend)), ledger_(budget), note_(std::move(note)) {
    backend_->reserve_device(budget, *this);  // kept, asked only once streams run
}

Device::~Device() {
    for (PooledStaging& ring : staging_pool_) {
        ring.fence.reset();
        backend_->host_free(ring.data);  // the runtime's end: waiting for the device is expected here
        host_usage_.release(ring.bytes);
    }
    staging_pool_.clear();
    clock_origin_.reset();
    regions_.reset();  // its fences (events) before the backend that made them
    if (arena_) backend_->device_free(arena_);
}

RegionAllocator::Taken Device::take(std::uint64_t bytes, bool from_top) {
    std::lock_guard<std::mutex> lock(arena_mutex_);
    try {
        if (!arena_) {  // the one device allocation of the budget (device.hpp)
            // The budget, rounded up, plus room for the rounding of kRoundedRanges ranges: the ledger
            // counts the bytes asked for, so a budget summed from odd sizes (workload buffers) fits.
            const std::uint64_t capacity = (ledger_.budget() + RegionAllocator::kAlign - 1) / RegionAllocator::kAlign * RegionAllocator::kAlign +
                                           kRoundedRanges * RegionAllocator::kAlign;
            arena_ = static_cast<unsigned char*>(backend_->device_alloc(capacity));
            regions_ = std::make_unique<RegionAllocator>(capacity);
        }
        RegionAllocator::Taken taken;
        OFL_EXPECT(regions_->take(bytes, from_top, taken), OFL_ERR_OUT_OF_DEVICE_MEMORY, "device budget fragmented: asked for ", bytes,
                   " bytes; the ledger has room (", ledger_.used() - bytes, " of ", ledger_.budget(),
                   " budget bytes in use) but the largest free range of the runtime's device allocation is ",
                   regions_->largest_free(), " bytes (", regions_->free_ranges(), " free ranges; ranges are rounded up to ",
                   RegionAllocator::kAlign, " bytes)");
        return taken;
    } catch (...) {
        ledger_.unclaim(bytes);
        throw;
    }
}

void* Device::allocate(std::uint64_t bytes) {
    OFL_EXPECT(bytes > 0, OFL_ERR_INVALID_ARGUMENT, "device buffer size must be positive, got 0");
    ledger_.claim(bytes);
    RegionAllocator::Taken taken = take(bytes, true);
    void* p = arena_ + taken.offset;
    ledger_.add(p, bytes);
    // Any stream may use a buffer at once: space still fenced by an engine's last use is waited for
    // here (events of that engine, not the device).
    try {
        for (const RegionAllocator::Piece& piece : taken.pieces) {
            for (const Fence& f : piece.fences) f->synchronize();
        }
    } catch (...) {
        std::vector<Fence> fences;
        for (RegionAllocator::Piece& piece : taken.pieces) fences.insert(fences.end(), piece.fences.begin(), piece.fences.end());
        release_region(p, std::move(fences));
        throw;
    }
    return p;
}

void Device::deallocate(void* p) noexcept {
    synchronize_device_counted();
    release_region(p, {});
}

Device::Region Device::allocate_region(std::uint64_t bytes) {
    OFL_EXPECT(bytes > 0, OFL_ERR_INVALID_ARGUMENT, "device region size must be positive, got 0");
    ledger_.claim(bytes);
    RegionAllocator::Taken taken = take(bytes, false);
    Region r{arena_ + taken.offset, std::move(taken.pieces)};
    ledger_.add(r.address, bytes);
    return r;
}

void Device::release_region(void* p, std::vector<Fence> fences) noexcept {
    std::vector<RegionAllocator::Part> whole;
    whole.push_back(RegionAllocator::Part{0, std::move(fences)});
    release_region_parts(p, std::move(whole));
}

void Device::release_region_parts(void* p, std::vector<RegionAllocator::Part> parts) noexcept {
    if (!p) return;
    ledger_.remove(p);
    std::lock_guard<std::mutex> lock(arena_mutex_);
    try {
        regions_->give_parts(static_cast<std::uint64_t>(static_cast<unsigned char*>(p) - arena_), std::move(parts));
    } catch (...) {
        // a range not of this arena: nothing to give back (never expected; the ledger refused it first)
    }
}

void Device::synchronize_device_counted() noexcept {
    device_syncs_.fetch_add(1);
    try {
        backend_->synchronize_device();
    } catch (...) {
        // a failed device cannot be waited on; the caller frees regardless
    }
}

void Device::free_host(void* p) noexcept {
    device_syncs_.fetch_add(1);  // the backend's host_free waits for the device, as cudaFreeHost does
    backend_->host_free(p);
}

bool Device::take_staging(std::uint64_t bytes, PooledStaging& out) {
    std::lock_guard<std::mutex> lock(staging_mutex_);
    std::size_t best = staging_pool_.size();
    for (std::size_t i = 0; i < staging_pool_.size(); ++i) {
        if (staging_pool_[i].bytes >= bytes && (best == staging_pool_.size() || staging_pool_[i].bytes < staging_pool_[best].bytes)) best = i;
    }
    if (best == staging_pool_.size()) return false;
    out = std::move(staging_pool_[best]);
    staging_pool_.erase(staging_pool_.begin() + static_cast<std::ptrdiff_t>(best));
    return true;
}

void Device::pool_staging(PooledStaging ring) noexcept {
    if (!ring.data) return;
    PooledStaging evicted;
    try {
        std::lock_guard<std::mutex> lock(staging_mutex_);
        staging_pool_.push_back(std::move(ring));
        if (staging_pool_.size() <= kStagingPool) return;
        std::size_t smallest = 0;
        for (std::size_t i = 1; i < staging_pool_.size(); ++i) {
            if (staging_pool_[i].bytes < staging_pool_[smallest].bytes) smallest = i;
        }
        evicted = std::move(staging_pool_[smallest]);
        staging_pool_.erase(staging_pool_.begin() + static_cast<std::ptrdiff_t>(smallest));
    } catch (...) {
        evicted = std::move(ring);  // no room to keep it: freed below
    }
    if (!evicted.data) return;
    evicted.fence.reset();
    free_host(evicted.data);
    host_usage_.release(evicted.bytes);
}

void Device::release_host_buffer(void* p, bool registered) noexcept {
    device_syncs_.fetch_add(1);
    std::vector<std::shared_ptr<Device>> all;
    try {
        all = live_devices();
    } catch (...) {
        all.clear();  // out of memory: this device's own wait below still holds
    }
    for (const std::shared_ptr<Device>& d : all) {
        if (d.get() == this) continue;  // the backend call below waits for this one
        try {
            d->backend_->synchronize_device();
        } catch (...) {
            // a failed device runs nothing more
        }
    }
    if (registered) backend_->host_unregister(p);  // waits for this runtime's streams (both backends)
    else backend_->host_free(p);
}

Event& Device::clock_origin(Stream& first_user) {
    std::lock_guard<std::mutex> lock(arena_mutex_);
    if (!clock_origin_) {
        auto origin = backend_->create_event(true);
        origin->record(first_user);
        clock_origin_ = std::move(origin);
    }
    return *clock_origin_;
}

void Device::check_device_range(const void* p, std::uint64_t bytes, const char* what) const {
    OFL_EXPECT(p != nullptr, OFL_ERR_INVALID_ARGUMENT, what, " is NULL");
    OFL_EXPECT(ledger_.contains(p, bytes), OFL_ERR_INVALID_ARGUMENT, what, " [", p, ", +", bytes,
               ") does not lie inside one live device buffer of this runtime");
}

bool Device::viewable(const void* p, std::uint64_t bytes) const {
    if (ledger_.contains(p, bytes)) return true;  // the common case: one buffer or region
    // Else piece by piece: space given back behind pending fences, and at most one live buffer or
    // region (never a range from one into the next): an engine retired while its last step's kernels
    // are queued, part of whose space the next engine already holds.
    std::lock_guard<std::mutex> lock(arena_mutex_);  // nothing blocks under it (fences are queried)
    const auto from = reinterpret_cast<std::uintptr_t>(p);
    const auto base = reinterpret_cast<std::uintptr_t>(arena_);
    if (!arena_ || from < base || from - base >= regions_->capacity() || bytes > regions_->capacity() - (from - base)) return false;
    const std::uintptr_t end = from + bytes;
    int live_pieces = 0;
    for (std::uintptr_t at = from; at < end;) {
        std::uintptr_t next = ledger_.live_end(reinterpret_cast<const void*>(at));
        if (next != 0 && ++live_pieces > 1) return false;
        if (next == 0) {
            const std::uint64_t fenced = regions_->fenced_end(at - base);
            if (fenced == 0) return false;
            next = base + fenced;
        }
        at = next;
    }
    return true;
}

void Device::check_host_range(const void* p, std::uint64_t bytes, const char* what) const {
    OFL_EXPECT(p != nullptr, OFL_ERR_INVALID_ARGUMENT, what, " is NULL");
    // Asked of a user copy's host side only when it is not pinned (ofl_copy_async), a copy that makes
    // its caller wait anyway. Every emulated device's addresses lie in an arena (a lock-free scan);
    // another cuda runtime's buffers are known only to its ledger, so the list is walked (under its
    // lock and each ledger's, nothing allocated) where no arena claims p.
    bool device_address = DeviceArena::is_device_any(p) || ledger_.contains(p, 1);
    if (!device_address) {
        std::lock_guard<std::mutex> lock(devices_mutex());
        for (const std::weak_ptr<Device>& weak : devices()) {
            std::shared_ptr<Device> d = weak.lock();
            if (d && d.get() != this && d->ledger_.contains(p, 1)) device_address = true;
        }
    }
    OFL_EXPECT(!device_address, OFL_ERR_INVALID_ARGUMENT, what, " [", p, ", +", bytes,
               ") is device memory, not host memory: a copy's host side must be host memory (the other side is this "
               "stream's device); to copy between two devices use ofl_copy_peer, within one device OFL_COPY_DEVICE_TO_DEVICE");
}

}  // namespace ofl
