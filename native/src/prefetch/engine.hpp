// engine.hpp: the prefetch loop of one component (the protocol is documented in offload.h).
//
// Invariants:
//  - streamed visits are numbered v = 0, 1, 2, ... across steps; visit v uses slot v % slots;
//  - the copy for visit w is queued only after release of visit w - slots was called, and it waits
//    (on the copy stream) for that release's "free" event; compute of visit v waits (on the compute
//    stream) for the "ready" event of its copy. prefetch_depth < slots keeps both events' latest
//    record the one meant when a wait is queued;
//  - acquire blocks the calling thread only when the device has not finished visit v - slots (a
//    whole ring behind); that time is the step's host_blocked time;
//  - timing events come in three sets, by step % 3: prefetch reaches at most one step ahead, so
//    while step s runs, the events of step s - 1 are intact and are read when step s ends (they are
//    complete by then unless the host is a whole step ahead, and then waiting is back-pressure too);
//    the last step is read on request (metrics(s, wait));
//  - every event and the device buffer are made in the constructor; acquire, release and the
//    reading of metrics allocate nothing. One thread drives an engine (the Java Step enforces it).
#pragma once

#include <array>
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
    // Figures of a completed step: NOT_READY while it runs (or, without wait, until it has been
    // read); INVALID_ARGUMENT once it is older than the kept history.
    ofl_step_metrics metrics(std::uint64_t step, bool wait);

private:
    static constexpr std::size_t kHistory = 16;

    struct Group {
        const void* host;
        std::uint64_t bytes;
        bool resident;
        std::uint64_t offset;   // resident: offset in the permanent region
        std::uint32_t ordinal;  // streamed: position among the streamed groups
    };

    struct TimingSet {
        std::vector<std::unique_ptr<Event>> compute_start, compute_end, copy_start, copy_end;
        std::unique_ptr<Event> step_end;
        double host_blocked_ms = 0;
    };

    void issue_copy(std::uint64_t visit);
    void finish_step();
    void read_step(std::uint64_t step);  // fills history_ for a completed step
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
    std::uint64_t streamed_bytes_ = 0;     // copied per step
    unsigned char* region_ = nullptr;      // permanent region, then the ring
    std::uint64_t ring_offset_ = 0;

    std::vector<std::unique_ptr<Event>> ready_;  // per slot
    std::vector<std::unique_ptr<Event>> free_;   // per slot
    std::unique_ptr<Event> resident_loaded_;
    std::unique_ptr<Event> first_step_start_;    // timing only
    std::array<TimingSet, 3> sets_;              // timing only, by step % 3

    std::uint32_t next_group_ = 0;
    bool holding_ = false;
    std::uint64_t step_ = 0;    // steps completed (release of their last group called)
    std::uint64_t read_ = 0;    // steps whose metrics are in history_
    std::uint64_t issued_ = 0;  // streamed visits whose copy is queued
    std::chrono::steady_clock::duration blocked_{};
    std::array<ofl_step_metrics, kHistory> history_{};
};

}  // namespace ofl

struct ofl_engine {
    std::unique_ptr<ofl::Engine> impl;
};
