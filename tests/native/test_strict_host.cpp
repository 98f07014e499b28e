// The strict host backend (offload.h, "the strict host backend"; docs/ENGINE.md): each of CUDA's rules
// that the host backend enforces, checked through the C API on the host backend and, where a CUDA
// device answers, on cuda too (the same expectations: a difference between the two is a bug).
//  - a host read or write of a device address kills the process (SIGBUS on host): checked in a child;
//  - a host kernel views device memory; a host function and any other thread are refused a view;
//  - a host function (or kernel) calling into the runtime is refused, naming the rule;
//  - an async copy from or into pageable memory makes the caller wait and is counted;
//  - freeing device memory waits for the device;
//  - a wait waits for the record made before it, not a later one completing first elsewhere.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "check.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

struct Env {
    ofl_runtime* rt = nullptr;
    ofl_stream* a = nullptr;
    ofl_stream* b = nullptr;
    ofl_stream* c = nullptr;
    bool host = true;
    explicit Env(ofl_runtime* runtime) : rt(runtime) {
        CHECK_OK(ofl_stream_create(rt, OFL_STREAM_COMPUTE, &a));
        CHECK_OK(ofl_stream_create(rt, OFL_STREAM_COPY, &b));
        CHECK_OK(ofl_stream_create(rt, OFL_STREAM_COMPUTE, &c));
        ofl_device_info info{};
        info.struct_size = sizeof info;
        CHECK_OK(ofl_runtime_info(rt, &info));
        host = info.backend == OFL_BACKEND_HOST;
    }
    ~Env() {
        ofl_stream_destroy(a);
        ofl_stream_destroy(b);
        ofl_stream_destroy(c);
        ofl_runtime_destroy(rt);
    }
};

// Rule: device addresses are not host memory. The child touches one; the parent sees it die of it.
void host_access_kills(Env& env, bool write) {
    ofl_device_buffer* buffer = nullptr;
    void* address = nullptr;
    CHECK_OK(ofl_device_buffer_create(env.rt, 4096, &buffer));
    CHECK_OK(ofl_device_buffer_address(buffer, &address));
    std::fflush(nullptr);
    pid_t child = fork();
    if (child == 0) {
        // The default action, so the child dies of the signal itself: under AddressSanitizer
        // (scripts/sanitize.sh) ASan's own handler would report it and exit with a code instead.
        struct sigaction plain {};
        plain.sa_handler = SIG_DFL;
        sigemptyset(&plain.sa_mask);
        sigaction(SIGBUS, &plain, nullptr);
        sigaction(SIGSEGV, &plain, nullptr);
        volatile unsigned char* p = static_cast<volatile unsigned char*>(address);
        if (write) p[17] = 1;
        else (void)p[17];
        _exit(0);  // reached only when the access worked
    }
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));
    if (env.host) CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS);
    CHECK_OK(ofl_device_buffer_destroy(buffer));
}

struct ViewProbe {
    void* device = nullptr;
    std::uint64_t bytes = 0;
    ofl_status status = -1;
    std::string message;
    unsigned char fill = 0;
};

void view_and_write(void* p) {
    auto* probe = static_cast<ViewProbe*>(p);
    void* view = nullptr;
    probe->status = ofl_device_view(probe->device, probe->bytes, &view);
    probe->message = ofl_last_error();
    if (probe->status == OFL_OK) std::memset(view, probe->fill, probe->bytes);
}

