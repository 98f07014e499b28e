// A host buffer is never freed or unregistered while another runtime's stream may still copy from it
// (issue 18's review): pinned memory is pinned for the whole process, so a component replicated on
// host:0 and host:1 streams from one host copy made through host:0; freeing it through host:0 must
// wait for host:1's copy stream too, not only for host:0's (cudaFreeHost and cudaHostUnregister do
// not wait for another device either). Each case: host:1's copy stream is held by a delay, then
// copies from the buffer; the buffer is destroyed at once; the destroy waits for the copy, whose
// bytes arrive intact (before, host:1's worker read freed or unmapped memory and the process died).
#include <sys/mman.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "check.hpp"

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::uint64_t kBytes = 4 << 20;  // above malloc's mmap threshold: a freed buffer is unmapped
constexpr std::uint32_t kDelayUs = 300000;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// Copies `host` (kBytes, filled with `seed`'s pattern) on b's stream behind a delay, destroys `buffer`
// at once, and checks that the destroy waited and that b received the bytes.
void copy_outlives_destroy(ofl_runtime* b, ofl_stream* sb, ofl_host_buffer* buffer, unsigned char* host, unsigned seed) {
    for (std::uint64_t i = 0; i < kBytes; ++i) host[i] = static_cast<unsigned char>(i * seed + 3);
    std::vector<unsigned char> want(host, host + kBytes);
    ofl_device_buffer* device = nullptr;
    void* d = nullptr;
    CHECK_OK(ofl_device_buffer_create(b, kBytes, &device));
    CHECK_OK(ofl_device_buffer_address(device, &d));
    CHECK_OK(ofl_stream_delay(sb, kDelayUs));
    CHECK_OK(ofl_copy_async(sb, d, host, kBytes, OFL_COPY_HOST_TO_DEVICE));
    const auto t = Clock::now();
    CHECK_OK(ofl_host_buffer_destroy(buffer));
    CHECK(ms_since(t) >= kDelayUs / 1000.0 * 0.8);  // it waited for b's copy
    ofl_host_buffer* out = nullptr;
    void* o = nullptr;
    CHECK_OK(ofl_host_buffer_create(b, kBytes, &out));
    CHECK_OK(ofl_host_buffer_address(out, &o));
    CHECK_OK(ofl_copy_async(sb, o, d, kBytes, OFL_COPY_DEVICE_TO_HOST));
    CHECK_OK(ofl_stream_synchronize(sb));
    CHECK(std::memcmp(o, want.data(), kBytes) == 0);
    CHECK_OK(ofl_host_buffer_destroy(out));
    CHECK_OK(ofl_device_buffer_destroy(device));
}

}  // namespace

int main() {
    ofl_runtime *a = nullptr, *b = nullptr;
    CHECK_OK(ofl_runtime_open("host:0", 16 << 20, &a));
    CHECK_OK(ofl_runtime_open("host:1", 16 << 20, &b));
    ofl_stream* sb = nullptr;
    CHECK_OK(ofl_stream_create(b, OFL_STREAM_COPY, &sb));

    // Pinned memory of a (ofl_host_buffer_create), copied from on b.
    ofl_host_buffer* pinned = nullptr;
    void* host = nullptr;
    CHECK_OK(ofl_host_buffer_create(a, kBytes, &pinned));
    CHECK_OK(ofl_host_buffer_address(pinned, &host));
    copy_outlives_destroy(b, sb, pinned, static_cast<unsigned char*>(host), 7);

    // Caller memory registered with a (a shared host region), unmapped right after its registration ends.
    void* region = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(region != MAP_FAILED);
    ofl_host_buffer* registered = nullptr;
    CHECK_OK(ofl_host_register(a, region, kBytes, &registered));
    copy_outlives_destroy(b, sb, registered, static_cast<unsigned char*>(region), 13);
    munmap(region, kBytes);

    std::uint64_t syncs = 0;
    CHECK_OK(ofl_runtime_device_syncs(a, &syncs));
    CHECK(syncs == 2);  // one counted wait per host buffer destroyed
    CHECK_OK(ofl_stream_destroy(sb));
    CHECK_OK(ofl_runtime_destroy(b));
    CHECK_OK(ofl_runtime_destroy(a));
    return finish("test_host_copy_free");
}
