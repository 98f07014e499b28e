#include "host/device_arena.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <vector>

#include "error.hpp"
#include "backend.hpp"

namespace ofl {
namespace {

constexpr std::uint64_t kAlign = 256;
constexpr std::uint64_t kPage = 4096;
constexpr std::uint64_t kSlack = 1ull << 20;  // beyond the budget: the Device's rounding (64 KiB), with room to spare

std::uint64_t round_up(std::uint64_t n, std::uint64_t to) { return (n + to - 1) / to * to; }

int make_memfd(const char* name) {
    int fd = memfd_create(name, MFD_CLOEXEC);
    OFL_EXPECT(fd >= 0, OFL_ERR_OUT_OF_DEVICE_MEMORY, "memfd_create for the host backend's device memory failed: ",
               std::strerror(errno));
    return fd;
}

// Every live arena of the process, for peer copies between emulated devices (translate_any).
std::mutex& arenas_mutex() {
    static std::mutex mutex;
    return mutex;
}
std::vector<const DeviceArena*>& arenas() {
    static std::vector<const DeviceArena*> list;
    return list;
}

// The same arenas' device ranges [base, end), for is_device_any without a lock: a fixed table of
// atomics, written under arenas_mutex (claim and release) and read by any thread. A slot is
// published end first, then base (release), and withdrawn base first; a reader that races an
// arena's end may pair a stale base with a new end, which only concerns addresses of an arena
// being destroyed (a use after free by the caller anyway). More arenas than slots: `spilled`
// counts those left out, and is_device_any asks the locked list while it is nonzero.
constexpr int kRangeSlots = 64;
struct RangeSlot {
    std::atomic<std::uintptr_t> base{0};
    std::atomic<std::uintptr_t> end{0};
};
RangeSlot g_ranges[kRangeSlots];
std::atomic<int> g_spilled{0};

}  // namespace

void* DeviceArena::translate_any(const void* p) noexcept {
    std::lock_guard<std::mutex> lock(arenas_mutex());
    for (const DeviceArena* arena : arenas()) {
        if (arena->is_device(p)) return arena->translate(p);
    }
    return const_cast<void*>(p);
}

bool DeviceArena::is_device_any(const void* p) noexcept {
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    for (const RangeSlot& slot : g_ranges) {
        const std::uintptr_t base = slot.base.load(std::memory_order_acquire);
        if (base != 0 && at >= base && at < slot.end.load(std::memory_order_acquire)) return true;
    }
    if (g_spilled.load(std::memory_order_acquire) == 0) return false;
    std::lock_guard<std::mutex> lock(arenas_mutex());
    for (const DeviceArena* arena : arenas()) {
        if (arena->is_device(p)) return true;
    }
    return false;
}

DeviceArena::DeviceArena(std::uint64_t budget, const ViewableRanges& ranges)
    : size_(round_up(budget, kPage) + kSlack), ranges_(ranges) {
    data_fd_ = make_memfd("offload-device");
    int fault_fd = -1;
    void* device = MAP_FAILED;
    void* view = MAP_FAILED;
    try {
        OFL_EXPECT(ftruncate(data_fd_, static_cast<off_t>(size_)) == 0, OFL_ERR_OUT_OF_DEVICE_MEMORY,
                   "sizing the host backend's device memory to ", size_, " bytes failed: ", std::strerror(errno));
        view = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, data_fd_, 0);
        OFL_EXPECT(view != MAP_FAILED, OFL_ERR_OUT_OF_DEVICE_MEMORY, "mapping ", size_,
                   " bytes of the host backend's device memory failed: ", std::strerror(errno));
        fault_fd = make_memfd("offload-device-addresses");  // zero length: every access is past its end
        device = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fault_fd, 0);
        OFL_EXPECT(device != MAP_FAILED, OFL_ERR_OUT_OF_DEVICE_MEMORY, "reserving ", size_,
                   " bytes of device addresses failed: ", std::strerror(errno));
    } catch (...) {
        if (view != MAP_FAILED) munmap(view, size_);
        if (fault_fd >= 0) close(fault_fd);
        close(data_fd_);
        throw;
    }
    close(fault_fd);  // the mapping keeps the file
    device_base_ = reinterpret_cast<std::uintptr_t>(device);
    view_base_ = reinterpret_cast<std::uintptr_t>(view);
    free_[0] = size_;
    std::lock_guard<std::mutex> lock(arenas_mutex());
    arenas().push_back(this);
    for (RangeSlot& slot : g_ranges) {
        if (slot.base.load(std::memory_order_relaxed) != 0) continue;
        slot.end.store(device_base_ + size_, std::memory_order_release);
        slot.base.store(device_base_, std::memory_order_release);
        return;
    }
    g_spilled.fetch_add(1, std::memory_order_acq_rel);
    spilled_ = true;
}

DeviceArena::~DeviceArena() {
    {
        std::lock_guard<std::mutex> lock(arenas_mutex());
        auto& list = arenas();
        for (auto it = list.begin(); it != list.end(); ++it) {
            if (*it == this) {
                list.erase(it);
                break;
            }
        }
        if (spilled_) g_spilled.fetch_sub(1, std::memory_order_acq_rel);
        for (RangeSlot& slot : g_ranges) {
            if (slot.base.load(std::memory_order_relaxed) != device_base_) continue;
            slot.base.store(0, std::memory_order_release);
            slot.end.store(0, std::memory_order_release);
            break;
        }
    }
    munmap(reinterpret_cast<void*>(device_base_), size_);
    munmap(reinterpret_cast<void*>(view_base_), size_);
    close(data_fd_);
}

void* DeviceArena::allocate(std::size_t bytes) {
    const std::uint64_t length = round_up(bytes, kAlign);
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = free_.begin(); it != free_.end(); ++it) {
        if (it->second < length) continue;
        const std::uint64_t offset = it->first;
        const std::uint64_t left = it->second - length;
        free_.erase(it);
        if (left > 0) free_[offset + length] = left;
        used_[offset] = bytes;
        return reinterpret_cast<void*>(device_base_ + offset);
    }
    fail(OFL_ERR_OUT_OF_DEVICE_MEMORY, "the host backend's device arena (", size_, " bytes of address space) has no free range of ",
         length, " bytes: too fragmented by small buffers");
}

void DeviceArena::free(void* device) noexcept {
    const std::uint64_t offset = reinterpret_cast<std::uintptr_t>(device) - device_base_;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = used_.find(offset);
    if (it == used_.end()) return;
    std::uint64_t from = offset;
    std::uint64_t to = offset + round_up(it->second, kAlign);
    used_.erase(it);
    auto next = free_.lower_bound(to);  // coalesce with the free ranges on either side
    if (next != free_.end() && next->first == to) {
        to += next->second;
        next = free_.erase(next);
    }
    if (next != free_.begin()) {
        auto before = std::prev(next);
        if (before->first + before->second == from) {
            from = before->first;
            free_.erase(before);
        }
    }
    free_[from] = to - from;
    // Give the whole pages of the freed range back (they read as zero when used again).
    const std::uint64_t first = round_up(from, kPage);
    const std::uint64_t last = to / kPage * kPage;
    if (last > first) {
        (void)fallocate(data_fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(first),
                        static_cast<off_t>(last - first));
    }
}

bool DeviceArena::live(const void* p, std::uint64_t bytes) const {
    return is_device(p) && ranges_.viewable(p, bytes);
}

}  // namespace ofl
