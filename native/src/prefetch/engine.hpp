// engine.hpp: the prefetch loop of one component (the protocol is documented in offload.h).
//
// Invariants:
//  - streamed visits are numbered v = 0, 1, 2, ... across steps; visit v uses slot v % slots;
//  - the copy for visit w is queued only after release of visit w - slots was called, and it waits
//    (on the copy stream) for that release's "free" event; compute of visit v waits (on the compute
//    stream) for the "ready" event of its copy. prefetch_depth < slots keeps both events' latest
//    record the one meant when a wait is queued;
//  - acquire blocks the calling thread only when the device has not finished visit v - slots (a
//    whole ring behind); that time is host_blocked;
//  - every event and the device buffer are made in the constructor; acquire and release allocate
//    nothing. Only one thread drives an engine (the Java Step enforces it).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "backend.hpp"
#include "device.hpp"
#include "handles.hpp"

namespace ofl {

class Engine {
public:
    Engine(std::shared_ptr<Device> device, const ofl_group_desc* groups, std::uint32_t count, const ofl_engine_config& config,
           std::shared_ptr<ofl_stream> compute, std::shared_ptr<ofl_stream> copy);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    void* acquire(std::uint32_t group);
    void release(std::uint32_t group);
    // Throws OFL_ERR_NOT_READY before the first step completes.
    ofl_step_metrics last_step() const;
    const std::shared_ptr<Device>& device() const noexcept { return device_; }

private:
    struct Group {
        const void* host;
        std::uint64_t bytes;
        bool resident;
        std::uint64_t offset;   // resident: offset in the permanent region
        std::uint32_t ordinal;  // streamed: position among the streamed groups
    };

    void issue_copy(std::uint64_t visit);
    void finish_step();
    std::unique_ptr<Event> make_event(bool timing);

    std::shared_ptr<Device> device_;
    std::shared_ptr<ofl_stream> compute_;
    std::shared_ptr<ofl_stream> copy_;
    std::vector<Group> groups_;
    std::vector<std::uint32_t> streamed_;  // group indices of streamed groups, in order
    std::uint32_t slots_;
    std::uint32_t depth_;
    bool timing_;
    std::uint64_t slot_bytes_ = 0;
    unsigned char* region_ = nullptr;      // permanent region, then the ring
    std::uint64_t ring_offset_ = 0;

    std::vector<std::unique_ptr<Event>> ready_;  // per slot
    std::vector<std::unique_ptr<Event>> free_;   // per slot
    std::unique_ptr<Event> resident_loaded_;
    // Timing (only when timing_): per group, and per step parity for copies that run a step early.
    std::unique_ptr<Event> step_start_;
    std::unique_ptr<Event> step_end_[2];  // by step parity: a step's time runs from the previous step's end
    std::vector<std::unique_ptr<Event>> compute_start_, compute_end_;
    std::vector<std::unique_ptr<Event>> copy_start_[2], copy_end_[2];

    std::uint32_t next_group_ = 0;
    bool holding_ = false;
    std::uint64_t step_ = 0;
    std::uint64_t issued_ = 0;  // streamed visits whose copy is queued
    std::chrono::steady_clock::duration blocked_{};
    ofl_step_metrics last_{};
    bool have_last_ = false;
};

}  // namespace ofl

struct ofl_engine {
    std::unique_ptr<ofl::Engine> impl;
};
