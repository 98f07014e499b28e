#include "prefetch/engine.hpp"

#include <algorithm>

#include "error.hpp"

namespace ofl {
namespace {

constexpr std::uint64_t kAlign = 256;

std::uint64_t align_up(std::uint64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

}  // namespace

std::unique_ptr<Event> Engine::make_event(bool timing) { return device_->backend().create_event(timing); }

Engine::Engine(std::shared_ptr<Device> device, const ofl_group_desc* groups, std::uint32_t count,
               const ofl_engine_config& config, std::shared_ptr<ofl_stream> compute, std::shared_ptr<ofl_stream> copy)
    : device_(std::move(device)), compute_(std::move(compute)), copy_(std::move(copy)),
      slots_(config.slots), depth_(config.prefetch_depth), timing_(config.timing != 0) {
    OFL_EXPECT(count > 0, OFL_ERR_INVALID_ARGUMENT, "an engine needs at least one group");
    std::uint64_t resident_bytes = 0;
    for (std::uint32_t g = 0; g < count; ++g) {
        const ofl_group_desc& d = groups[g];
        OFL_EXPECT(d.host_address != nullptr || d.bytes == 0, OFL_ERR_INVALID_ARGUMENT, "group ", g, " has a NULL host address");
        OFL_EXPECT(d.resident <= 1 && d.reserved == 0, OFL_ERR_INVALID_ARGUMENT, "group ", g,
                   ": resident must be 0 or 1 and reserved 0");
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
    if (!streamed_.empty()) {
        OFL_EXPECT(slots_ >= 1, OFL_ERR_INVALID_ARGUMENT, "streamed groups need at least one ring slot, got 0");
        OFL_EXPECT(depth_ < slots_, OFL_ERR_INVALID_ARGUMENT, "prefetch depth ", depth_, " must be smaller than the ",
                   slots_, " ring slots");
        slot_bytes_ = std::max<std::uint64_t>(slot_bytes_, kAlign);
        // Prefetch reaches at most into the next step, so per-step timing events are never
        // re-recorded before their step is read.
        depth_ = std::min<std::uint32_t>(depth_, static_cast<std::uint32_t>(streamed_.size()));
    } else {
        slots_ = 0;
        depth_ = 0;
    }
    ring_offset_ = resident_bytes;
    std::uint64_t total = resident_bytes + slot_bytes_ * slots_;
    region_ = static_cast<unsigned char*>(device_->allocate(std::max<std::uint64_t>(total, kAlign)));
    try {
        for (std::uint32_t s = 0; s < slots_; ++s) {
            ready_.push_back(make_event(false));
            free_.push_back(make_event(false));
        }
        resident_loaded_ = make_event(false);
        if (timing_) {
            first_step_start_ = make_event(true);
            for (TimingSet& set : sets_) {
                set.step_end = make_event(true);
                for (std::uint32_t g = 0; g < count; ++g) {
                    set.compute_start.push_back(make_event(true));
                    set.compute_end.push_back(make_event(true));
                    set.copy_start.push_back(make_event(true));
                    set.copy_end.push_back(make_event(true));
                }
            }
        }
        // Resident groups: copied once; the compute stream waits for them on the device.
        for (const Group& g : groups_) {
            if (g.resident && g.bytes > 0) copy_->impl->copy(region_ + g.offset, g.host, g.bytes, OFL_COPY_HOST_TO_DEVICE);
        }
        resident_loaded_->record(*copy_->impl);
        compute_->impl->wait_event(*resident_loaded_);
    } catch (...) {
        copy_->impl->synchronize();
        device_->deallocate(region_);
        throw;
    }
}

Engine::~Engine() {
    try {
        copy_->impl->synchronize();
        compute_->impl->synchronize();
    } catch (...) {
        // A failed device cannot be waited on; the memory is freed regardless.
    }
    device_->deallocate(region_);
}

void Engine::issue_copy(std::uint64_t visit) {
    const std::uint64_t per_step = streamed_.size();
    const std::uint32_t g = streamed_[visit % per_step];
    const std::uint32_t slot = static_cast<std::uint32_t>(visit % slots_);
    TimingSet& set = sets_[(visit / per_step) % 3];
    Stream& copy = *copy_->impl;
    if (visit >= slots_) copy.wait_event(*free_[slot]);
    if (timing_) set.copy_start[g]->record(copy);
    if (groups_[g].bytes > 0) copy.copy(region_ + ring_offset_ + slot * slot_bytes_, groups_[g].host, groups_[g].bytes, OFL_COPY_HOST_TO_DEVICE);
    if (timing_) set.copy_end[g]->record(copy);
    ready_[slot]->record(copy);
}

void* Engine::acquire(std::uint32_t group) {
    OFL_EXPECT(!holding_, OFL_ERR_INVALID_ARGUMENT, "acquire of group ", group, " while group ", next_group_,
               " is still held: release it first");
    OFL_EXPECT(group == next_group_, OFL_ERR_INVALID_ARGUMENT, "groups run in order: expected group ", next_group_,
               " of ", groups_.size(), ", got ", group);
    Stream& compute = *compute_->impl;
    if (timing_ && group == 0 && step_ == 0) first_step_start_->record(compute);
    const Group& g = groups_[group];
    void* address;
    if (g.resident) {
        address = region_ + g.offset;
    } else {
        const std::uint64_t visit = step_ * streamed_.size() + g.ordinal;
        const std::uint32_t slot = static_cast<std::uint32_t>(visit % slots_);
        if (visit >= slots_ && !free_[slot]->query()) {  // a whole ring ahead of the device
            auto t0 = std::chrono::steady_clock::now();
            free_[slot]->synchronize();
            blocked_ += std::chrono::steady_clock::now() - t0;
        }
        while (issued_ <= visit + depth_) issue_copy(issued_++);
        compute.wait_event(*ready_[slot]);
        address = region_ + ring_offset_ + slot * slot_bytes_;
    }
    if (timing_) sets_[step_ % 3].compute_start[group]->record(compute);
    holding_ = true;
    return address;
}

void Engine::release(std::uint32_t group) {
    OFL_EXPECT(holding_ && group == next_group_, OFL_ERR_INVALID_ARGUMENT, "release of group ", group,
               holding_ ? concat(" but group ", next_group_, " is the one held") : std::string(" but no group is held"));
    Stream& compute = *compute_->impl;
    TimingSet& set = sets_[step_ % 3];
    if (timing_) set.compute_end[group]->record(compute);
    if (timing_ && group + 1 == groups_.size()) set.step_end->record(compute);
    const Group& g = groups_[group];
    if (!g.resident) {
        const std::uint64_t visit = step_ * streamed_.size() + g.ordinal;
        free_[visit % slots_]->record(compute);
    }
    holding_ = false;
    if (++next_group_ == groups_.size()) finish_step();
}

void Engine::finish_step() {
    sets_[step_ % 3].host_blocked_ms = std::chrono::duration<double, std::milli>(blocked_).count();
    blocked_ = {};
    next_group_ = 0;
    ++step_;
    // Read the step before this one: its events are complete unless the host is a whole step
    // ahead of the device, and they stay intact until the step after this one starts.
    if (step_ >= 2 && read_ < step_ - 1) {
        auto t0 = std::chrono::steady_clock::now();
        read_step(step_ - 2);
        blocked_ += std::chrono::steady_clock::now() - t0;  // counts as the next step's stall
    }
}

void Engine::read_step(std::uint64_t step) {
    TimingSet& set = sets_[step % 3];
    ofl_step_metrics m{};
    m.struct_size = sizeof m;
    m.step = step;
    m.timed = timing_ ? 1 : 0;
    m.h2d_bytes = streamed_bytes_;
    m.host_blocked_ms = set.host_blocked_ms;
    if (timing_) {
        set.step_end->synchronize();  // the step's compute is done, so its copies are too
        // After the first step, a step's time is the period from the previous step's end, so host
        // time between steps counts, and so do copies prefetched before its first group.
        Event& from = step == 0 ? *first_step_start_ : *sets_[(step - 1) % 3].step_end;
        m.step_ms = from.elapsed_ms_until(*set.step_end);
        for (std::size_t g = 0; g < groups_.size(); ++g) {
            m.compute_ms += set.compute_start[g]->elapsed_ms_until(*set.compute_end[g]);
            if (!groups_[g].resident) m.copy_ms += set.copy_start[g]->elapsed_ms_until(*set.copy_end[g]);
        }
    }
    history_[step % kHistory] = m;
    read_ = step + 1;
}

ofl_step_metrics Engine::metrics(std::uint64_t step, bool wait) {
    OFL_EXPECT(step < step_, OFL_ERR_NOT_READY, "step ", step, " has not completed (", step_, " completed so far)");
    if (step >= read_) {
        OFL_EXPECT(wait, OFL_ERR_NOT_READY, "the figures of step ", step, " are not read yet (ask with wait)");
        while (read_ <= step) read_step(read_);
    }
    OFL_EXPECT(step + kHistory >= read_, OFL_ERR_INVALID_ARGUMENT, "the figures of step ", step, " are gone: only the last ",
               kHistory, " steps are kept");
    return history_[step % kHistory];
}

}  // namespace ofl
