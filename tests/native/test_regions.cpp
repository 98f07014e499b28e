// The runtime's one device allocation and its regions (memory/region_allocator.hpp, device.hpp):
// the allocator's fits, ends and coalescing, fenced ranges handed out with their fences; and through
// the C API on the host backend, a model-level turn: engine A's last step still runs (a stream
// delay), A is destroyed and engine B takes A's space, both without the host waiting and without a
// device-wide wait (ofl_runtime_device_syncs stays 0), B's load queued behind A's last use (not done
// while the delay runs), B's bytes right afterwards; ofl_device_buffer_destroy still waits for the
// device and counts one.
#include <chrono>
#include <cstring>
#include <vector>

#include "check.hpp"
#include "memory/region_allocator.hpp"
#include "host/host_backend.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

void allocator() {
    struct NoViews final : ofl::ViewableRanges {
        bool viewable(const void*, std::uint64_t) const override { return false; }
    } no_views;
    auto backend = ofl::make_host_backend();
    backend->reserve_device(1 << 20, no_views);  // the arena its streams translate through (Device does this)
    ofl::RegionAllocator a(4096);
    ofl::RegionAllocator::Taken low, high, mid;
    CHECK(a.take(1000, false, low) && low.offset == 0 && low.pieces.empty());   // rounded to 1024
    CHECK(a.take(256, true, high) && high.offset == 4096 - 256);
    CHECK(a.take(1024, false, mid) && mid.offset == 1024);
    ofl::RegionAllocator::Taken none;
    CHECK(!a.take(2048, false, none));  // 1792 bytes left
    // A fenced range: handed out with its fence while the fence is pending; a clean fit is preferred.
    auto stream = backend->create_stream(OFL_STREAM_COMPUTE);
    std::shared_ptr<ofl::Event> fence = backend->create_event(false);
    stream->delay(200000);
    fence->record(*stream);
    a.give(low.offset, {fence});
    CHECK(a.fenced_bytes() == 1024);
    ofl::RegionAllocator::Taken clean;
    CHECK(a.take(512, false, clean) && clean.offset == 2048 && clean.pieces.empty());  // above mid, not the fenced range
    a.give(clean.offset, {});
    ofl::RegionAllocator::Taken fenced;
    CHECK(a.take(2048, false, fenced) == false);  // 1024 fenced + 1792 clean, not adjacent
    a.give(mid.offset, {});                       // adjacent to both; the fenced range stays apart
    CHECK(a.free_ranges() == 2 && a.largest_free() == 4096 - 256);
    // A fit across the fenced range and the clean one: the fence guards only its own bytes.
    CHECK(a.take(3000, false, fenced) && fenced.offset == 0 && fenced.pieces.size() == 1);
    CHECK(fenced.pieces[0].from == 0 && fenced.pieces[0].to == 1024 && fenced.pieces[0].fences.size() == 1);
    // Given back in parts, each with its own fence (an engine's groups): the first part's fence done.
    std::shared_ptr<ofl::Event> done_first = backend->create_event(false);
    done_first->record(*backend->create_stream(OFL_STREAM_COPY));
    done_first->synchronize();
    std::vector<ofl::RegionAllocator::Part> parts;
    parts.push_back({1024, {done_first}});
    parts.push_back({0, {fence}});
    a.give_parts(fenced.offset, std::move(parts));
    ofl::RegionAllocator::Taken first_part;
    CHECK(a.take(1024, false, first_part) && first_part.offset == 0 && first_part.pieces.empty());
    a.give(first_part.offset, {});
    stream->synchronize();
    ofl::RegionAllocator::Taken after;
    CHECK(a.take(3840, false, after) && after.pieces.empty());  // the fence completed: pruned
    a.give(after.offset, {});
    a.give(high.offset, {});
    CHECK(a.free_ranges() == 1 && a.largest_free() == 4096);
}

