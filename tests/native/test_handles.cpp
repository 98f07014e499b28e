// Handle safety through the C API: double destroy, use after destroy, wrong kinds, NULLs, budgets.
#include <cstring>
#include <string>

#include <sys/mman.h>

#include "check.hpp"

static bool last_error_mentions(const char* word) { return std::strstr(ofl_last_error(), word) != nullptr; }

int main() {
    CHECK(ofl_last_error() != nullptr);
    CHECK(std::string(ofl_status_name(OFL_ERR_CLOSED)) == "OFL_ERR_CLOSED");
    CHECK(std::string(ofl_status_name(1234)) == "OFL_ERR_UNKNOWN");
    CHECK((ofl_compiled_backends() & OFL_BACKEND_HOST) != 0);

    ofl_runtime* rt = nullptr;
    CHECK_STATUS(ofl_runtime_open("tpu", 0, &rt), OFL_ERR_INVALID_ARGUMENT);
    CHECK(rt == nullptr && last_error_mentions("tpu"));
    CHECK_STATUS(ofl_runtime_open(nullptr, 0, &rt), OFL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ofl_runtime_open("host", 0, nullptr), OFL_ERR_INVALID_ARGUMENT);
    CHECK_OK(ofl_runtime_open("host", 1 << 20, &rt));

    ofl_device_info info;
    std::memset(&info, 0, sizeof info);
    CHECK_STATUS(ofl_runtime_info(rt, &info), OFL_ERR_INVALID_ARGUMENT);  // struct_size unset
    info.struct_size = sizeof info;
    CHECK_OK(ofl_runtime_info(rt, &info));
    CHECK(info.backend == OFL_BACKEND_HOST && info.budget_bytes == (1u << 20) && info.used_bytes == 0);

    // Budget: a buffer over what is left fails and leaves the books as they were.
    ofl_device_buffer* a = nullptr;
    ofl_device_buffer* b = nullptr;
    CHECK_OK(ofl_device_buffer_create(rt, 768 << 10, &a));
    CHECK_STATUS(ofl_device_buffer_create(rt, 512 << 10, &b), OFL_ERR_OUT_OF_DEVICE_MEMORY);
    CHECK(b == nullptr && last_error_mentions("524288") && last_error_mentions("1048576"));
    CHECK_OK(ofl_runtime_info(rt, &info));
    CHECK(info.used_bytes == (768u << 10) && info.peak_bytes == (768u << 10));
    CHECK_STATUS(ofl_device_buffer_create(rt, 0, &b), OFL_ERR_INVALID_ARGUMENT);
    CHECK_OK(ofl_device_buffer_create(rt, 256 << 10, &b));
    CHECK_OK(ofl_device_buffer_destroy(b));

    // Double destroy and use after destroy answer CLOSED; a handle of the wrong kind is invalid.
    CHECK_OK(ofl_device_buffer_destroy(a));
    CHECK_STATUS(ofl_device_buffer_destroy(a), OFL_ERR_CLOSED);
    CHECK(last_error_mentions("device buffer") && last_error_mentions("not live"));
    void* address = nullptr;
    CHECK_STATUS(ofl_device_buffer_address(a, &address), OFL_ERR_CLOSED);
    ofl_stream* stream = nullptr;
    CHECK_STATUS(ofl_stream_create(rt, 7, &stream), OFL_ERR_INVALID_ARGUMENT);
    CHECK_OK(ofl_stream_create(rt, OFL_STREAM_COPY, &stream));
    CHECK_STATUS(ofl_event_record(reinterpret_cast<ofl_event*>(stream), stream), OFL_ERR_INVALID_ARGUMENT);
    CHECK(last_error_mentions("is a stream, not a event"));
    CHECK_STATUS(ofl_stream_synchronize(nullptr), OFL_ERR_INVALID_ARGUMENT);
    ofl_stream* wrapped = nullptr;
    CHECK_STATUS(ofl_stream_wrap(rt, nullptr, &wrapped), OFL_ERR_NOT_SUPPORTED);

    // Copies check the device side against live buffers.
    ofl_device_buffer* d = nullptr;
    CHECK_OK(ofl_device_buffer_create(rt, 4096, &d));
    CHECK_OK(ofl_device_buffer_address(d, &address));
    char host[8192] = {};
    CHECK_STATUS(ofl_copy_async(stream, static_cast<char*>(address) + 1, host, 4096, OFL_COPY_HOST_TO_DEVICE),
                 OFL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ofl_copy_async(stream, host, address, UINT64_MAX, OFL_COPY_DEVICE_TO_HOST), OFL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ofl_copy_async(stream, address, host, 16, 9), OFL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ofl_copy_async(stream, address, nullptr, 16, OFL_COPY_HOST_TO_DEVICE), OFL_ERR_INVALID_ARGUMENT);
    CHECK_OK(ofl_copy_async(stream, address, host, 4096, OFL_COPY_HOST_TO_DEVICE));

    // Registered caller memory (a shared region's mapping): a host buffer at the caller's address,
    // counted in host_used_bytes while registered, a copy source; destroying it frees nothing.
    {
        const std::size_t bytes = 2 * 4096;
        void* region = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        CHECK(region != MAP_FAILED);
        std::memset(region, 0x5a, bytes);
        ofl_host_buffer* reg = nullptr;
        CHECK_STATUS(ofl_host_register(rt, nullptr, bytes, &reg), OFL_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(ofl_host_register(rt, region, 0, &reg), OFL_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(ofl_host_register(rt, static_cast<char*>(region) + 8, 64, &reg), OFL_ERR_INVALID_ARGUMENT);
        CHECK(reg == nullptr && last_error_mentions("4096-byte aligned"));
        CHECK_OK(ofl_runtime_info(rt, &info));
        std::uint64_t before = info.host_used_bytes;
        CHECK_OK(ofl_host_register(rt, region, bytes, &reg));
        void* at = nullptr;
        CHECK_OK(ofl_host_buffer_address(reg, &at));
        CHECK(at == region);
        CHECK_OK(ofl_runtime_info(rt, &info));
        CHECK(info.host_used_bytes == before + bytes);
        CHECK_OK(ofl_copy_async(stream, address, region, 4096, OFL_COPY_HOST_TO_DEVICE));
        char back[4096] = {};
        CHECK_OK(ofl_copy_async(stream, back, address, 4096, OFL_COPY_DEVICE_TO_HOST));
        CHECK_OK(ofl_stream_synchronize(stream));
        CHECK(back[0] == 0x5a && back[4095] == 0x5a);
        CHECK_OK(ofl_host_buffer_destroy(reg));
        CHECK_OK(ofl_runtime_info(rt, &info));
        CHECK(info.host_used_bytes == before);
        CHECK(static_cast<char*>(region)[bytes - 1] == 0x5a);  // still the caller's, still mapped
        CHECK(munmap(region, bytes) == 0);
    }

    // Objects outlive their runtime handle; objects of two runtimes do not mix.
    ofl_runtime* other = nullptr;
    ofl_event* foreign = nullptr;
    CHECK_OK(ofl_runtime_open("host", 1 << 20, &other));
    CHECK_OK(ofl_event_create(other, OFL_EVENT_DEFAULT, &foreign));
    CHECK_STATUS(ofl_stream_wait_event(stream, foreign), OFL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(ofl_event_create(other, 0x80, &foreign), OFL_ERR_INVALID_ARGUMENT);
    CHECK_OK(ofl_runtime_destroy(other));
    CHECK_STATUS(ofl_runtime_destroy(other), OFL_ERR_CLOSED);

    CHECK_OK(ofl_runtime_destroy(rt));
    CHECK_OK(ofl_stream_synchronize(stream));
    CHECK_OK(ofl_stream_destroy(stream));
    CHECK_OK(ofl_device_buffer_destroy(d));
    return finish("test_handles");
}
