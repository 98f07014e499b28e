// engine.hpp: the prefetch loop of one component (the protocol is documented in offload.h).
//
// Visits. Streamed groups are visited v = 0, 1, 2, ... across steps (n streamed groups per step:
// visit v is step v / n, streamed ordinal v % n) and visit v uses ring slot v % slots. The copy for
// visit w is queued during the acquire of visit w - depth, so w - slots (< w - depth) has been
// released already and w has not.
//
// Events. Every event that orders work is per visit, not per slot: set[step % kSets] holds, for
// that step, ready[i] (recorded on the copy stream after streamed ordinal i's copy) and done[g]
// (recorded on the compute stream at group g's release). A set is re-recorded only kSets steps
// later, and the calling thread is at most steps_ahead + 1 steps ahead of the device, so:
//  - the compute stream's wait in acquire(visit v) names ready of v, recorded earlier in this call
//    or an earlier one, and no later record of that event exists until step(v) + kSets;
//  - the copy for visit w waits on done of visit w - slots, whose release came before w's copy
//    was queued (see above), and which is not recorded again for kSets steps.
// Stream waits capture an event's latest record at the time of the call (CUDA's rule, which the
// host backend keeps), so each wait sees the one record it means however far ahead the host runs,
// without the host ever waiting for a slot. The per-slot scheme of earlier versions needed the
// host to stay within one ring of the device (a blocking wait per group with two slots) only
// because its figures were read from per-slot timing events; ordering alone would have held.
//
// advance(g) is release(g) then acquire(g + 1). Its done record counts from the start of the call
// (begin_record), before the copies it queues (one of which may wait on it), and is placed in the
// compute stream together with the next wait (finish_record): the order the two calls would give.
//
// Resident groups are copied once, at construction, in execution order, each recording its own
// ready event; step 0's acquire of a resident group waits on that event only. So an engine made
// while the device is busy (a model-level swap) loads behind the work already queued on the copy
// stream and its first step computes layer by layer as the load arrives.
//
// Skips. skip(g) is acquire(g) + release(g) with no compute between: a visit whose copy is not
// queued yet gets its ready and timing records without the bytes (so it costs nothing but its place
// in the copy stream's order); one already queued is copied all the same, and the compute stream
// waits for it as an acquire would (the next group's copy is behind it on the copy stream anyway,
// and a step whose compute is done must have every event complete: the figures rely on it). Every
// event keeps its place, so the ring, the prefetch and the figures go on as if the group had run.
// With a disk source a skipped group is read and copied all the same (the reader's queue is per
// visit).
//
// Back-pressure. The first acquire of step s waits (host side) for the last event of step
// s - 1 - steps_ahead (done[last], or end with step timing, recorded right after it): the one
// blocking wait a step may have. A caller that asks for step s - 1 - steps_ahead's figures once
// step s has begun therefore never waits (waiting on done[last] alone left a window where end was
// still pending, and a reader that skipped such a step lost it past kHistory). kSets = steps_ahead + 4 keeps every
// event a wait or a figure needs intact: while step s is issued, sets of steps s - 2 - steps_ahead
// .. s + 1 are live (s + 1: copies prefetched into the next step).
//
// Figures. OFL_TIMING_STEP adds four timing events a step: begin and end on the compute stream
// (first acquire, last release), copy_begin and copy_end on the copy stream (around the step's
// copies). OFL_TIMING_GROUP also makes ready and done timing events (no extra record; NVIDIA's
// timing-disabled events are cheaper for waits, hence not by default) and reads per-group figures
// from them. A step is read when asked for (metrics); one not asked for is read at the first
// acquire of step s + 2 + steps_ahead, before the copies of step s + 3 + steps_ahead reuse the set
// of step s - 1 that its figures need. Either way it is done on the device by then, so reading
// never blocks; the last kHistory steps are kept. With trace on, reading a step also keeps each
// group's copy and compute span (spans_, made in the constructor). Nothing here allocates after the
// constructor.
//
// Its end (retire, or the destructor without one): nothing waits for the device. The region goes
// back to the runtime's arena fenced by the events of its last use (Device::release_region): the
// compute stream's last step end (already recorded: a component evicted long after its last step
// leaves no pending fence) and an event recorded now on the copy stream (its prefetched copies).
// The next engine given that space makes its copy stream wait on those fences before its first
// copy, so a model-level swap queues behind the current component's last compute without the
// host waiting, and an idle component's space is reused at once. After retire only the figures
// (metrics, spans, disk stats, layout) answer. The permanent region goes back in up to kFenceParts
// parts, each fenced by the done event, in the last step, of the resident group that ends it (those
// groups record done every step: at most kFenceParts records a step beyond the others), so the
// next component's first loads go into the space of groups the current one's last step has
// finished with while its later groups still run (a layer-by-layer swap). The rest of the region
// (the ring) is fenced by the step's end; every part by the copy fence too; the events stay alive until the engine is destroyed
// (the fences share them). A disk source's reader is halted first (no copy is queued after the
// fence; a read in progress is not waited for), and at destruction its threads are joined and its
// staging freed after its copy fence completes (an event wait).
//
// Clock. Step 0's begin is placed on the runtime's device clock (Device::clock_origin, recorded once
// before the runtime's first engine), so begin_ms of successive engines share one timeline. With a
// trace, the resident groups' loads (timing events, from load_begin_ after the region's fences) are
// step 0's copy spans of those groups.
// One thread drives an engine (the Java Step enforces it).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "backend.hpp"
#include "device.hpp"
#include "disk/disk_reader.hpp"
#include "handles.hpp"

