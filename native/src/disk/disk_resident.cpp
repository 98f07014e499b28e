// disk_resident.cpp: the resident load of a disk source, on the reader's first thread, so that an
// engine's creation (a model-level turn, under the offloader's lock) never waits for the device.
//
// Before any streamed unit, the resident groups (in order) are cut into staging units, numbered
// 0, 1, 2, ... as streamed units are: unit j lives in staging unit j % units; before reading into
// it the thread waits for the unit's event (its previous copy out: the reader's own wait, never a
// callback), and first for the fence of a ring taken from the runtime's pool (the previous engine's
// last copies out of it). Each unit's copy to the permanent region is queued by the engine
// (DiskCopySink::queue_resident, which records the group's ready event after its last unit), then
// the unit's event. The copy stream waits on the region's fences before the first copy (the
// engine's constructor), so the loads run behind the previous user's kernels on the device while
// the host goes on. Step 0's acquire of a resident group waits on the host until that group is
// queued (await_resident), so its compute wait names the ready record it means. Then the streamed
// units may use the ring (resident_done_); they also wait for the events of the staging units the
// resident load used. A failed read or copy makes the error sticky and stops the pipeline
// (poisoned_): await_resident throws it. halt() stops the load between units, as for streamed ones.
#include <algorithm>
#include <chrono>

#include "disk/disk_reader.hpp"
#include "error.hpp"

namespace ofl {

void DiskReader::load_resident(Bounce& bounce) noexcept {
    std::uint64_t unit = 0;
    bool failed = false, stopped = false;
    try {
        if (staging_fence_) staging_fence_->synchronize();
        for (std::size_t i = 0; i < resident_.size() && !failed && !stopped; ++i) {
            const std::uint32_t group = resident_[i];
            const std::uint64_t bytes = group_bytes_[group];
            if (bytes == 0) {  // nothing to read or copy: loaded as it is (its ready event, never recorded, is complete)
                std::lock_guard<std::mutex> lock(mutex_);
                resident_next_ = group + 1;
                groups_read_.fetch_add(1, std::memory_order_relaxed);
                changed_.notify_all();
                continue;
            }
            for (std::uint64_t from = 0; from < bytes; from += unit_, ++unit) {
                const std::uint64_t to = std::min(bytes, from + unit_);
                unsigned char* staging = staging_unit(unit);
                if (unit >= units_) unit_copied_[unit % units_]->synchronize();  // its previous copy out is done
                {
                    std::lock_guard<std::mutex> lock(mutex_);
                    if ((stopped = stopping_)) break;
                }
                const auto t0 = std::chrono::steady_clock::now();
                read_range(group, from, to, staging, bounce.data ? &bounce : nullptr);
                read_ns_.fetch_add(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                                  std::chrono::steady_clock::now() - t0)
                                                                  .count()),
                                   std::memory_order_relaxed);
                {
                    std::unique_lock<std::mutex> lock(mutex_);
                    if ((stopped = stopping_)) break;
                    issuing_ = true;  // halt() waits for this unit's copy to be queued
                }
                try {
                    sink_.queue_resident(group, from, to, staging);
                    unit_copied_[unit % units_]->record(copy_);
                } catch (...) {
                    std::lock_guard<std::mutex> lock(mutex_);
                    issuing_ = false;
                    changed_.notify_all();
                    throw;
                }
                std::lock_guard<std::mutex> lock(mutex_);
                issuing_ = false;
                if (to == bytes) {
                    resident_next_ = group + 1;
                    groups_read_.fetch_add(1, std::memory_order_relaxed);
                }
                changed_.notify_all();
            }
        }
    } catch (const Error& e) {
        std::lock_guard<std::mutex> lock(mutex_);
        keep_first_error(e.status(), e.what());
        failed = true;
    } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mutex_);
        keep_first_error(OFL_ERR_INTERNAL, concat("disk source: loading the resident groups failed: ", e.what()));
        failed = true;
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (failed) poisoned_ = true;  // nothing streams after a resident group that did not load
        resident_units_ = unit;
        resident_done_ = true;
    }
    changed_.notify_all();
}

void DiskReader::await_resident(std::uint32_t group) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (resident_next_ > group) return;
    wait_counted(lock, [&] { return resident_next_ > group || resident_done_ || stopping_; });
    if (resident_next_ <= group) {
        OFL_EXPECT(error_status_ == OFL_OK, error_status_, error_);
        // Done, not stopped, and the group was not among those loaded: it had nothing to read (a
        // zero-size group, or no worker at all: no group with bytes).
        if (resident_done_ && !stopping_) return;
        fail(OFL_ERR_CLOSED, "disk source: stopped before resident group ", group, " was loaded");
    }
}

}  // namespace ofl