// Rule: a host kernel reaches device memory through views; a host function, the main thread and a
// range outside a live buffer are refused.
void views(Env& env) {
    const std::uint64_t n = 8192;
    ofl_device_buffer* buffer = nullptr;
    ofl_host_buffer* pinned = nullptr;
    void *device = nullptr, *host = nullptr;
    CHECK_OK(ofl_device_buffer_create(env.rt, n, &buffer));
    CHECK_OK(ofl_device_buffer_address(buffer, &device));
    CHECK_OK(ofl_host_buffer_create(env.rt, n, &pinned));
    CHECK_OK(ofl_host_buffer_address(pinned, &host));

    void* view = nullptr;
    CHECK_STATUS(ofl_device_view(device, n, &view), OFL_ERR_NOT_SUPPORTED);  // not in a host kernel
    CHECK(std::strstr(ofl_last_error(), "outside a host kernel") != nullptr);
    CHECK(view == nullptr);

    ViewProbe in_kernel{device, n, -1, {}, 0x5A};
    ViewProbe in_function{device, n, -1, {}, 0x77};
    ViewProbe outside_buffer{static_cast<unsigned char*>(device) + 4096, n, -1, {}, 0x11};
    if (!env.host) {  // cuda has no host kernels
        CHECK_STATUS(ofl_stream_launch_host_kernel(env.a, view_and_write, &in_kernel), OFL_ERR_NOT_SUPPORTED);
        CHECK(std::strstr(ofl_last_error(), "host backend only") != nullptr);
    } else {
        CHECK_OK(ofl_device_fill_async(env.a, device, 0, n));
        CHECK_OK(ofl_stream_launch_host_kernel(env.a, view_and_write, &in_kernel));
        CHECK_OK(ofl_stream_launch_host_kernel(env.a, view_and_write, &outside_buffer));
        CHECK_OK(ofl_copy_async(env.a, host, device, n, OFL_COPY_DEVICE_TO_HOST));
        CHECK_OK(ofl_stream_synchronize(env.a));
        CHECK_OK(in_kernel.status);
        std::vector<unsigned char> want(n, 0x5A);
        CHECK(std::memcmp(host, want.data(), n) == 0);  // the view's writes are the device's bytes
        CHECK_STATUS(outside_buffer.status, OFL_ERR_INVALID_ARGUMENT);
        CHECK(outside_buffer.message.find("live device buffer") != std::string::npos);
    }
    CHECK_OK(ofl_stream_launch_host_func(env.a, view_and_write, &in_function));
    CHECK_OK(ofl_stream_synchronize(env.a));
    CHECK_STATUS(in_function.status, OFL_ERR_NOT_SUPPORTED);
    CHECK(in_function.message.find("from a host function") != std::string::npos);
    CHECK_OK(ofl_host_buffer_destroy(pinned));
    CHECK_OK(ofl_device_buffer_destroy(buffer));
}

struct RuntimeCalls {
    ofl_stream* stream = nullptr;
    ofl_runtime* rt = nullptr;
    ofl_status sync = -1, record = -1, create = -1, copy = -1;
    std::string message;
};

void call_runtime(void* p) {
    auto* calls = static_cast<RuntimeCalls*>(p);
    calls->sync = ofl_stream_synchronize(calls->stream);  // would wait for this very body: a hang
    calls->message = ofl_last_error();
    ofl_event* event = nullptr;
    calls->create = ofl_event_create(calls->rt, 0, &event);
    calls->record = ofl_event_record(event, calls->stream);
    int value = 0;
    calls->copy = ofl_copy_async(calls->stream, &value, &value, 4, OFL_COPY_HOST_TO_DEVICE);
}

// Rule: CUDA forbids runtime calls from a host function; refused natively, whoever wrote the body.
void runtime_calls_refused(Env& env) {
    RuntimeCalls function;
    function.stream = env.a;
    function.rt = env.rt;
    CHECK_OK(ofl_stream_launch_host_func(env.a, call_runtime, &function));
    RuntimeCalls kernel;
    kernel.stream = env.b;
    kernel.rt = env.rt;
    if (env.host) CHECK_OK(ofl_stream_launch_host_kernel(env.b, call_runtime, &kernel));
    CHECK_OK(ofl_stream_synchronize(env.a));
    CHECK_OK(ofl_stream_synchronize(env.b));
    for (RuntimeCalls* calls : {&function, &kernel}) {
        if (calls == &kernel && !env.host) break;
        CHECK_STATUS(calls->sync, OFL_ERR_NOT_SUPPORTED);
        CHECK_STATUS(calls->create, OFL_ERR_NOT_SUPPORTED);
        CHECK_STATUS(calls->record, OFL_ERR_NOT_SUPPORTED);
        CHECK_STATUS(calls->copy, OFL_ERR_NOT_SUPPORTED);
        CHECK(calls->message.find("ofl_stream_synchronize called from a host") != std::string::npos);
        CHECK(calls->message.find("CUDA forbids runtime calls from a host function") != std::string::npos);
    }
    CHECK_OK(ofl_stream_synchronize(env.a));  // the thread's mark is gone once the body returned
}

std::uint64_t pageable_copies(ofl_runtime* rt) {
    ofl_runtime_stats stats{};
    stats.struct_size = sizeof stats;
    CHECK_OK(ofl_runtime_stats_get(rt, &stats));
    return stats.pageable_copies;
}