namespace ofl {

class Engine final : public DiskCopySink {
public:
    Engine(std::shared_ptr<Device> device, const ofl_group_desc* groups, std::uint32_t count, const ofl_engine_config& config,
           std::shared_ptr<Stream> compute, std::shared_ptr<Stream> copy, const ofl_disk_source* disk = nullptr);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    void* acquire(std::uint32_t group);
    void release(std::uint32_t group);
    // release(group) then acquire(group + 1), the two compute-stream operations queued as one.
    void* advance(std::uint32_t group);
    // The region and ring as derived (offload.h: ofl_engine_layout_get).
    ofl_engine_layout layout() const {
        ofl_engine_layout l{};
        l.struct_size = sizeof l;
        l.slots = slots_;
        l.prefetch_depth = depth_;
        l.resident_bytes = ring_offset_;
        l.slot_bytes = slot_bytes_;
        l.device_bytes = region_bytes_;
        return l;
    }
    // Skips group in this step (offload.h: ofl_engine_skip): not acquired, not computed.
    void skip(std::uint32_t group);
    // Figures of a completed step (offload.h: ofl_engine_step_metrics).
    ofl_step_metrics metrics(std::uint64_t step, bool wait);
    // Per-group spans of a completed step (offload.h: ofl_engine_step_spans).
    void spans(std::uint64_t step, bool wait, ofl_group_span* out, std::uint32_t capacity);
    // Gives the device region back without waiting (above); later stepping calls fail.
    void retire();
    // Disk source (engine_disk.cpp): throws a read fault (OFL_ERR_IO, sticky); the reader's figures.
    void check_faults();
    ofl_disk_stats disk_stats() const;

private:
    static constexpr std::size_t kHistory = 64;
    static constexpr std::uint64_t kFenceParts = 8;

    struct Group {
        const void* host;
        std::uint64_t bytes;
        bool resident;
        std::uint64_t offset;   // resident: offset in the permanent region
        std::uint32_t ordinal;  // streamed: position among the streamed groups
    };

    struct EventSet {
        std::vector<std::shared_ptr<Event>> ready;  // per streamed ordinal
        std::vector<std::shared_ptr<Event>> done;   // per group
        std::shared_ptr<Event> begin, end;           // timing: compute stream, the step's first acquire and last release
        std::shared_ptr<Event> copy_begin, copy_end; // timing: copy stream, around the step's copies
    };

    struct Counters {
        std::uint64_t host_waits = 0;
        double host_blocked_ms = 0;
        std::uint64_t skipped_bytes = 0;  // streamed bytes of skipped groups never copied
    };