struct Turn {
    ofl_runtime* rt = nullptr;
    ofl_stream *compute = nullptr, *copy_a = nullptr, *copy_b = nullptr;
    ofl_host_buffer* host = nullptr;
    unsigned char* bytes = nullptr;
};

std::uint64_t syncs(ofl_runtime* rt) {
    std::uint64_t n = 99;
    CHECK_OK(ofl_runtime_device_syncs(rt, &n));
    return n;
}

void turn_without_waits() {
    Turn t;
    const std::uint64_t budget = 1 << 20, a_bytes = 600 << 10, b_bytes = 700 << 10;  // A and B never fit together
    CHECK_OK(ofl_runtime_open("host", budget, &t.rt));
    CHECK_OK(ofl_stream_create(t.rt, OFL_STREAM_COMPUTE, &t.compute));
    CHECK_OK(ofl_stream_create(t.rt, OFL_STREAM_COPY, &t.copy_a));
    CHECK_OK(ofl_stream_create(t.rt, OFL_STREAM_COPY, &t.copy_b));
    CHECK_OK(ofl_host_buffer_create(t.rt, a_bytes + 2 * b_bytes, &t.host));
    void* h = nullptr;
    CHECK_OK(ofl_host_buffer_address(t.host, &h));
    t.bytes = static_cast<unsigned char*>(h);
    for (std::uint64_t i = 0; i < a_bytes + b_bytes; ++i) t.bytes[i] = static_cast<unsigned char>(i * 7 + 3);
    unsigned char* back = t.bytes + a_bytes + b_bytes;  // B's bytes copied back here

    ofl_engine_config config{sizeof(ofl_engine_config), 0, 0, OFL_TIMING_STEP, 1, 0};
    ofl_group_desc a_group{t.bytes, a_bytes, 1, 0};
    ofl_engine* a = nullptr;
    CHECK_OK(ofl_engine_create(t.rt, &a_group, 1, &config, t.compute, t.copy_a, &a));
    void* address = nullptr;
    CHECK_OK(ofl_engine_acquire(a, 0, &address));
    CHECK_OK(ofl_stream_delay(t.compute, 400000));  // A's last step: 400 ms of device work
    CHECK_OK(ofl_engine_release(a, 0));
    ofl_event* a_done = nullptr;
    CHECK_OK(ofl_event_create(t.rt, OFL_EVENT_DEFAULT, &a_done));
    CHECK_OK(ofl_event_record(a_done, t.compute));

    const auto t0 = Clock::now();
    CHECK_OK(ofl_engine_destroy(a));
    ofl_group_desc b_group{t.bytes + a_bytes, b_bytes, 1, 0};
    ofl_engine* b = nullptr;
    CHECK_OK(ofl_engine_create(t.rt, &b_group, 1, &config, t.compute, t.copy_b, &b));
    ofl_event* b_loaded = nullptr;
    CHECK_OK(ofl_event_create(t.rt, OFL_EVENT_DEFAULT, &b_loaded));
    CHECK_OK(ofl_event_record(b_loaded, t.copy_b));
    const double turn_ms = ms_since(t0);
    int32_t done = 1;
    CHECK_OK(ofl_event_query(a_done, &done));
    CHECK(done == 0);  // the host came back from the turn while A's last step still ran
    CHECK(turn_ms < 300);
    CHECK_OK(ofl_event_query(b_loaded, &done));
    CHECK(done == 0);  // B's load waits behind A's last use of the space, on the device
    CHECK(syncs(t.rt) == 0);

    CHECK_OK(ofl_engine_acquire(b, 0, &address));
    CHECK_OK(ofl_copy_async(t.compute, back, address, b_bytes, OFL_COPY_DEVICE_TO_HOST));
    CHECK_OK(ofl_engine_release(b, 0));
    CHECK_OK(ofl_stream_synchronize(t.compute));
    CHECK(std::memcmp(back, t.bytes + a_bytes, b_bytes) == 0);
    ofl_device_info info{};
    info.struct_size = sizeof info;
    CHECK_OK(ofl_runtime_info(t.rt, &info));
    CHECK(info.used_bytes == b_bytes && info.peak_bytes == b_bytes);  // A's and B's never counted together
    CHECK_OK(ofl_engine_destroy(b));
    CHECK(syncs(t.rt) == 0);

    // The API's buffer free keeps cudaFree's meaning: it waits for the device, and counts.
    ofl_device_buffer* buffer = nullptr;
    CHECK_OK(ofl_device_buffer_create(t.rt, budget, &buffer));  // the whole budget: every region is back
    CHECK_OK(ofl_stream_delay(t.compute, 100000));
    const auto t1 = Clock::now();
    CHECK_OK(ofl_device_buffer_destroy(buffer));
    CHECK(ms_since(t1) >= 90);
    CHECK(syncs(t.rt) == 1);

    CHECK_OK(ofl_event_destroy(a_done));
    CHECK_OK(ofl_event_destroy(b_loaded));
    CHECK_OK(ofl_stream_destroy(t.copy_a));
    CHECK_OK(ofl_stream_destroy(t.copy_b));
    CHECK_OK(ofl_stream_destroy(t.compute));
    CHECK_OK(ofl_host_buffer_destroy(t.host));
    CHECK(syncs(t.rt) == 2);  // the pinned host free waits as cudaFreeHost does
    CHECK_OK(ofl_runtime_destroy(t.rt));
}

