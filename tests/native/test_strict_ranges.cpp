// The strict host backend's range rules (issue 18's review), through the C API:
//  - a host kernel's ofl_device_view is granted only inside one live buffer (or engine region) of
//    the runtime's ledger: the runtime's device memory is one allocation of its arena, so the arena
//    alone would grant a freed buffer, or a range running past a buffer into the next one;
//  - the host side of ofl_copy_async must be host memory: a device address of another emulated
//    device (host:N), or of the stream's own runtime, is refused naming ofl_copy_peer (the worker's
//    memcpy would otherwise die of SIGBUS on a native thread, a JVM crash from Java), with more
//    emulated devices alive than the lock-free range table holds too; a pinned host side is looked
//    up first and skips that check.
#include <cstring>
#include <string>
#include <vector>

#include "check.hpp"

namespace {

struct ViewProbe {
    void* device = nullptr;
    std::uint64_t bytes = 0;
    unsigned char fill = 0;
    ofl_status status = -1;
    std::string message;
};

void view_and_fill(void* p) {
    auto* probe = static_cast<ViewProbe*>(p);
    void* view = nullptr;
    probe->status = ofl_device_view(probe->device, probe->bytes, &view);
    probe->message = ofl_last_error();
    if (probe->status == OFL_OK) std::memset(view, probe->fill, probe->bytes);
}

ofl_status view_in_kernel(ofl_stream* s, ViewProbe& probe) {
    CHECK_OK(ofl_stream_launch_host_kernel(s, view_and_fill, &probe));
    CHECK_OK(ofl_stream_synchronize(s));
    return probe.status;
}

void* address_of(ofl_device_buffer* b) {
    void* p = nullptr;
    CHECK_OK(ofl_device_buffer_address(b, &p));
    return p;
}

void views_follow_the_ledger(ofl_runtime* rt, ofl_stream* s) {
    ofl_device_buffer *top = nullptr, *below = nullptr, *freed = nullptr;
    CHECK_OK(ofl_device_buffer_create(rt, 8192, &top));    // buffers come from the arena's top end
    CHECK_OK(ofl_device_buffer_create(rt, 4096, &below));  // right below `top`
    CHECK_OK(ofl_device_buffer_create(rt, 4096, &freed));
    void* t = address_of(top);
    void* b = address_of(below);
    void* f = address_of(freed);
    CHECK(static_cast<unsigned char*>(b) + 4096 == t);  // adjacent: a range past `below` lies in `top`
    CHECK_OK(ofl_device_buffer_destroy(freed));

    ViewProbe gone{f, 4096, 0x33, -1, {}};
    CHECK_STATUS(view_in_kernel(s, gone), OFL_ERR_INVALID_ARGUMENT);  // a freed buffer
    CHECK(gone.message.find("live device buffer") != std::string::npos);
    ViewProbe past{b, 8192, 0x44, -1, {}};
    CHECK_STATUS(view_in_kernel(s, past), OFL_ERR_INVALID_ARGUMENT);  // below's 4096 bytes and 4096 of top's
    ViewProbe tail{static_cast<unsigned char*>(b) + 2048, 4096, 0x45, -1, {}};
    CHECK_STATUS(view_in_kernel(s, tail), OFL_ERR_INVALID_ARGUMENT);

    ViewProbe ok{b, 4096, 0x5A, -1, {}};
    CHECK_OK(view_in_kernel(s, ok));
    ofl_host_buffer* pinned = nullptr;
    void* host = nullptr;
    CHECK_OK(ofl_host_buffer_create(rt, 4096, &pinned));
    CHECK_OK(ofl_host_buffer_address(pinned, &host));
    CHECK_OK(ofl_copy_async(s, host, b, 4096, OFL_COPY_DEVICE_TO_HOST));
    CHECK_OK(ofl_stream_synchronize(s));
    std::vector<unsigned char> want(4096, 0x5A);
    CHECK(std::memcmp(host, want.data(), 4096) == 0);  // the valid view wrote the buffer's bytes
    CHECK_OK(ofl_host_buffer_destroy(pinned));
    CHECK_OK(ofl_device_buffer_destroy(below));
    CHECK_OK(ofl_device_buffer_destroy(top));
}

void device_addresses_are_not_a_host_side(ofl_runtime* a, ofl_runtime* b, ofl_stream* sa) {
    ofl_device_buffer *mine = nullptr, *theirs = nullptr;
    CHECK_OK(ofl_device_buffer_create(a, 4096, &mine));
    CHECK_OK(ofl_device_buffer_create(b, 4096, &theirs));
    void* m = address_of(mine);
    void* o = address_of(theirs);
    CHECK_STATUS(ofl_copy_async(sa, m, o, 4096, OFL_COPY_HOST_TO_DEVICE), OFL_ERR_INVALID_ARGUMENT);
    CHECK(std::strstr(ofl_last_error(), "copy source") != nullptr && std::strstr(ofl_last_error(), "ofl_copy_peer") != nullptr);
    CHECK_STATUS(ofl_copy_async(sa, o, m, 4096, OFL_COPY_DEVICE_TO_HOST), OFL_ERR_INVALID_ARGUMENT);
    CHECK(std::strstr(ofl_last_error(), "copy destination") != nullptr && std::strstr(ofl_last_error(), "device memory") != nullptr);
    CHECK_STATUS(ofl_copy_async(sa, m, m, 4096, OFL_COPY_HOST_TO_DEVICE), OFL_ERR_INVALID_ARGUMENT);  // its own device too
    CHECK_STATUS(ofl_copy_async(sa, m, static_cast<unsigned char*>(o) + 100000, 16, OFL_COPY_HOST_TO_DEVICE),
                 OFL_ERR_INVALID_ARGUMENT);  // inside b's arena, outside any buffer: faults all the same
    CHECK_OK(ofl_stream_synchronize(sa));  // nothing was queued; the process is alive
    CHECK_OK(ofl_device_buffer_destroy(theirs));
    CHECK_OK(ofl_device_buffer_destroy(mine));
}

// More live emulated devices than is_device_any's lock-free table has slots (64): the ones left out
// are still found (through the locked list), a slot freed by a closed runtime is taken by the next,
// and a pinned host side (looked up first, skipping the device-address check) is still a host side.
void many_devices_are_all_refused_as_a_host_side(ofl_runtime* a, ofl_stream* sa) {
    constexpr int kCount = 70;
    std::vector<ofl_runtime*> runtimes(kCount, nullptr);
    std::vector<ofl_device_buffer*> buffers(kCount, nullptr);
    for (int i = 0; i < kCount; i++) {
        CHECK_OK(ofl_runtime_open("host:0", 1 << 20, &runtimes[i]));
        CHECK_OK(ofl_device_buffer_create(runtimes[i], 4096, &buffers[i]));
    }
    ofl_device_buffer* mine = nullptr;
    CHECK_OK(ofl_device_buffer_create(a, 4096, &mine));
    void* m = address_of(mine);
    for (int i : {0, 40, kCount - 2, kCount - 1}) {  // in the table and past it
        CHECK_STATUS(ofl_copy_async(sa, m, address_of(buffers[i]), 4096, OFL_COPY_HOST_TO_DEVICE), OFL_ERR_INVALID_ARGUMENT);
        CHECK(std::strstr(ofl_last_error(), "ofl_copy_peer") != nullptr);
        void* outside_buffers = static_cast<unsigned char*>(address_of(buffers[i])) + 100000;  // the arena alone knows it
        CHECK_STATUS(ofl_copy_async(sa, m, outside_buffers, 16, OFL_COPY_HOST_TO_DEVICE), OFL_ERR_INVALID_ARGUMENT);
    }
    CHECK_OK(ofl_device_buffer_destroy(buffers[3]));
    CHECK_OK(ofl_runtime_destroy(runtimes[3]));  // frees a slot
    ofl_runtime* late = nullptr;
    ofl_device_buffer* late_buffer = nullptr;
    CHECK_OK(ofl_runtime_open("host:0", 1 << 20, &late));
    CHECK_OK(ofl_device_buffer_create(late, 4096, &late_buffer));
    CHECK_STATUS(ofl_copy_async(sa, m, address_of(late_buffer), 4096, OFL_COPY_HOST_TO_DEVICE),
                 OFL_ERR_INVALID_ARGUMENT);
    ofl_host_buffer* pinned = nullptr;
    void* host = nullptr;
    CHECK_OK(ofl_host_buffer_create(a, 4096, &pinned));
    CHECK_OK(ofl_host_buffer_address(pinned, &host));
    std::memset(host, 0x3C, 4096);
    CHECK_OK(ofl_copy_async(sa, m, host, 4096, OFL_COPY_HOST_TO_DEVICE));
    CHECK_OK(ofl_copy_async(sa, static_cast<unsigned char*>(host) + 2048, m, 2048, OFL_COPY_DEVICE_TO_HOST));
    CHECK_OK(ofl_stream_synchronize(sa));
    CHECK(static_cast<unsigned char*>(host)[4095] == 0x3C);
    CHECK_OK(ofl_host_buffer_destroy(pinned));
    CHECK_OK(ofl_device_buffer_destroy(late_buffer));
    CHECK_OK(ofl_runtime_destroy(late));
    for (int i = 0; i < kCount; i++) {
        if (i == 3) continue;
        CHECK_OK(ofl_device_buffer_destroy(buffers[i]));
        CHECK_OK(ofl_runtime_destroy(runtimes[i]));
    }
    CHECK_OK(ofl_device_buffer_destroy(mine));
}

}  // namespace

int main() {
    ofl_runtime *a = nullptr, *b = nullptr;
    CHECK_OK(ofl_runtime_open("host:0", 16 << 20, &a));
    CHECK_OK(ofl_runtime_open("host:1", 16 << 20, &b));
    ofl_stream* sa = nullptr;
    CHECK_OK(ofl_stream_create(a, OFL_STREAM_COMPUTE, &sa));
    views_follow_the_ledger(a, sa);
    device_addresses_are_not_a_host_side(a, b, sa);
    many_devices_are_all_refused_as_a_host_side(a, sa);
    CHECK_OK(ofl_stream_destroy(sa));
    CHECK_OK(ofl_runtime_destroy(b));
    CHECK_OK(ofl_runtime_destroy(a));
    return finish("test_strict_ranges");
}