    EventSet& set_of(std::uint64_t step) { return sets_[step % sets_.size()]; }
    // Queues visit's copy with its ready (and timing) records; without move_bytes, only the records:
    // a skipped group keeps the ring's order at no copying cost.
    void issue_copy(std::uint64_t visit, bool move_bytes = true);
    void begin_step();  // the first group of a step, acquired or skipped: back-pressure, begin mark
    // Disk source (engine_disk.cpp): opens the reader and loads the resident groups through its
    // staging ring (blocking: creation time); queues visit's read wait, copy and ready record.
    void open_disk(const ofl_disk_source& source);
    void queue_resident(std::uint32_t group, std::uint64_t from, std::uint64_t to, const unsigned char* staging) override;
    void issue_disk_copy(std::uint64_t visit);
    // DiskCopySink: a reader thread queues a unit of a visit's copy (engine_disk.cpp).
    void queue_unit(std::uint64_t visit, std::uint64_t part, std::uint64_t parts, const unsigned char* staging, std::uint64_t from,
                    std::uint64_t to) override;
    // Queues the copies up to group's visit + depth and gives its device address; ready is set to the
    // event the compute stream must wait on (left alone for a resident group).
    void* place(std::uint32_t group, Event*& ready);
    // The done event release(group) records, or null when nothing needs it.
    Event* done_to_record(std::uint32_t group);
    void back_pressure(std::uint64_t step);
    void read_step(std::uint64_t step);  // fills history_ for a step whose device work is done
    void read_groups(std::uint64_t step, ofl_step_metrics& m);  // OFL_TIMING_GROUP's figures (and spans)
    void ensure_read(std::uint64_t step, bool wait);             // reads up to step, never blocking without wait
    Event& last_event(std::uint64_t step);                       // the event that completes a step (its figures with it)
    std::shared_ptr<Event> make_event(bool timing);
    void check_live(const char* call);                           // refuses stepping after retire
    void read_loads(EventSet& set, ofl_group_span* spans);       // step 0's spans of the resident loads (trace)

    std::shared_ptr<Device> device_;
    std::shared_ptr<Stream> compute_;
    std::shared_ptr<Stream> copy_;
    std::vector<Group> groups_;
    std::vector<std::uint32_t> streamed_;  // group indices of streamed groups, in order
    std::uint32_t slots_;
    std::uint32_t depth_;
    std::uint32_t ahead_;
    std::uint32_t level_;  // OFL_TIMING_*
    std::uint64_t slot_bytes_ = 0;
    std::uint64_t streamed_bytes_ = 0;     // copied per step
    unsigned char* region_ = nullptr;      // permanent region, then the ring
    std::uint64_t ring_offset_ = 0;
    std::uint64_t region_bytes_ = 0;       // what region_ holds

    std::vector<EventSet> sets_;
    std::vector<std::shared_ptr<Event>> resident_ready_;  // per group: its load into the permanent region (resident only)
    std::shared_ptr<Event> load_begin_;    // trace: the copy stream reached the resident loads (after the region's fences)
    bool load_begun_ = false;              // disk source: load_begin_ recorded (by the reader thread)
    Event* clock_origin_ = nullptr;        // the runtime's device clock (Device::clock_origin)
    bool retired_ = false;
    std::vector<bool> fence_group_;        // resident groups that end a fenced part of the region (retire)
    std::vector<RegionAllocator::Piece> pieces_;  // construction: fenced pieces of the region not yet waited on
    void wait_pieces(std::uint64_t until);  // the copy stream waits on the fences of every piece starting below `until`
    std::shared_ptr<Event> copy_fence_;    // recorded on the copy stream at retire
    std::vector<double> ready_at_;         // read_step scratch: ready times of a step's copies
    bool trace_;                           // keep per-group spans (spans_, kHistory steps of groups)
    std::vector<ofl_group_span> spans_;
    double last_begin_ms_ = 0;             // begin_ms of the last step read

    std::uint32_t next_group_ = 0;
    bool holding_ = false;
    std::uint64_t step_ = 0;    // steps completed (release of their last group called)
    std::uint64_t read_ = 0;    // steps whose figures are in history_
    std::uint64_t issued_ = 0;  // streamed visits whose copy is queued
    std::unique_ptr<DiskReader> disk_;  // disk source: the read stage; null for host-memory groups
    std::array<Counters, kHistory> counters_{};
    std::array<ofl_step_metrics, kHistory> history_{};
};

}  // namespace ofl

struct ofl_engine {
    std::unique_ptr<ofl::Engine> impl;
};
