#include "memory/device_ledger.hpp"

#include "error.hpp"

namespace ofl {

void DeviceLedger::claim(std::uint64_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    OFL_EXPECT(bytes <= budget_ - used_, OFL_ERR_OUT_OF_DEVICE_MEMORY,
               "device budget exceeded: asked for ", bytes, " bytes with ", used_, " of ", budget_,
               " budget bytes in use (", budget_ - used_, " left)");
    used_ += bytes;
    if (used_ > peak_) peak_ = used_;
}

void DeviceLedger::unclaim(std::uint64_t bytes) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    used_ -= bytes;
}

void DeviceLedger::add(const void* base, std::uint64_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    live_[reinterpret_cast<std::uintptr_t>(base)] = bytes;
}

void DeviceLedger::remove(const void* base) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.find(reinterpret_cast<std::uintptr_t>(base));
    if (it == live_.end()) return;
    used_ -= it->second;
    live_.erase(it);
}

bool DeviceLedger::contains(const void* p, std::uint64_t bytes) const {
    auto addr = reinterpret_cast<std::uintptr_t>(p);
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.upper_bound(addr);
    if (it == live_.begin()) return false;
    --it;
    std::uint64_t offset = addr - it->first;
    return offset <= it->second && bytes <= it->second - offset;
}

std::uintptr_t DeviceLedger::live_end(const void* p) const {
    auto addr = reinterpret_cast<std::uintptr_t>(p);
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.upper_bound(addr);
    if (it == live_.begin()) return 0;
    --it;
    return addr - it->first < it->second ? it->first + it->second : 0;
}

std::uint64_t DeviceLedger::used() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return used_;
}

std::uint64_t DeviceLedger::peak() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return peak_;
}

}  // namespace ofl
