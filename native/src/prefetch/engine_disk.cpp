// engine_disk.cpp: the engine's disk source (offload.h: ofl_engine_create_from_disk), the third
// stage in front of copy and compute. disk/disk_reader.hpp says how reads, staging slots and the
// copy stream are ordered; this file is the engine's side of it:
//  - with OFL_DISK_FROM_HOST the "files" are the groups' (pageable) host bytes, copied into staging
//    by the same reader: the low-memory source;
//  - at creation the reader opens the files and the resident groups are read through the staging
//    ring, chunk by chunk, and copied to the permanent region (blocking: creation time);
//  - issuing visit v's copy asks the reader for ticket v (never blocks), then queues on the copy
//    stream, in order: the wait for the device slot's previous user (as for host groups); for each
//    of the group's staging units (1 MiB on host, 8 MiB on cuda) the host function that frees the
//    units copied before it and waits for its read, then its copy staging -> slot; then the ready
//    record. All of it is queued by the engine's calling thread
//    in visit order, so every stream wait still captures the record it means (engine.hpp).
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
    disk_ = std::make_unique<DiskReader>(device_, source, bytes, streamed_, std::move(hosts));
    Stream& copy = *copy_;
    unsigned char* staging = disk_->staging_base();
    const std::uint64_t chunk = disk_->staging_bytes();
    for (std::uint32_t g = 0; g < groups_.size(); ++g) {
        const Group& group = groups_[g];
        if (!group.resident) continue;
        for (std::uint64_t from = 0; from < group.bytes; from += chunk) {
            const std::uint64_t to = std::min(group.bytes, from + chunk);
            disk_->load(g, from, to, staging);
            copy.copy(region_ + group.offset + from, staging, to - from, OFL_COPY_HOST_TO_DEVICE);
            copy.synchronize();  // the staging is reused by the next chunk
        }
    }
}

void Engine::issue_disk_copy(std::uint64_t visit, std::uint32_t ordinal, void* slot, Event* freed, EventSet& set) {
    const Group& group = groups_[streamed_[ordinal]];
    Stream& copy = *copy_;
    const bool timed = level_ >= OFL_TIMING_STEP;
    disk_->request(visit);
    if (freed) copy.wait_event(*freed);
    if (timed && ordinal == 0) set.copy_begin->record(copy);
    auto* dst = static_cast<unsigned char*>(slot);
    const std::uint64_t unit = disk_->unit_bytes(), count = disk_->units_of_group(group.bytes);
    const std::uint64_t first = disk_->first_unit(visit);
    std::uint64_t queued = 0;  // await_read calls queued for this visit
    try {
        for (std::uint64_t k = 0; k < count; ++k) {  // each unit: free the ones copied, wait for its read, copy it out
            copy.launch_host_func(&DiskReader::await_read, disk_.get());
            ++queued;
            const std::uint64_t from = k * unit, to = std::min(group.bytes, from + unit);
            if (to > from) copy.copy(dst + from, disk_->staging_unit(first + k), to - from, OFL_COPY_HOST_TO_DEVICE);
        }
    } catch (const std::exception& e) {
        // Nothing queued for this visit: the issue may be tried again with the same unit numbers.
        // Some await_read queued: they cannot be taken back, so the source fails for good.
        if (queued > 0) {
            disk_->fail_queue(concat("disk source: the copies of visit ", visit, " could only be partly queued (", queued, " of ",
                                     count, " units): ", e.what()));
        }
        throw;
    }
    if (timed && ordinal + 1 == streamed_.size()) set.copy_end->record(copy);
    set.ready[ordinal]->record(copy);
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