// Rule: an async copy from or into pageable memory makes the caller wait, and is counted.
void pageable_copies_wait(Env& env) {
    const std::uint64_t n = 1 << 16;
    ofl_device_buffer* buffer = nullptr;
    ofl_host_buffer* pinned = nullptr;
    void *device = nullptr, *host = nullptr;
    CHECK_OK(ofl_device_buffer_create(env.rt, n, &buffer));
    CHECK_OK(ofl_device_buffer_address(buffer, &device));
    CHECK_OK(ofl_host_buffer_create(env.rt, n, &pinned));
    CHECK_OK(ofl_host_buffer_address(pinned, &host));
    CHECK(pageable_copies(env.rt) == 0);

    CHECK_OK(ofl_stream_delay(env.a, 200000));
    auto t = Clock::now();
    CHECK_OK(ofl_copy_async(env.a, device, host, n, OFL_COPY_HOST_TO_DEVICE));  // pinned: queued only
    CHECK(ms_since(t) < 100);
    CHECK(pageable_copies(env.rt) == 0);
    CHECK_OK(ofl_stream_synchronize(env.a));

    std::vector<unsigned char> pageable(n, 0x3C), back(n, 0);
    CHECK_OK(ofl_stream_delay(env.a, 200000));
    t = Clock::now();
    CHECK_OK(ofl_copy_async(env.a, device, pageable.data(), n, OFL_COPY_HOST_TO_DEVICE));
    CHECK(ms_since(t) >= 150);  // waited for the delay before it
    CHECK(pageable_copies(env.rt) == 1);
    CHECK_OK(ofl_copy_async(env.a, back.data(), device, n, OFL_COPY_DEVICE_TO_HOST));
    CHECK(back == pageable);  // done when the call returned
    CHECK(pageable_copies(env.rt) == 2);
    CHECK_STATUS(ofl_copy_async(env.a, host, pageable.data(), n, OFL_COPY_HOST_TO_DEVICE), OFL_ERR_INVALID_ARGUMENT);
    CHECK(pageable_copies(env.rt) == 2);  // refused (no device side): not a copy
    CHECK_OK(ofl_host_buffer_destroy(pinned));
    CHECK_OK(ofl_device_buffer_destroy(buffer));
}

// Rule: freeing device memory waits for the device (cudaFree), on every stream.
void free_waits(Env& env) {
    ofl_device_buffer* buffer = nullptr;
    void* device = nullptr;
    CHECK_OK(ofl_device_buffer_create(env.rt, 1 << 20, &buffer));
    CHECK_OK(ofl_device_buffer_address(buffer, &device));
    CHECK_OK(ofl_stream_delay(env.c, 200000));
    CHECK_OK(ofl_device_fill_async(env.c, device, 7, 1 << 20));  // the stream still uses the buffer
    auto t = Clock::now();
    CHECK_OK(ofl_device_buffer_destroy(buffer));
    CHECK(ms_since(t) >= 150);
}

struct Stamp {
    Clock::time_point at{};
};

void stamp(void* p) { static_cast<Stamp*>(p)->at = Clock::now(); }

// Rule: a wait waits for the record before it; a later record completing first does not release it.
void later_record_does_not_release(Env& env) {
    ofl_event* event = nullptr;
    CHECK_OK(ofl_event_create(env.rt, OFL_EVENT_DEFAULT, &event));
    auto t = Clock::now();
    CHECK_OK(ofl_stream_delay(env.a, 300000));
    CHECK_OK(ofl_event_record(event, env.a));  // the record the wait captures
    CHECK_OK(ofl_stream_wait_event(env.c, event));
    Stamp started;
    CHECK_OK(ofl_stream_launch_host_func(env.c, stamp, &started));
    CHECK_OK(ofl_event_record(event, env.b));  // later, on an idle stream: completes at once
    CHECK_OK(ofl_stream_synchronize(env.b));
    CHECK_OK(ofl_stream_synchronize(env.c));
    const double waited_ms = std::chrono::duration<double, std::milli>(started.at - t).count();
    CHECK(waited_ms >= 250);
    CHECK_OK(ofl_stream_synchronize(env.a));
    int32_t done = 0;
    CHECK_OK(ofl_event_query(event, &done));
    CHECK(done == 1);
    CHECK_OK(ofl_event_destroy(event));
}

void run_all(const char* device) {
    ofl_runtime* rt = nullptr;
    if (ofl_runtime_open(device, 64 << 20, &rt) != OFL_OK) {
        std::printf("test_strict_host: %s skipped: %s\n", device, ofl_last_error());
        return;
    }
    Env env(rt);
    host_access_kills(env, false);
    host_access_kills(env, true);
    views(env);
    runtime_calls_refused(env);
    pageable_copies_wait(env);
    free_waits(env);
    later_record_does_not_release(env);
    std::printf("test_strict_host: %s done\n", device);
}

}  // namespace

int main() {
    run_all("host");
    if (ofl_compiled_backends() & OFL_BACKEND_CUDA) run_all("cuda");
    return finish("test_strict_host");
}
