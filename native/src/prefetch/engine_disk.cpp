// engine_disk.cpp: the engine's disk source (offload.h: ofl_engine_create_from_disk), the third
// stage in front of copy and compute. disk/disk_reader.hpp says how reads, staging slots and the
// copy stream are ordered; this file is the engine's side of it:
//  - with OFL_DISK_FROM_HOST the "files" are the groups' (pageable) host bytes, copied into staging
//    by the same reader: the low-memory source;
//  - at creation the reader opens the files; its first thread then reads the resident groups
//    through the staging ring, unit by unit, and queues each unit's copy to the permanent region
//    (queue_resident below), the group's ready record after its last: nothing waits at creation.
//    Step 0's acquire (or skip) of a resident group waits on the host until its load is queued
//    (DiskReader::await_resident), then the compute stream waits on its ready event;
//  - issuing visit v's copy asks the reader for ticket v (never blocks). The reader threads queue
//    its copies as its units are read (queue_unit below, called in unit order by one reader thread
//    at a time): on the first unit the wait for the device slot's previous user (as for host
//    groups) and the copy_begin mark; each unit's copy staging -> slot (1 MiB units on host, 8 MiB
//    on cuda); after the last, the copy_end mark and the ready record. The acquire (or skip) of
//    visit v waits until ticket v is queued (DiskReader::await_queued), so the compute stream's wait
//    names v's ready record (engine.hpp). No host function is queued: nothing blocks CUDA's
//    callback thread (disk_reader.hpp).
#include <algorithm>

#include "error.hpp"
#include "prefetch/engine.hpp"

namespace ofl {

void Engine::open_disk(const ofl_disk_source& source) {
    std::vector<std::uint64_t> bytes;
    for (const Group& g : groups_) bytes.push_back(g.bytes);
    std::vector<const unsigned char*> hosts;
    if (source.flags & OFL_DISK_FROM_HOST) {
        for (const Group& g : groups_) hosts.push_back(static_cast<const unsigned char*>(g.host));
    }
    std::vector<std::uint32_t> resident;
    for (std::uint32_t g = 0; g < groups_.size(); ++g) {
        if (groups_[g].resident && groups_[g].bytes > 0) {
            resident.push_back(g);
            resident_ready_[g] = make_event(trace_);  // recorded by the reader (queue_resident)
        }
    }
    if (trace_ && !resident.empty()) load_begin_ = make_event(true);
    disk_ = std::make_unique<DiskReader>(device_, source, bytes, streamed_, std::move(hosts), *copy_, *this, std::move(resident));
}

void Engine::queue_resident(std::uint32_t group, std::uint64_t from, std::uint64_t to, const unsigned char* staging) {
    // Runs on the reader's first thread before any streamed unit; the engine's thread reads the
    // group's ready event only after await_resident(group).
    const Group& g = groups_[group];
    if (from == 0) wait_pieces(g.offset + g.bytes);  // the space it writes, behind its previous user
    if (from == 0 && load_begin_ && !load_begun_) {
        load_begin_->record(*copy_);
        load_begun_ = true;
    }
    copy_->copy(region_ + g.offset + from, staging, to - from, OFL_COPY_HOST_TO_DEVICE);
    if (to == g.bytes) resident_ready_[group]->record(*copy_);
}

void Engine::issue_disk_copy(std::uint64_t visit) { disk_->request(visit); }

void Engine::queue_unit(std::uint64_t visit, std::uint64_t part, std::uint64_t parts, const unsigned char* staging, std::uint64_t from,
                        std::uint64_t to) {
    // Runs on a reader thread; reads only what the constructor fixed, and records events of this
    // visit's set, which the engine's thread touches only after await_queued(visit) (engine.hpp).
    const std::uint64_t per_step = streamed_.size();
    const std::uint64_t step = visit / per_step;
    const auto ordinal = static_cast<std::uint32_t>(visit % per_step);
    EventSet& set = set_of(step);
    Stream& copy = *copy_;
    const bool timed = level_ >= OFL_TIMING_STEP;
    if (part == 0) {
        if (visit == 0) wait_pieces(UINT64_MAX);  // the ring's space, behind every piece (the resident load is queued before)
        if (visit >= slots_) {  // the slot's previous user must have released it on the device
            const std::uint64_t before = visit - slots_;
            copy.wait_event(*set_of(before / per_step).done[streamed_[before % per_step]]);
        }
        if (timed && ordinal == 0) set.copy_begin->record(copy);
    }
    auto* slot = region_ + ring_offset_ + (visit % slots_) * slot_bytes_;
    if (to > from) copy.copy(slot + from, staging, to - from, OFL_COPY_HOST_TO_DEVICE);
    if (part + 1 == parts) {
        if (timed && ordinal + 1 == per_step) set.copy_end->record(copy);
        set.ready[ordinal]->record(copy);
    }
}

void Engine::check_faults() {
    if (disk_) disk_->check();
}

ofl_disk_stats Engine::disk_stats() const {
    if (disk_) return disk_->stats();
    ofl_disk_stats none{};
    none.struct_size = sizeof none;
    return none;
}

}  // namespace ofl
