#include "prefetch/engine.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "error.hpp"

namespace ofl {
namespace {

constexpr std::uint64_t kAlign = 256;

std::uint64_t align_up(std::uint64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::shared_ptr<Event> Engine::make_event(bool timing) { return device_->backend().create_event(timing); }

Engine::Engine(std::shared_ptr<Device> device, const ofl_group_desc* groups, std::uint32_t count,
               const ofl_engine_config& config, std::shared_ptr<Stream> compute, std::shared_ptr<Stream> copy,
               const ofl_disk_source* disk)
    : device_(std::move(device)), compute_(std::move(compute)), copy_(std::move(copy)),
      slots_(config.slots), depth_(config.prefetch_depth), ahead_(config.steps_ahead), level_(config.timing),
      trace_(config.trace == 1) {
    OFL_EXPECT(count > 0, OFL_ERR_INVALID_ARGUMENT, "an engine needs at least one group");
    OFL_EXPECT(config.timing <= OFL_TIMING_GROUP, OFL_ERR_INVALID_ARGUMENT,
               "ofl_engine_config: timing must be OFL_TIMING_OFF, OFL_TIMING_STEP or OFL_TIMING_GROUP, got ", config.timing);
    OFL_EXPECT(config.trace <= 1 && (config.trace == 0 || config.timing == OFL_TIMING_GROUP), OFL_ERR_INVALID_ARGUMENT,
               "ofl_engine_config: trace must be 0 or 1, and 1 needs OFL_TIMING_GROUP (got trace ", config.trace, ", timing ",
               config.timing, ")");
    OFL_EXPECT(ahead_ <= OFL_MAX_STEPS_AHEAD, OFL_ERR_INVALID_ARGUMENT, "steps_ahead ", ahead_, " is above the limit of ",
               OFL_MAX_STEPS_AHEAD);
    // Group memory must be pinned on both backends (the strict host backend as cuda): a copy from
    // pageable memory would block the calling thread. A disk source reads through its pinned staging.
    const bool pinned_required = !disk;
    const bool from_host = !disk || (disk->flags & OFL_DISK_FROM_HOST);  // groups' bytes at host_address
    std::uint64_t resident_bytes = 0;
    for (std::uint32_t g = 0; g < count; ++g) {
        const ofl_group_desc& d = groups[g];
        OFL_EXPECT((d.host_address != nullptr) == from_host || d.bytes == 0, OFL_ERR_INVALID_ARGUMENT, "group ", g,
                   from_host ? " has a NULL host address" : " has a host address, but its bytes come from the disk source");
        OFL_EXPECT(d.resident <= 1 && d.reserved == 0, OFL_ERR_INVALID_ARGUMENT, "group ", g,
                   ": resident must be 0 or 1 and reserved 0");
        if (pinned_required && d.bytes > 0) {
            OFL_EXPECT(device_->backend().is_pinned(d.host_address, d.bytes), OFL_ERR_INVALID_ARGUMENT, "group ", g, " (",
                       d.bytes, " bytes at ", d.host_address, ") is pageable host memory: on ", device_->backend().name(),
                       " a copy from it would block the calling thread; pack groups into pinned memory "
                       "(ofl_host_buffer_create)");
        }
        Group group{d.host_address, d.bytes, d.resident == 1, 0, 0};
        if (group.resident) {
            group.offset = resident_bytes;
            resident_bytes += align_up(d.bytes);
        } else {
            group.ordinal = static_cast<std::uint32_t>(streamed_.size());
            streamed_.push_back(g);
            streamed_bytes_ += d.bytes;
            slot_bytes_ = std::max(slot_bytes_, align_up(d.bytes));
        }
        groups_.push_back(group);
    }
    const auto per_step = static_cast<std::uint32_t>(streamed_.size());
    if (per_step > 0) {
        OFL_EXPECT(slots_ >= 1, OFL_ERR_INVALID_ARGUMENT, "streamed groups need at least one ring slot, got 0");
        OFL_EXPECT(depth_ < slots_, OFL_ERR_INVALID_ARGUMENT, "prefetch depth ", depth_, " must be smaller than the ",
                   slots_, " ring slots");
        slot_bytes_ = std::max<std::uint64_t>(slot_bytes_, kAlign);
        // More slots than a step's streamed groups would hold no copy that fewer do not; prefetch
        // reaches at most into the next step, which keeps the event sets' reasoning (engine.hpp).
        slots_ = std::min(slots_, per_step);
        depth_ = std::min(depth_, slots_ - 1);
    } else {
        slots_ = 0;
        depth_ = 0;
    }
    ring_offset_ = resident_bytes;
    fence_group_.assign(count, false);
    for (std::uint32_t g = 0, part = 1; g < count; ++g) {  // the resident groups that end each of kFenceParts parts
        const Group& group = groups_[g];
        if (!group.resident || group.bytes == 0) continue;
        if (group.offset + align_up(group.bytes) >= resident_bytes * part / kFenceParts) {
            fence_group_[g] = true;
            while (part <= kFenceParts && group.offset + align_up(group.bytes) >= resident_bytes * part / kFenceParts) ++part;
        }
    }
    std::uint64_t total = resident_bytes + slot_bytes_ * slots_;
    region_bytes_ = std::max<std::uint64_t>(total, kAlign);
    Device::Region region = device_->allocate_region(region_bytes_);
    region_ = static_cast<unsigned char*>(region.address);
    try {
        // Space still in use by an engine that ended (its fences): each load waits for the pieces it
        // writes (wait_pieces), the ring for all of them, so a swap loads layer by layer behind the
        // previous component's groups that used the space.
        pieces_ = std::move(region.pieces);
        clock_origin_ = &device_->clock_origin(*compute_);
        sets_.resize(ahead_ + 4);
        const bool group_timing = level_ == OFL_TIMING_GROUP;
        for (EventSet& set : sets_) {
            for (std::uint32_t i = 0; i < per_step; ++i) set.ready.push_back(make_event(group_timing));
            for (std::uint32_t g = 0; g < count; ++g) set.done.push_back(make_event(group_timing));
            if (level_ >= OFL_TIMING_STEP) {
                set.begin = make_event(true);
                set.end = make_event(true);
                set.copy_begin = make_event(true);
                set.copy_end = make_event(true);
            }
        }
        ready_at_.resize(per_step);
        if (trace_) spans_.resize(kHistory * count);
        // Resident groups: copied once, in execution order, each with its own ready event that step
        // 0's acquire waits on, so the first step computes group g while later resident groups are
        // still being copied (a model-level swap streams layer by layer instead of load-then-run).
        // A disk source reads and copies them through its staging ring on its reader thread
        // (engine_disk.cpp): creation returns at once.
        resident_ready_.resize(count);
        if (disk) open_disk(*disk);
        if (disk_ && trace_) disk_->keep_times(kHistory * std::max<std::size_t>(streamed_.size(), 1));
        for (std::uint32_t g = 0; g < count; ++g) {
            const Group& group = groups_[g];
            if (!group.resident || group.bytes == 0 || disk) continue;
            wait_pieces(group.offset + group.bytes);
            if (trace_ && !load_begin_) {  // after the first load's waits: its span starts when it can
                load_begin_ = make_event(true);
                load_begin_->record(*copy_);
            }
            resident_ready_[g] = make_event(trace_);
            copy_->copy(region_ + group.offset, group.host, group.bytes, OFL_COPY_HOST_TO_DEVICE);
            resident_ready_[g]->record(*copy_);
        }
        if (!disk) wait_pieces(UINT64_MAX);  // the ring's copies, queued later on this stream, come after every piece (disk: queue_unit)
    } catch (...) {
        std::vector<Fence> fences;
        for (RegionAllocator::Piece& piece : pieces_) fences.insert(fences.end(), piece.fences.begin(), piece.fences.end());
        try {
            auto fence = make_event(false);  // whatever was queued into the region before the failure
            fence->record(*copy_);
            fences.push_back(std::move(fence));
        } catch (...) {
            copy_->synchronize();  // no event to fence with: the copy stream is waited for instead
        }
        device_->release_region(region_, std::move(fences));
        throw;
    }
}

void Engine::issue_copy(std::uint64_t visit, bool move_bytes) {
    if (disk_) return issue_disk_copy(visit);  // the reader queues it once read (engine_disk.cpp)
    const std::uint64_t per_step = streamed_.size();
    const std::uint64_t step = visit / per_step;
    const auto ordinal = static_cast<std::uint32_t>(visit % per_step);
    const std::uint32_t g = streamed_[ordinal];
    const auto slot = static_cast<std::uint32_t>(visit % slots_);
    EventSet& set = set_of(step);
    Stream& copy = *copy_;
    Event* freed = nullptr;  // the slot's previous user must have released it on the device
    if (visit >= slots_) {
        const std::uint64_t before = visit - slots_;
        freed = set_of(before / per_step).done[streamed_[before % per_step]].get();
    }
    const std::uint64_t bytes = move_bytes ? groups_[g].bytes : 0;
    const bool timed = level_ >= OFL_TIMING_STEP;
    if (!timed || (ordinal != 0 && ordinal + 1 != per_step)) {  // no timing mark between: one operation
        copy.copy_between(freed, region_ + ring_offset_ + slot * slot_bytes_, groups_[g].host, bytes, OFL_COPY_HOST_TO_DEVICE,
                          *set.ready[ordinal]);
        return;
    }
    if (freed) copy.wait_event(*freed);
    if (timed && ordinal == 0) set.copy_begin->record(copy);
    if (bytes > 0) {
        copy.copy(region_ + ring_offset_ + slot * slot_bytes_, groups_[g].host, groups_[g].bytes, OFL_COPY_HOST_TO_DEVICE);
    }
    // copy_end goes before ready, so the compute that waits for this copy also waits for it: a
    // step whose compute is done has all its events complete.
    if (timed && ordinal + 1 == per_step) set.copy_end->record(copy);
    set.ready[ordinal]->record(copy);
}

void Engine::back_pressure(std::uint64_t step) {
    Counters& c = counters_[step % kHistory];
    c = Counters{};
    if (step < ahead_ + 1ull) return;
    const std::uint64_t behind = step - 1 - ahead_;
    Event& end = last_event(behind);  // with step timing, end: then reading that step's figures never waits
    if (!end.query()) {
        auto t0 = std::chrono::steady_clock::now();
        end.synchronize();
        c.host_waits = 1;
        c.host_blocked_ms = ms_since(t0);
    }
    // Figures nobody asked for are read before their events are reused (engine.hpp): they are
    // done, since step s - 1 - ahead is.
    if (step >= ahead_ + 2ull) {
        while (read_ <= step - 2 - ahead_) read_step(read_);
    }
}

void* Engine::acquire(std::uint32_t group) {
    check_live("acquire");
    if (holding_ || group != next_group_) {
        OFL_EXPECT(!holding_, OFL_ERR_INVALID_ARGUMENT, "acquire of group ", group, " while group ", next_group_,
                   " is still held: release it first");
        fail(OFL_ERR_INVALID_ARGUMENT, "groups run in order: expected group ", next_group_, " of ", groups_.size(), ", got ",
             group);
    }
    Stream& compute = *compute_;
    if (group == 0) begin_step();
    Event* ready = nullptr;
    void* address = place(group, ready);
    if (ready) compute.wait_event(*ready);
    holding_ = true;
    return address;
}

void* Engine::place(std::uint32_t group, Event*& ready) {
    const Group& g = groups_[group];
    if (g.resident) {
        if (step_ == 0 && disk_) disk_->await_resident(group);  // its load is queued (engine_disk.cpp)
        if (step_ == 0 && resident_ready_[group]) ready = resident_ready_[group].get();  // its one load
        return region_ + g.offset;
    }
    const std::uint64_t visit = step_ * streamed_.size() + g.ordinal;
    while (issued_ <= visit + depth_) {
        issue_copy(issued_);
        ++issued_;  // only once queued: a failed copy is tried again, never waited on
    }
    if (disk_) disk_->await_queued(visit);  // its ready record is queued (engine_disk.cpp)
    ready = set_of(step_).ready[g.ordinal].get();
    return region_ + ring_offset_ + (visit % slots_) * slot_bytes_;
}

void Engine::begin_step() {
    back_pressure(step_);
    if (level_ >= OFL_TIMING_STEP) set_of(step_).begin->record(*compute_);
}

void Engine::skip(std::uint32_t group) {
    check_live("skip");
    if (holding_ || group != next_group_) {
        OFL_EXPECT(!holding_, OFL_ERR_INVALID_ARGUMENT, "skip of group ", group, " while group ", next_group_,
                   " is still held: release it first");
        fail(OFL_ERR_INVALID_ARGUMENT, "groups run in order: expected group ", next_group_, " of ", groups_.size(), ", got ", group);
    }
    Stream& compute = *compute_;
    if (group == 0) begin_step();
    EventSet& set = set_of(step_);
    const Group& g = groups_[group];
    Event* ready = nullptr;
    if (g.resident) {
        if (step_ == 0 && disk_) disk_->await_resident(group);
        if (step_ == 0 && resident_ready_[group]) ready = resident_ready_[group].get();
    } else {
        const std::uint64_t visit = step_ * streamed_.size() + g.ordinal;
        while (issued_ < visit) {  // earlier visits are queued by their own acquire or skip; kept for safety
            issue_copy(issued_);
            ++issued_;
        }
        if (issued_ == visit) {  // not queued yet: the records without the bytes
            issue_copy(visit, false);
            ++issued_;
            if (!disk_) counters_[step_ % kHistory].skipped_bytes += g.bytes;
        }
        if (disk_) disk_->await_queued(visit);
        ready = set.ready[g.ordinal].get();
    }
    // The compute stream passes the group's ready event as an acquire would (a step whose compute
    // is done has every event of the step complete: the figures rely on it), then releases it.
    if (ready) compute.wait_event(*ready);
    holding_ = true;
    release(group);
}

Event* Engine::done_to_record(std::uint32_t group) {
    // done orders slot reuse (streamed groups) and ends the step (the last group); with group
    // timing, every group's done also marks where the next group's wait begins.
    const bool needed = !groups_[group].resident || group + 1 == groups_.size() || level_ == OFL_TIMING_GROUP || fence_group_[group];
    return needed ? set_of(step_).done[group].get() : nullptr;
}

void Engine::release(std::uint32_t group) {
    check_live("release");
    if (!holding_ || group != next_group_) {
        fail(OFL_ERR_INVALID_ARGUMENT, "release of group ", group,
             holding_ ? concat(" but group ", next_group_, " is the one held") : std::string(" but no group is held"));
    }
    const bool last = group + 1 == groups_.size();
    if (Event* done = done_to_record(group)) done->record(*compute_);
    if (last && level_ >= OFL_TIMING_STEP) set_of(step_).end->record(*compute_);
    holding_ = false;
    if (last) {
        next_group_ = 0;
        ++step_;
    } else {
        ++next_group_;
    }
}

void* Engine::advance(std::uint32_t group) {
    check_live("advance");
    if (!holding_ || group != next_group_ || group + 1 >= groups_.size()) {
        OFL_EXPECT(holding_ && group == next_group_, OFL_ERR_INVALID_ARGUMENT, "advance from group ", group,
                   holding_ ? concat(" but group ", next_group_, " is the one held") : std::string(" but no group is held"));
        fail(OFL_ERR_INVALID_ARGUMENT, "advance from group ", group, ": it is the step's last group (", groups_.size(),
             " groups); release it and acquire group 0 of the next step");
    }
    Stream& compute = *compute_;
    // release(group): its record counts from here on (the copy into its slot, queued below, waits
    // on it), but its place in the compute stream is taken together with the next acquire's wait.
    const Stream::DeferredRecord released = compute.begin_record(done_to_record(group));
    holding_ = false;
    ++next_group_;
    // acquire(group + 1): never a step's first group, so no back-pressure and no begin mark.
    Event* ready = nullptr;
    void* address;
    try {
        address = place(group + 1, ready);
    } catch (...) {
        compute.finish_record(released, nullptr);  // the release stands; the acquire failed
        throw;
    }
    compute.finish_record(released, ready);
    holding_ = true;
    return address;
}

void Engine::read_step(std::uint64_t step) {
    const Counters& c = counters_[step % kHistory];
    ofl_step_metrics m{};
    m.struct_size = sizeof m;
    m.step = step;
    m.h2d_bytes = streamed_bytes_ - c.skipped_bytes;
    m.host_waits = c.host_waits;
    m.host_blocked_ms = c.host_blocked_ms;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    m.step_ms = m.compute_ms = m.compute_idle_ms = m.copy_ms = m.copy_busy_ms = m.begin_ms = nan;
    const std::uint64_t per_step = streamed_.size();
    if (level_ >= OFL_TIMING_STEP) {
        m.timed = 1;
        EventSet& set = set_of(step);
        Event& begin = *set.begin;
        m.step_ms = step == 0 ? begin.elapsed_ms_until(*set.end) : set_of(step - 1).end->elapsed_ms_until(*set.end);
        // Steps are read in order, so the previous step's begin is at hand: the timeline is a chain of
        // short intervals, kept in double (one long float interval would lose precision).
        // Step 0 on the runtime's device clock (engine.hpp), later steps chained from it.
        last_begin_ms_ = step == 0 ? clock_origin_->elapsed_ms_until(begin) : last_begin_ms_ + set_of(step - 1).begin->elapsed_ms_until(begin);
        m.begin_ms = last_begin_ms_;
        m.copy_busy_ms = per_step > 0 ? set.copy_begin->elapsed_ms_until(*set.copy_end) : 0.0;
        if (level_ == OFL_TIMING_GROUP) read_groups(step, m);
    }
    history_[step % kHistory] = m;
    read_ = step + 1;
}

void Engine::read_groups(std::uint64_t step, ofl_step_metrics& m) {
    EventSet& set = set_of(step);
    Event& begin = *set.begin;
    // Times relative to this step's begin (small numbers keep float precision; copies prefetched
    // before the step began come out negative).
    auto at = [&](Event& e) { return static_cast<double>(begin.elapsed_ms_until(e)); };
    const std::uint64_t per_step = streamed_.size();
    double idle = 0, copy_sum = 0;
    double reached = 0;  // when the compute stream reached the current acquire
    const double nan = std::numeric_limits<double>::quiet_NaN();
    ofl_group_span* spans = trace_ ? &spans_[(step % kHistory) * groups_.size()] : nullptr;
    for (std::uint32_t g = 0; g < groups_.size(); ++g) {
        double start = reached;
        if (!groups_[g].resident) {
            const std::uint32_t i = groups_[g].ordinal;
            const double ready = at(*set.ready[i]);
            ready_at_[i] = ready;
            idle += std::max(0.0, ready - reached);
            start = std::max(reached, ready);
        }
        reached = at(*set.done[g]);
        if (spans) {
            spans[g] = ofl_group_span{g, groups_[g].resident ? 0u : 1u, nan, nan, start, reached, 0, 0};
            if (disk_ && !groups_[g].resident) {
                const auto read = disk_->read_time(step * streamed_.size() + groups_[g].ordinal);
                spans[g].read_start_ns = read.first;
                spans[g].read_end_ns = read.second;
            }
        }
    }
    for (std::uint32_t i = 0; i < per_step; ++i) {
        const std::uint64_t visit = step * per_step + i;
        double start;
        if (i == 0) {
            start = at(*set.copy_begin);
        } else {
            start = ready_at_[i - 1];  // the copy stream finished the copy before
            if (visit >= slots_) {
                const std::uint64_t before = visit - slots_;
                start = std::max(start, at(*set_of(before / per_step).done[streamed_[before % per_step]]));
            }
        }
        copy_sum += std::max(0.0, ready_at_[i] - start);
        if (spans) {
            spans[streamed_[i]].copy_start_ms = std::min(start, ready_at_[i]);
            spans[streamed_[i]].copy_end_ms = ready_at_[i];
        }
    }
    if (spans && step == 0 && load_begin_) read_loads(set, spans);
    m.compute_idle_ms = idle;
    m.compute_ms = std::max(0.0, at(*set.end) - idle);
    m.copy_ms = copy_sum;
}

ofl_step_metrics Engine::metrics(std::uint64_t step, bool wait) {
    ensure_read(step, wait);
    ofl_step_metrics m = history_[step % kHistory];
    m.peak_device_bytes = device_->ledger().peak();
    m.peak_host_bytes = device_->host_usage().peak();
    return m;
}

void Engine::spans(std::uint64_t step, bool wait, ofl_group_span* out, std::uint32_t capacity) {
    OFL_EXPECT(trace_, OFL_ERR_INVALID_ARGUMENT, "spans need an engine made with trace = 1");
    OFL_EXPECT(capacity >= groups_.size(), OFL_ERR_INVALID_ARGUMENT, "spans: room for ", capacity, " groups, the engine has ",
               groups_.size());
    ensure_read(step, wait);
    std::copy_n(&spans_[(step % kHistory) * groups_.size()], groups_.size(), out);
}

Event& Engine::last_event(std::uint64_t step) {
    EventSet& set = set_of(step);
    return level_ >= OFL_TIMING_STEP ? *set.end : *set.done.back();  // end follows done[last] on the compute stream
}

void Engine::ensure_read(std::uint64_t step, bool wait) {
    OFL_EXPECT(step < step_, OFL_ERR_NOT_READY, "step ", step, " has not completed (", step_, " completed so far)");
    OFL_EXPECT(step >= read_ || read_ - step <= kHistory, OFL_ERR_INVALID_ARGUMENT, "the figures of step ", step,
               " are gone: only the last ", kHistory, " steps are kept");
    if (step >= read_) {
        Event& end = last_event(step);
        if (!end.query()) {
            OFL_EXPECT(wait, OFL_ERR_NOT_READY, "step ", step, " is still running on the device (ask with wait to wait for it)");
            end.synchronize();
        }
        while (read_ <= step) read_step(read_);  // earlier steps are done too: the compute stream is in order
    }
}

}  // namespace ofl
