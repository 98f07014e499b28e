// engine_end.cpp: an engine's end without device-wide waits (engine.hpp: "Its end"): retire hands
// the region back in fenced parts, the destructor frees what only the host holds; and the
// construction-side half of the same protocol: waiting on the fenced pieces of a region taken
// from an engine that ended, and the resident loads' spans on the trace.
#include <algorithm>

#include "error.hpp"
#include "prefetch/engine.hpp"

namespace ofl {
namespace {

constexpr std::uint64_t kAlign = 256;

std::uint64_t align_up(std::uint64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

}  // namespace

Engine::~Engine() {
    try {
        retire();
    } catch (...) {
        // A failed device cannot be fenced; the region went back regardless (retire's note).
    }
    if (disk_) {
        // Queued copies may still read the staging ring: it goes back to the runtime's pool behind
        // the copy fence (null when retire synchronized the streams instead), not through a pinned
        // free, which waits for the whole device (Device::pool_staging).
        disk_->pool_staging_after(copy_fence_);
        disk_.reset();
    }
}

void Engine::retire() {
    if (retired_) return;
    retired_ = true;
    std::vector<Fence> fences;
    std::vector<RegionAllocator::Part> parts;
    try {
        if (disk_) disk_->halt();  // no copy into the region after the fence below; the reads end on their own (joined at destruction)
        wait_pieces(UINT64_MAX);  // disk: pieces the reader had not reached yet; the fence comes after their users
        copy_fence_ = make_event(false);
        copy_fence_->record(*copy_);
        // The compute stream's last use of the region: the last step, recorded already, unless a
        // step is partly done (then now).
        const bool ended = step_ > 0 && !holding_ && next_group_ == 0;
        if (ended) {
            EventSet& set = set_of(step_ - 1);
            std::uint64_t at = 0;
            for (std::uint32_t g = 0; g < groups_.size(); ++g) {  // the resident parts, each behind its last group's release
                if (!fence_group_[g]) continue;
                const std::uint64_t end = groups_[g].offset + align_up(groups_[g].bytes);
                parts.push_back(RegionAllocator::Part{end - at, {set.done[g], copy_fence_}});
                at = end;
            }
            fences.push_back(level_ >= OFL_TIMING_STEP ? set.end : set.done.back());
        } else if (step_ > 0 || holding_ || next_group_ > 0) {
            auto fence = make_event(false);
            fence->record(*compute_);
            fences.push_back(std::move(fence));
        }
        fences.push_back(copy_fence_);
    } catch (...) {
        // Without a fence the device must be idle before the space is reused.
        try {
            copy_->synchronize();
            compute_->synchronize();
        } catch (...) {
        }
        fences.clear();
        device_->release_region(region_, std::move(fences));
        region_ = nullptr;
        throw;
    }
    parts.push_back(RegionAllocator::Part{0, std::move(fences)});  // the rest: the ring, behind the step's end
    device_->release_region_parts(region_, std::move(parts));
    region_ = nullptr;
}

void Engine::wait_pieces(std::uint64_t until) {
    std::size_t done = 0;
    for (; done < pieces_.size() && pieces_[done].from < until; ++done) {
        for (const Fence& f : pieces_[done].fences) copy_->wait_event(*f);
    }
    pieces_.erase(pieces_.begin(), pieces_.begin() + static_cast<std::ptrdiff_t>(done));
}

void Engine::check_live(const char* call) {
    OFL_EXPECT(!retired_, OFL_ERR_CLOSED, call, ": the engine is retired (its device region was given back); only its figures answer");
}

void Engine::read_loads(EventSet& set, ofl_group_span* spans) {
    Event& begin = *set.begin;
    double start = begin.elapsed_ms_until(*load_begin_);  // the loads run back to back on the copy stream
    for (std::uint32_t g = 0; g < groups_.size(); ++g) {
        if (!resident_ready_[g]) continue;
        const double end = begin.elapsed_ms_until(*resident_ready_[g]);
        spans[g].copy_start_ms = std::min(start, end);
        spans[g].copy_end_ms = end;
        start = end;
    }
}

}  // namespace ofl
