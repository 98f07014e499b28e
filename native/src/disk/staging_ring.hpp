#pragma once
// The staging ring's one rule (issue 17): the disk reader sizes its ring with it, and
// ofl_staging_ring reports it, so that Java (HostSource.stagingBytes, plan's preview) asks
// instead of restating it.
//
// Units of 1 MiB where a CPU core copies (the host backend: a unit stays in its cache) or 8 MiB
// where a DMA engine does (cuda). By default 8 of them, at most half of a step's streamed bytes
// (so that a small model never pins as much as itself: two units overlap reading with copying
// already); as given, at most a step's streamed bytes (more holds nothing); the largest group's
// bytes when nothing streams (the caller passes that as needed). A small ring shrinks the unit to
// half of it, a 4 KiB multiple: two units overlap a read with a copy.

#include <algorithm>
#include <cstdint>

namespace ofl {

struct StagingRing {
    std::uint64_t unit;   // bytes of one unit
    std::uint32_t units;  // units in the ring
};

constexpr std::uint64_t kStagingPage = 4096;
constexpr std::uint64_t kStagingCpuUnit = 1ull << 20;
constexpr std::uint64_t kStagingDmaUnit = 8ull << 20;
constexpr std::uint64_t kStagingDefaultUnits = 8;

/** needed: the page-rounded bytes a step streams (the largest group's, page-rounded, when none streams). */
inline StagingRing staging_ring(std::uint64_t staging_bytes, bool cpu_copies, std::uint64_t needed) {
    const auto page_up = [](std::uint64_t n) { return (n + kStagingPage - 1) / kStagingPage * kStagingPage; };
    std::uint64_t unit = cpu_copies ? kStagingCpuUnit : kStagingDmaUnit;
    const std::uint64_t ring = staging_bytes ? std::min(staging_bytes, std::max(needed, 2 * kStagingPage))
                                             : std::min(kStagingDefaultUnits * unit, std::max(page_up(needed / 2), 2 * kStagingPage));
    if (ring < 2 * unit) unit = ring / 2 / kStagingPage * kStagingPage;
    return StagingRing{unit, static_cast<std::uint32_t>(std::min<std::uint64_t>(ring / unit, UINT32_MAX))};
}

}  // namespace ofl
