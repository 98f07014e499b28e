// region_allocator.hpp: the regions of a runtime's one device allocation (the design's memory model).
//
// A runtime allocates its budget on the device once (Device, at its first device need) and every
// device buffer and engine region is a range of it, handed out here: no device allocation and no
// device-wide wait afterwards. Offsets are rounded up to kAlign. Two ends: engine regions are
// taken from the low end and the runtime's device buffers (workload activations, the API's
// ofl_device_buffer_create) from the high end, so the long-lived small buffers do not split the
// space the turns of large components take in turn.
//
// Deferred free. A range given back may still be in use by work queued on the device (an engine's
// last step, its prefetched copies): it comes back with fences, events recorded at its last use.
// take() prefers a fit whose fences are all complete (queried, never waited on); where only fenced
// space fits, it hands the fences out with the range, piece by piece (which bytes each fence
// guards), and the caller orders its first use of each piece behind them (an engine's copy stream
// waits on a piece's fences before its first copy into it: the next component's first loads queue
// behind the current one's groups that used that space, not behind its whole last step, and the
// host never waits), or waits for them itself (a device buffer, whose user may touch it from any
// stream). Free ranges coalesce when neither has pending fences; a fit may span adjacent free
// ranges, fenced or not. Not thread-safe: Device holds its lock around every call.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "backend.hpp"

namespace ofl {

using Fence = std::shared_ptr<Event>;

class RegionAllocator {
public:
    static constexpr std::uint64_t kAlign = 256;

    explicit RegionAllocator(std::uint64_t capacity);

    struct Piece {  // bytes [from, to) of a taken range (offsets from its start) and what guards them
        std::uint64_t from = 0, to = 0;
        std::vector<Fence> fences;
    };
    struct Taken {
        std::uint64_t offset = 0;
        std::vector<Piece> pieces;  // fenced pieces, in address order; empty when all of it is free now
    };
    // A range of at least `bytes` (rounded up to kAlign); false when no free range is that large.
    // from_top: the highest-address fit, else the lowest.
    bool take(std::uint64_t bytes, bool from_top, Taken& out);
    // Gives back a range taken earlier, reusable once every fence is complete.
    void give(std::uint64_t offset, std::vector<Fence> fences);
    // Gives back a range taken earlier in consecutive parts, each with fences of its own (an engine's
    // groups released one after another in its last step); the parts' bytes sum to at most the
    // range's, the rest going back with the last part's fences.
    struct Part {
        std::uint64_t bytes;
        std::vector<Fence> fences;
    };
    void give_parts(std::uint64_t offset, std::vector<Part> parts);

    std::uint64_t capacity() const noexcept { return capacity_; }
    std::uint64_t largest_free() const noexcept;
    std::size_t free_ranges() const noexcept { return free_.size(); }
    // Free bytes whose fences are still pending (as of the last time they were looked at).
    std::uint64_t fenced_bytes() const noexcept;
    // The end of the free range holding `offset` when it was given back behind a fence still pending
    // (queried now: work queued before the give-back may still use it); 0 when there is none.
    std::uint64_t fenced_end(std::uint64_t offset) const;

private:
    struct Range {
        std::uint64_t bytes;
        std::vector<Fence> fences;
    };
    static void prune(std::vector<Fence>& fences);
    void insert_free(std::uint64_t offset, std::uint64_t bytes, std::vector<Fence> fences);

    std::uint64_t capacity_;
    std::map<std::uint64_t, Range> free_;            // offset -> free range
    std::map<std::uint64_t, std::uint64_t> taken_;   // offset -> rounded bytes
};

}  // namespace ofl