void retire_refuses_stepping() {
    ofl_runtime* rt = nullptr;
    CHECK_OK(ofl_runtime_open("host", 1 << 20, &rt));
    ofl_stream *compute = nullptr, *copy = nullptr;
    CHECK_OK(ofl_stream_create(rt, OFL_STREAM_COMPUTE, &compute));
    CHECK_OK(ofl_stream_create(rt, OFL_STREAM_COPY, &copy));
    ofl_host_buffer* pinned = nullptr;  // group memory must be pinned (both backends)
    void* bytes = nullptr;
    CHECK_OK(ofl_host_buffer_create(rt, 4096, &pinned));
    CHECK_OK(ofl_host_buffer_address(pinned, &bytes));
    std::memset(bytes, 5, 4096);
    ofl_group_desc g{bytes, 4096, 1, 0};
    ofl_engine_config config{sizeof(ofl_engine_config), 0, 0, OFL_TIMING_STEP, 1, 0};
    ofl_engine* e = nullptr;
    CHECK_OK(ofl_engine_create(rt, &g, 1, &config, compute, copy, &e));
    void* address = nullptr;
    CHECK_OK(ofl_engine_acquire(e, 0, &address));
    CHECK_OK(ofl_engine_release(e, 0));
    CHECK_OK(ofl_engine_retire(e));
    CHECK_OK(ofl_engine_retire(e));  // twice: nothing more
    ofl_device_info info{};
    info.struct_size = sizeof info;
    CHECK_OK(ofl_runtime_info(rt, &info));
    CHECK(info.used_bytes == 0);
    CHECK_STATUS(ofl_engine_acquire(e, 0, &address), OFL_ERR_CLOSED);
    ofl_step_metrics m{};
    m.struct_size = sizeof m;
    CHECK_OK(ofl_engine_step_metrics(e, 0, 1, &m));  // the figures still answer
    CHECK(m.step == 0 && m.timed == 1 && m.step_ms >= 0 && m.begin_ms >= 0);
    CHECK_OK(ofl_engine_destroy(e));
    CHECK_OK(ofl_stream_destroy(copy));
    CHECK_OK(ofl_stream_destroy(compute));
    CHECK_OK(ofl_host_buffer_destroy(pinned));
    CHECK_OK(ofl_runtime_destroy(rt));
}

}  // namespace

int main() {
    allocator();
    turn_without_waits();
    retire_refuses_stepping();
    return finish("test_regions");
}
