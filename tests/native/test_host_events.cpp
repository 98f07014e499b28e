// CUDA event semantics on the host backend, at the level of the C API.
#include <chrono>
#include <cstring>
#include <vector>

#include "check.hpp"

int main() {
    ofl_runtime* rt = nullptr;
    CHECK_OK(ofl_runtime_open("host", 64 << 20, &rt));
    ofl_stream *slow = nullptr, *fast = nullptr;
    CHECK_OK(ofl_stream_create(rt, OFL_STREAM_COMPUTE, &slow));
    CHECK_OK(ofl_stream_create(rt, OFL_STREAM_COPY, &fast));
    ofl_event* done = nullptr;
    CHECK_OK(ofl_event_create(rt, OFL_EVENT_TIMING, &done));

    int32_t ready = 0;
    CHECK_OK(ofl_event_query(done, &ready));
    CHECK(ready == 1);  // never recorded: complete

    const std::size_t n = 1 << 20;
    ofl_device_buffer *da = nullptr, *db = nullptr;
    void *a = nullptr, *b = nullptr;
    CHECK_OK(ofl_device_buffer_create(rt, n, &da));
    CHECK_OK(ofl_device_buffer_create(rt, n, &db));
    CHECK_OK(ofl_device_buffer_address(da, &a));
    CHECK_OK(ofl_device_buffer_address(db, &b));
    // Pinned host memory: a copy from or into pageable memory would make this thread wait.
    ofl_host_buffer *hsrc = nullptr, *hout = nullptr;
    void *src_address = nullptr, *out_address = nullptr;
    CHECK_OK(ofl_host_buffer_create(rt, n, &hsrc));
    CHECK_OK(ofl_host_buffer_create(rt, n, &hout));
    CHECK_OK(ofl_host_buffer_address(hsrc, &src_address));
    CHECK_OK(ofl_host_buffer_address(hout, &out_address));
    auto* src = static_cast<unsigned char*>(src_address);
    auto* out = static_cast<unsigned char*>(out_address);
    std::memset(out, 0, n);
    for (std::size_t i = 0; i < n; ++i) src[i] = static_cast<unsigned char>(i * 131 + 7);

    // slow: delay, then write a; fast: wait for that, then copy a -> b -> host.
    CHECK_OK(ofl_device_fill_async(slow, a, 0, n));
    CHECK_OK(ofl_stream_delay(slow, 200000));
    CHECK_OK(ofl_copy_async(slow, a, src, n, OFL_COPY_HOST_TO_DEVICE));
    CHECK_OK(ofl_event_record(done, slow));
    auto before = std::chrono::steady_clock::now();
    CHECK_OK(ofl_stream_wait_event(fast, done));
    CHECK_OK(ofl_copy_async(fast, b, a, n, OFL_COPY_DEVICE_TO_DEVICE));
    CHECK_OK(ofl_copy_async(fast, out, b, n, OFL_COPY_DEVICE_TO_HOST));
    auto enqueue_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - before).count();
    CHECK(enqueue_ms < 100);  // the host is not blocked by a stream wait
    CHECK_OK(ofl_event_query(done, &ready));
    CHECK(ready == 0);  // query does not block and sees the pending record
    float ms = 0;
    ofl_event* start = nullptr;
    CHECK_OK(ofl_event_create(rt, OFL_EVENT_TIMING, &start));
    CHECK_OK(ofl_event_record(start, fast));
    CHECK_STATUS(ofl_event_elapsed_ms(start, done, &ms), OFL_ERR_NOT_READY);
    CHECK_OK(ofl_stream_synchronize(fast));
    CHECK(std::memcmp(out, src, n) == 0);
    CHECK_OK(ofl_event_query(done, &ready));
    CHECK(ready == 1);

    ofl_event* untimed = nullptr;
    CHECK_OK(ofl_event_create(rt, OFL_EVENT_DEFAULT, &untimed));
    CHECK_OK(ofl_event_record(untimed, fast));
    CHECK_OK(ofl_event_synchronize(untimed));
    CHECK_STATUS(ofl_event_elapsed_ms(untimed, done, &ms), OFL_ERR_INVALID_ARGUMENT);

    CHECK_OK(ofl_event_destroy(untimed));
    CHECK_OK(ofl_event_destroy(start));
    CHECK_OK(ofl_event_destroy(done));
    CHECK_OK(ofl_stream_destroy(slow));
    CHECK_OK(ofl_stream_destroy(fast));
    CHECK_OK(ofl_device_buffer_destroy(da));
    CHECK_OK(ofl_device_buffer_destroy(db));
    CHECK_OK(ofl_host_buffer_destroy(hsrc));
    CHECK_OK(ofl_host_buffer_destroy(hout));
    CHECK_OK(ofl_runtime_destroy(rt));
    return finish("test_host_events");
}
