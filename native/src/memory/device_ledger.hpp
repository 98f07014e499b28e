// device_ledger.hpp: the budget and the table of live device buffers of one runtime.
//
// Every device byte a runtime holds goes through reserve()/release(), so "used never exceeds the
// budget" holds for both backends by construction. contains() lets copies check that their device
// side lies inside one live buffer before the backend touches it. A single mutex guards the table;
// it is never held across a backend call.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>

namespace ofl {

class DeviceLedger {
public:
    explicit DeviceLedger(std::uint64_t budget) : budget_(budget) {}

    std::uint64_t budget() const noexcept { return budget_; }

    // Claims bytes against the budget; throws OFL_ERR_OUT_OF_DEVICE_MEMORY (changing nothing) when over.
    void claim(std::uint64_t bytes);
    // Returns bytes claimed earlier but never registered (the allocation failed).
    void unclaim(std::uint64_t bytes) noexcept;
    void add(const void* base, std::uint64_t bytes);
    // Removes a buffer and returns its bytes to the budget.
    void remove(const void* base) noexcept;

    // True when [p, p + bytes) lies inside one live buffer.
    bool contains(const void* p, std::uint64_t bytes) const;
    // The end address of the live buffer holding p; 0 when none does.
    std::uintptr_t live_end(const void* p) const;

    std::uint64_t used() const;
    std::uint64_t peak() const;

private:
    const std::uint64_t budget_;
    mutable std::mutex mutex_;
    std::uint64_t used_ = 0;
    std::uint64_t peak_ = 0;
    std::map<std::uintptr_t, std::uint64_t> live_;  // base -> bytes
};

}  // namespace ofl
