// device.hpp: one opened runtime: a backend, its budget ledger, and how it was chosen.
//
// Device is what every handle of a runtime shares (through shared_ptr), so buffers, streams and
// events stay valid after the runtime handle itself is destroyed, and objects of two runtimes can
// be told apart (mixing them is an invalid argument).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "backend.hpp"
#include "memory/device_ledger.hpp"

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

class Device {
public:
    // name: "auto", "host", "cuda", "cuda:N". budget 0 = the backend's default.
    static std::shared_ptr<Device> open(const std::string& name, std::uint64_t budget);

    Backend& backend() noexcept { return *backend_; }
    DeviceLedger& ledger() noexcept { return ledger_; }
    const std::string& note() const noexcept { return note_; }
    HostUsage& host_usage() noexcept { return host_usage_; }

    // Device memory counted against the budget.
    void* allocate(std::uint64_t bytes);
    void deallocate(void* p) noexcept;
    // Async copies whose host side was not pinned (the caller waited for each): ofl_runtime_stats.
    void count_pageable_copy() noexcept { pageable_copies_.fetch_add(1, std::memory_order_relaxed); }
    std::uint64_t pageable_copies() const noexcept { return pageable_copies_.load(std::memory_order_relaxed); }
    // Throws OFL_ERR_INVALID_ARGUMENT unless [p, p + bytes) lies inside one live device buffer.
    void check_device_range(const void* p, std::uint64_t bytes, const char* what) const;

    Device(std::unique_ptr<Backend> backend, std::uint64_t budget, std::string note);

private:
    std::unique_ptr<Backend> backend_;
    DeviceLedger ledger_;
    HostUsage host_usage_;
    std::atomic<std::uint64_t> pageable_copies_{0};
    std::string note_;
};

// Backends compiled into this library, as OFL_BACKEND_* bits.
std::uint32_t compiled_backends() noexcept;

}  // namespace ofl
