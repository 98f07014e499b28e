// Several devices in one process (issue 20): host:N runtimes each with their own budget, pinned
// host memory known process-wide, and ofl_copy_peer ordered against both devices' streams.
#include <cstring>
#include <string>
#include <vector>

#include "check.hpp"

int main() {
    ofl_runtime* a = nullptr;
    ofl_runtime* b = nullptr;
    CHECK_OK(ofl_runtime_open("host:0", 1 << 20, &a));
    CHECK_OK(ofl_runtime_open("host:1", 1 << 20, &b));
    ofl_runtime* bad = nullptr;
    CHECK_STATUS(ofl_runtime_open("host:x", 0, &bad), OFL_ERR_INVALID_ARGUMENT);
    CHECK(bad == nullptr && std::strstr(ofl_last_error(), "host:N") != nullptr);
    CHECK_STATUS(ofl_runtime_open("host:", 0, &bad), OFL_ERR_INVALID_ARGUMENT);
    ofl_device_info info{};
    info.struct_size = sizeof info;
    CHECK_OK(ofl_runtime_info(b, &info));
    CHECK(info.device_index == 1 && std::strncmp(info.name, "host:1", 6) == 0 && info.budget_bytes == (1u << 20));

    // Each device its own budget: the whole of a's budget held, b still has all of its own.
    ofl_device_buffer* src = nullptr;
    ofl_device_buffer* dst = nullptr;
    ofl_device_buffer* over = nullptr;
    CHECK_OK(ofl_device_buffer_create(a, 1 << 20, &src));
    CHECK_STATUS(ofl_device_buffer_create(a, 4096, &over), OFL_ERR_OUT_OF_DEVICE_MEMORY);
    CHECK_OK(ofl_device_buffer_create(b, 1 << 20, &dst));

    // Pinned memory of runtime a (checked below: pinned for the whole process).
    ofl_host_buffer* pinned = nullptr;
    void* host = nullptr;
    CHECK_OK(ofl_host_buffer_create(a, 8192, &pinned));
    CHECK_OK(ofl_host_buffer_address(pinned, &host));
    std::vector<char> pageable(64);

    // The peer copy reads what a's stream wrote before it (behind a delay), and a's later fill waits for it.
    ofl_stream* sa = nullptr;
    ofl_stream* sb = nullptr;
    ofl_event* ready = nullptr;
    ofl_event* done = nullptr;
    CHECK_OK(ofl_stream_create(a, 0, &sa));
    CHECK_OK(ofl_stream_create(b, 0, &sb));
    CHECK_OK(ofl_event_create(a, 0, &ready));
    CHECK_OK(ofl_event_create(b, 0, &done));
    void* s = nullptr;
    void* d = nullptr;
    CHECK_OK(ofl_device_buffer_address(src, &s));
    CHECK_OK(ofl_device_buffer_address(dst, &d));
    CHECK_OK(ofl_device_fill_async(sb, d, 0, 4096));
    CHECK_OK(ofl_stream_delay(sa, 20000));
    CHECK_OK(ofl_device_fill_async(sa, s, 7, 4096));
    CHECK_OK(ofl_copy_peer(sb, d, sa, s, 4096, ready, done));
    CHECK_OK(ofl_device_fill_async(sa, s, 9, 4096));
    CHECK_OK(ofl_copy_async(sb, host, d, 4096, OFL_COPY_DEVICE_TO_HOST));
    CHECK_OK(ofl_stream_synchronize(sb));
    CHECK_OK(ofl_stream_synchronize(sa));
    const unsigned char* bytes = static_cast<const unsigned char*>(host);
    CHECK(bytes[0] == 7 && bytes[4095] == 7);
    CHECK_OK(ofl_copy_async(sa, host, s, 1, OFL_COPY_DEVICE_TO_HOST));
    CHECK_OK(ofl_stream_synchronize(sa));
    CHECK(bytes[0] == 9);

    // a's pinned memory is pinned for the whole process: b's copy into it is no pageable copy (the
    // strict backend counts those, ofl_runtime_stats), a copy into a vector is one.
    ofl_runtime_stats stats{};
    stats.struct_size = sizeof stats;
    CHECK_OK(ofl_runtime_stats_get(b, &stats));
    const uint64_t pageable_before = stats.pageable_copies;
    CHECK_OK(ofl_copy_async(sb, static_cast<char*>(host) + 4096, d, 4096, OFL_COPY_DEVICE_TO_HOST));
    CHECK_OK(ofl_stream_synchronize(sb));
    CHECK_OK(ofl_runtime_stats_get(b, &stats));
    CHECK(stats.pageable_copies == pageable_before);
    CHECK_OK(ofl_copy_async(sb, pageable.data(), d, pageable.size(), OFL_COPY_DEVICE_TO_HOST));
    CHECK_OK(ofl_runtime_stats_get(b, &stats));
    CHECK(stats.pageable_copies == pageable_before + 1 && pageable[0] == 7);

    // Refusals: a range outside the named runtime's buffers, events of the wrong runtime.
    CHECK_STATUS(ofl_copy_peer(sb, s, sa, d, 16, ready, done), OFL_ERR_INVALID_ARGUMENT);
    CHECK(std::strstr(ofl_last_error(), "peer copy source") != nullptr);
    CHECK_STATUS(ofl_copy_peer(sb, d, sa, s, 16, done, ready), OFL_ERR_INVALID_ARGUMENT);
    CHECK(std::strstr(ofl_last_error(), "src_ready") != nullptr);

    CHECK_OK(ofl_host_buffer_destroy(pinned));
    CHECK_OK(ofl_event_destroy(ready));
    CHECK_OK(ofl_event_destroy(done));
    CHECK_OK(ofl_stream_destroy(sa));
    CHECK_OK(ofl_stream_destroy(sb));
    CHECK_OK(ofl_device_buffer_destroy(src));
    CHECK_OK(ofl_device_buffer_destroy(dst));
    CHECK_OK(ofl_runtime_destroy(a));
    CHECK_OK(ofl_runtime_destroy(b));
    return finish("test_devices");
}
