#include "memory/region_allocator.hpp"

#include <algorithm>

#include "error.hpp"

namespace ofl {

RegionAllocator::RegionAllocator(std::uint64_t capacity) : capacity_(capacity / kAlign * kAlign) {
    if (capacity_ > 0) free_.emplace(0, Range{capacity_, {}});
}

void RegionAllocator::prune(std::vector<Fence>& fences) {
    fences.erase(std::remove_if(fences.begin(), fences.end(), [](const Fence& f) { return !f || f->query(); }), fences.end());
}

bool RegionAllocator::take(std::uint64_t bytes, bool from_top, Taken& out) {
    const std::uint64_t need = (bytes + kAlign - 1) / kAlign * kAlign;
    if (need == 0 || need > capacity_) return false;
    for (auto& [at, r] : free_) prune(r.fences);
    // A clean range that fits, lowest (highest) first; else the lowest (highest) run of adjacent
    // free ranges that fits, fenced or not. `start` is the fit's first byte.
    std::uint64_t start = UINT64_MAX;
    for (auto& [at, r] : free_) {
        if (!r.fences.empty() || r.bytes < need) continue;
        start = from_top ? at + r.bytes - need : at;
        if (!from_top) break;
    }
    if (start == UINT64_MAX) {
        std::uint64_t run_start = 0, run_end = 0;
        bool in_run = false;
        for (auto& [at, r] : free_) {
            if (!in_run || at != run_end) {
                run_start = at;
                in_run = true;
            }
            run_end = at + r.bytes;
            if (run_end - run_start >= need) {
                if (!from_top) {
                    start = run_start;
                    break;
                }
                start = run_end - need;  // the highest so far; a later run is higher still
            }
        }
    }
    if (start == UINT64_MAX) return false;
    const std::uint64_t end = start + need;
    out.offset = start;
    out.pieces.clear();
    auto it = free_.upper_bound(start);
    if (it != free_.begin()) --it;
    while (it != free_.end() && it->first < end) {
        const std::uint64_t at = it->first, r_end = at + it->second.bytes;
        if (r_end <= start) {
            ++it;
            continue;
        }
        Range range = std::move(it->second);
        it = free_.erase(it);
        if (at < start) free_.emplace(at, Range{start - at, range.fences});     // the part before the fit
        if (r_end > end) free_.emplace(end, Range{r_end - end, range.fences});  // the part after it
        if (!range.fences.empty()) {
            out.pieces.push_back(Piece{std::max(at, start) - start, std::min(r_end, end) - start, std::move(range.fences)});
        }
        it = free_.lower_bound(std::min(r_end, end));
    }
    taken_.emplace(start, need);
    return true;
}

void RegionAllocator::give(std::uint64_t offset, std::vector<Fence> fences) {
    std::vector<Part> whole;
    whole.push_back(Part{0, std::move(fences)});
    give_parts(offset, std::move(whole));
}

void RegionAllocator::give_parts(std::uint64_t offset, std::vector<Part> parts) {
    auto t = taken_.find(offset);
    OFL_EXPECT(t != taken_.end(), OFL_ERR_INTERNAL, "device region at offset ", offset, " was not taken from this runtime's arena");
    const std::uint64_t bytes = t->second;
    taken_.erase(t);
    std::uint64_t at = offset;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const bool last = i + 1 == parts.size();
        std::uint64_t part = last ? offset + bytes - at : std::min((parts[i].bytes + kAlign - 1) / kAlign * kAlign, offset + bytes - at);
        if (part == 0) continue;
        insert_free(at, part, std::move(parts[i].fences));
        at += part;
    }
}

void RegionAllocator::insert_free(std::uint64_t offset, std::uint64_t bytes, std::vector<Fence> fences) {
    Range range{bytes, std::move(fences)};
    prune(range.fences);
    auto next = free_.lower_bound(offset);
    if (next != free_.end() && offset + range.bytes == next->first) {  // joins the range after it when both are clean
        prune(next->second.fences);
        if (range.fences.empty() && next->second.fences.empty()) {
            range.bytes += next->second.bytes;
            next = free_.erase(next);
        }
    }
    if (next != free_.begin()) {
        auto before = std::prev(next);
        prune(before->second.fences);
        if (before->first + before->second.bytes == offset && range.fences.empty() && before->second.fences.empty()) {
            before->second.bytes += range.bytes;  // joins the range before it
            return;
        }
    }
    free_.emplace(offset, std::move(range));
}

std::uint64_t RegionAllocator::largest_free() const noexcept {  // the largest run of adjacent free ranges
    std::uint64_t largest = 0, run_start = 0, run_end = 0;
    for (const auto& [at, r] : free_) {
        if (at != run_end) run_start = at;
        run_end = at + r.bytes;
        largest = std::max(largest, run_end - run_start);
    }
    return largest;
}

std::uint64_t RegionAllocator::fenced_bytes() const noexcept {
    std::uint64_t fenced = 0;
    for (const auto& [at, r] : free_) {
        if (!r.fences.empty()) fenced += r.bytes;
    }
    return fenced;
}

std::uint64_t RegionAllocator::fenced_end(std::uint64_t offset) const {
    auto it = free_.upper_bound(offset);
    if (it == free_.begin()) return 0;
    --it;
    if (it->first + it->second.bytes <= offset) return 0;
    const auto& fences = it->second.fences;
    if (std::none_of(fences.begin(), fences.end(), [](const Fence& f) { return f && !f->query(); })) return 0;
    return it->first + it->second.bytes;
}

}  // namespace ofl
