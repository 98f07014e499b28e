// api.cpp: the exported functions of offload.h.
//
// Each one checks its arguments, looks its handles up in the registry (handles.hpp), calls into the
// Device/backend, and runs inside guarded() (api_guard.hpp). The engine's functions are in
// api_engine.cpp. A copy whose host side is not pinned memory makes the caller wait for it and is
// counted (pageable_copies), as strict as cuda on both backends. Nothing here blocks except the
// *_synchronize calls and the destruction of a stream, which first runs the work already queued on it.
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <utility>

#include "api_guard.hpp"
#include "host/device_arena.hpp"

#define OFL_VERSION_STRING "0.1.0"

namespace ofl {
namespace {

thread_local std::string tls_last_error;

}  // namespace

void set_last_error(const std::string& message) noexcept {
    try {
        tls_last_error = message;
    } catch (...) {
        tls_last_error.clear();
    }
}

const char* last_error() noexcept { return tls_last_error.c_str(); }

HandleRegistry& HandleRegistry::instance() {
    static HandleRegistry* registry = new HandleRegistry();  // never destroyed: outlives static teardown
    return *registry;
}

HandleRegistry::Map::iterator HandleRegistry::find(const void* handle, const char* kind) {
    OFL_EXPECT(handle != nullptr, OFL_ERR_INVALID_ARGUMENT, kind, " handle is NULL");
    auto it = live_.find(handle);
    OFL_EXPECT(it != live_.end(), OFL_ERR_CLOSED, kind, " handle ", handle,
               " is not live: it was destroyed already or never created");
    OFL_EXPECT(std::strcmp(it->second.kind, kind) == 0, OFL_ERR_INVALID_ARGUMENT, "handle ", handle, " is a ",
               it->second.kind, ", not a ", kind);
    return it;
}

}  // namespace ofl

using ofl::guarded;
using ofl::HandleRegistry;
using ofl::live;
using ofl::require_out;


extern "C" {

const char* ofl_status_name(ofl_status status) {
    switch (status) {
        case OFL_OK: return "OFL_OK";
        case OFL_ERR_INVALID_ARGUMENT: return "OFL_ERR_INVALID_ARGUMENT";
        case OFL_ERR_OUT_OF_DEVICE_MEMORY: return "OFL_ERR_OUT_OF_DEVICE_MEMORY";
        case OFL_ERR_OUT_OF_HOST_MEMORY: return "OFL_ERR_OUT_OF_HOST_MEMORY";
        case OFL_ERR_NOT_SUPPORTED: return "OFL_ERR_NOT_SUPPORTED";
        case OFL_ERR_BACKEND_UNAVAILABLE: return "OFL_ERR_BACKEND_UNAVAILABLE";
        case OFL_ERR_IO: return "OFL_ERR_IO";
        case OFL_ERR_CLOSED: return "OFL_ERR_CLOSED";
        case OFL_ERR_INTERNAL: return "OFL_ERR_INTERNAL";
        case OFL_ERR_NOT_READY: return "OFL_ERR_NOT_READY";
        case OFL_ERR_DEVICE: return "OFL_ERR_DEVICE";
        default: return "OFL_ERR_UNKNOWN";
    }
}

const char* ofl_last_error(void) { return ofl::last_error(); }

const char* ofl_version(void) { return OFL_VERSION_STRING; }

uint32_t ofl_compiled_backends(void) { return ofl::compiled_backends(); }

ofl_status ofl_runtime_open(const char* device, uint64_t budget_bytes, ofl_runtime** out) {
    return guarded("ofl_runtime_open", [&] {
        require_out(out, "runtime");
        *out = nullptr;
        OFL_EXPECT(device != nullptr, OFL_ERR_INVALID_ARGUMENT, "device name is NULL");
        auto runtime = std::make_shared<ofl_runtime>();
        runtime->device = ofl::Device::open(device, budget_bytes);
        *out = HandleRegistry::instance().add(std::move(runtime));
    });
}

ofl_status ofl_runtime_destroy(ofl_runtime* runtime) {
    return guarded("ofl_runtime_destroy", [&] { HandleRegistry::instance().take(runtime); });
}

ofl_status ofl_runtime_info(ofl_runtime* runtime, ofl_device_info* out) {
    return guarded("ofl_runtime_info", [&] {
        auto rt = live(runtime);
        require_out(out, "info");
        OFL_EXPECT(out->struct_size >= sizeof(ofl_device_info), OFL_ERR_INVALID_ARGUMENT,
                   "ofl_device_info.struct_size is ", out->struct_size, ", expected ", sizeof(ofl_device_info));
        ofl::Device& device = *rt->device;
        ofl::MemoryInfo memory = device.backend().memory();
        out->backend = device.backend().kind();
        out->device_index = device.backend().device_index();
        out->compiled_backends = ofl::compiled_backends();
        out->total_bytes = memory.total_bytes;
        out->free_bytes = memory.free_bytes;
        out->budget_bytes = device.ledger().budget();
        out->used_bytes = device.ledger().used();
        out->peak_bytes = device.ledger().peak();
        out->host_used_bytes = device.host_usage().used();
        out->host_peak_bytes = device.host_usage().peak();
        std::string name = device.backend().name();
        std::snprintf(out->name, sizeof out->name, "%s", name.c_str());
        std::snprintf(out->note, sizeof out->note, "%s", device.note().c_str());
    });
}

ofl_status ofl_host_buffer_create(ofl_runtime* runtime, uint64_t bytes, ofl_host_buffer** out) {
    return guarded("ofl_host_buffer_create", [&] {
        require_out(out, "host buffer");
        *out = nullptr;
        auto rt = live(runtime);
        OFL_EXPECT(bytes > 0, OFL_ERR_INVALID_ARGUMENT, "host buffer size must be positive, got 0");
        void* address = rt->device->backend().host_alloc(bytes);
        rt->device->host_usage().claim(bytes);
        auto buffer = std::make_shared<ofl_host_buffer>();
        buffer->device = rt->device;
        buffer->address = address;
        buffer->bytes = bytes;
        *out = HandleRegistry::instance().add(std::move(buffer));
    });
}

ofl_status ofl_host_register(ofl_runtime* runtime, void* address, uint64_t bytes, ofl_host_buffer** out) {
    return guarded("ofl_host_register", [&] {
        require_out(out, "host buffer");
        *out = nullptr;
        auto rt = live(runtime);
        OFL_EXPECT(address != nullptr, OFL_ERR_INVALID_ARGUMENT, "host memory to register is NULL");
        OFL_EXPECT(bytes > 0, OFL_ERR_INVALID_ARGUMENT, "host memory to register must have a positive size, got 0");
        OFL_EXPECT(reinterpret_cast<std::uintptr_t>(address) % 4096 == 0, OFL_ERR_INVALID_ARGUMENT, "host memory to register at ",
                   address, " is not 4096-byte aligned (register a page-aligned mapping)");
        rt->device->backend().host_register(address, bytes);
        rt->device->host_usage().claim(bytes);
        auto buffer = std::make_shared<ofl_host_buffer>();
        buffer->device = rt->device;
        buffer->address = address;
        buffer->bytes = bytes;
        buffer->registered = true;
        *out = HandleRegistry::instance().add(std::move(buffer));
    });
}

ofl_status ofl_host_buffer_address(ofl_host_buffer* buffer, void** out) {
    return guarded("ofl_host_buffer_address", [&] {
        auto b = live(buffer);
        require_out(out, "address");
        *out = b->address;
    });
}

ofl_status ofl_host_buffer_destroy(ofl_host_buffer* buffer) {
    return guarded("ofl_host_buffer_destroy", [&] { HandleRegistry::instance().take(buffer); });
}

ofl_status ofl_device_buffer_create(ofl_runtime* runtime, uint64_t bytes, ofl_device_buffer** out) {
    return guarded("ofl_device_buffer_create", [&] {
        require_out(out, "device buffer");
        *out = nullptr;
        auto rt = live(runtime);
        void* address = rt->device->allocate(bytes);
        auto buffer = std::make_shared<ofl_device_buffer>();
        buffer->device = rt->device;
        buffer->address = address;
        buffer->bytes = bytes;
        *out = HandleRegistry::instance().add(std::move(buffer));
    });
}

ofl_status ofl_device_buffer_address(ofl_device_buffer* buffer, void** out) {
    return guarded("ofl_device_buffer_address", [&] {
        auto b = live(buffer);
        require_out(out, "address");
        *out = b->address;
    });
}

ofl_status ofl_device_buffer_destroy(ofl_device_buffer* buffer) {
    return guarded("ofl_device_buffer_destroy", [&] { HandleRegistry::instance().take(buffer); });
}

ofl_status ofl_stream_create(ofl_runtime* runtime, int32_t kind, ofl_stream** out) {
    return guarded("ofl_stream_create", [&] {
        require_out(out, "stream");
        *out = nullptr;
        auto rt = live(runtime);
        OFL_EXPECT(kind == OFL_STREAM_COMPUTE || kind == OFL_STREAM_COPY, OFL_ERR_INVALID_ARGUMENT,
                   "stream kind ", kind, " is neither OFL_STREAM_COMPUTE (0) nor OFL_STREAM_COPY (1)");
        auto stream = std::make_shared<ofl_stream>();
        stream->device = rt->device;
        stream->impl = rt->device->backend().create_stream(kind);
        *out = HandleRegistry::instance().add(std::move(stream));
    });
}

ofl_status ofl_stream_wrap(ofl_runtime* runtime, void* cuda_stream, ofl_stream** out) {
    return guarded("ofl_stream_wrap", [&] {
        require_out(out, "stream");
        *out = nullptr;
        auto rt = live(runtime);
        auto stream = std::make_shared<ofl_stream>();
        stream->device = rt->device;
        stream->impl = rt->device->backend().wrap_stream(cuda_stream);
        *out = HandleRegistry::instance().add(std::move(stream));
    });
}

ofl_status ofl_stream_native_handle(ofl_stream* stream, void** out) {
    return guarded("ofl_stream_native_handle", [&] {
        auto s = live(stream);
        require_out(out, "native handle");
        *out = s->impl->native_handle();
    });
}

ofl_status ofl_stream_synchronize(ofl_stream* stream) {
    return guarded("ofl_stream_synchronize", [&] { live(stream)->impl->synchronize(); });
}

ofl_status ofl_stream_wait_event(ofl_stream* stream, ofl_event* event) {
    return guarded("ofl_stream_wait_event", [&] {
        auto s = live(stream);
        auto e = live(event);
        ofl::same_runtime(s->device, e->device, "stream and event");
        s->impl->wait_event(*e->impl);
    });
}

ofl_status ofl_stream_delay(ofl_stream* stream, uint32_t microseconds) {
    return guarded("ofl_stream_delay", [&] { live(stream)->impl->delay(microseconds); });
}

ofl_status ofl_stream_launch_host_func(ofl_stream* stream, ofl_host_fn fn, void* user_data) {
    return guarded("ofl_stream_launch_host_func", [&] {
        auto s = live(stream);
        OFL_EXPECT(fn != nullptr, OFL_ERR_INVALID_ARGUMENT, "host function is NULL");
        s->impl->launch_host_func(fn, user_data);
    });
}

ofl_status ofl_stream_launch_host_kernel(ofl_stream* stream, ofl_host_fn fn, void* user_data) {
    return guarded("ofl_stream_launch_host_kernel", [&] {
        auto s = live(stream);
        OFL_EXPECT(fn != nullptr, OFL_ERR_INVALID_ARGUMENT, "host kernel is NULL");
        s->impl->launch_host_kernel(fn, user_data);
    });
}

ofl_status ofl_device_view(const void* device_ptr, uint64_t bytes, void** out) {
    return ofl::run_guarded("ofl_device_view", true, [&] {
        require_out(out, "view");
        *out = nullptr;
        const ofl::DeviceArena* arena = ofl::StreamBody::views();
        OFL_EXPECT(arena != nullptr, OFL_ERR_NOT_SUPPORTED, "ofl_device_view of [", device_ptr, ", +", bytes, ") called ",
                   ofl::StreamBody::current() == ofl::StreamBody::Kind::None ? "outside a host kernel" : "from a host function",
                   ": device memory is not host memory (CUDA's rule); only a host kernel (ofl_stream_launch_host_kernel, host "
                   "backend) may view it; copy it to host memory with a device-to-host copy instead");
        OFL_EXPECT(device_ptr != nullptr && bytes > 0 && arena->live(device_ptr, bytes), OFL_ERR_INVALID_ARGUMENT,
                   "ofl_device_view: [", device_ptr, ", +", bytes,
                   ") does not lie inside one live device buffer (or engine region) of the runtime running this host kernel");
        *out = arena->translate(device_ptr);
    });
}

ofl_status ofl_runtime_stats_get(ofl_runtime* runtime, ofl_runtime_stats* out) {
    return guarded("ofl_runtime_stats_get", [&] {
        auto rt = live(runtime);
        require_out(out, "stats");
        OFL_EXPECT(out->struct_size >= sizeof(ofl_runtime_stats), OFL_ERR_INVALID_ARGUMENT,
                   "ofl_runtime_stats.struct_size is ", out->struct_size, ", expected ", sizeof(ofl_runtime_stats));
        out->pageable_copies = rt->device->pageable_copies();
    });
}

ofl_status ofl_stream_destroy(ofl_stream* stream) {
    return guarded("ofl_stream_destroy", [&] { HandleRegistry::instance().take(stream); });
}

ofl_status ofl_event_create(ofl_runtime* runtime, uint32_t flags, ofl_event** out) {
    return guarded("ofl_event_create", [&] {
        require_out(out, "event");
        *out = nullptr;
        auto rt = live(runtime);
        OFL_EXPECT((flags & ~uint32_t{OFL_EVENT_TIMING}) == 0, OFL_ERR_INVALID_ARGUMENT, "unknown event flags ", flags);
        auto event = std::make_shared<ofl_event>();
        event->device = rt->device;
        event->impl = rt->device->backend().create_event((flags & OFL_EVENT_TIMING) != 0);
        *out = HandleRegistry::instance().add(std::move(event));
    });
}

ofl_status ofl_event_record(ofl_event* event, ofl_stream* stream) {
    return guarded("ofl_event_record", [&] {
        auto e = live(event);
        auto s = live(stream);
        ofl::same_runtime(s->device, e->device, "stream and event");
        e->impl->record(*s->impl);
    });
}

ofl_status ofl_event_query(ofl_event* event, int32_t* done) {
    return guarded("ofl_event_query", [&] {
        auto e = live(event);
        require_out(done, "done");
        *done = e->impl->query() ? 1 : 0;
    });
}

ofl_status ofl_event_synchronize(ofl_event* event) {
    return guarded("ofl_event_synchronize", [&] { live(event)->impl->synchronize(); });
}

ofl_status ofl_event_elapsed_ms(ofl_event* start, ofl_event* end, float* ms) {
    return guarded("ofl_event_elapsed_ms", [&] {
        auto a = live(start);
        auto b = live(end);
        require_out(ms, "ms");
        ofl::same_runtime(a->device, b->device, "events");
        *ms = a->impl->elapsed_ms_until(*b->impl);
    });
}

ofl_status ofl_event_destroy(ofl_event* event) {
    return guarded("ofl_event_destroy", [&] { HandleRegistry::instance().take(event); });
}

ofl_status ofl_copy_async(ofl_stream* stream, void* dst, const void* src, uint64_t bytes, int32_t kind) {
    return guarded("ofl_copy_async", [&] {
        auto s = live(stream);
        const ofl::Device& device = *s->device;
        // The host side is looked up in the pinned table first: a pinned range is host memory, so
        // the device-address refusal (check_host_range) is asked only of memory that is not pinned,
        // whose copy makes the caller wait anyway (below). An empty copy is checked in full.
        const void* host_side = kind == OFL_COPY_HOST_TO_DEVICE ? src : kind == OFL_COPY_DEVICE_TO_HOST ? dst : nullptr;
        const bool pinned = host_side != nullptr && bytes > 0 && s->device->backend().is_pinned(host_side, bytes);
        switch (kind) {
            case OFL_COPY_HOST_TO_DEVICE:
                if (!pinned) device.check_host_range(src, bytes, "copy source");
                device.check_device_range(dst, bytes, "copy destination");
                break;
            case OFL_COPY_DEVICE_TO_HOST:
                if (!pinned) device.check_host_range(dst, bytes, "copy destination");
                device.check_device_range(src, bytes, "copy source");
                break;
            case OFL_COPY_DEVICE_TO_DEVICE:
                device.check_device_range(src, bytes, "copy source");
                device.check_device_range(dst, bytes, "copy destination");
                break;
            default:
                ofl::fail(OFL_ERR_INVALID_ARGUMENT, "copy kind ", kind, " is not OFL_COPY_HOST_TO_DEVICE (1), ",
                          "OFL_COPY_DEVICE_TO_HOST (2) or OFL_COPY_DEVICE_TO_DEVICE (3)");
        }
        if (bytes == 0) return;
        // Pageable host memory: the caller waits, as cudaMemcpyAsync makes it wait (CUDA stages a
        // pageable source, and returns from a copy into pageable memory once it is done); stricter
        // than CUDA's staging on both backends alike: the stream's earlier work, then the copy.
        const bool pageable = host_side != nullptr && !pinned;
        s->impl->copy(dst, src, bytes, kind);
        if (pageable) {
            s->device->count_pageable_copy();
            s->impl->synchronize();
        }
    });
}

ofl_status ofl_device_fill_async(ofl_stream* stream, void* dst, uint8_t value, uint64_t bytes) {
    return guarded("ofl_device_fill_async", [&] {
        auto s = live(stream);
        s->device->check_device_range(dst, bytes, "fill destination");
        if (bytes > 0) s->impl->fill(dst, value, bytes);
    });
}

// ofl_copy_peer (offload.h): a copy between two runtimes' device memory, ordered by two events.
ofl_status ofl_copy_peer(ofl_stream* dst_stream, void* dst, ofl_stream* src_stream, const void* src, uint64_t bytes,
                         ofl_event* src_ready, ofl_event* copy_done) {
    return guarded("ofl_copy_peer", [&] {
        auto to = live(dst_stream);
        auto from = live(src_stream);
        auto ready = live(src_ready);
        auto done = live(copy_done);
        OFL_EXPECT(to->device->backend().kind() == from->device->backend().kind(), OFL_ERR_INVALID_ARGUMENT,
                   "peer copy: the streams are on different backends (", from->device->backend().name(), " and ",
                   to->device->backend().name(), "); copy through host memory instead");
        ofl::same_runtime(from->device, ready->device, "peer copy: src_stream and src_ready");
        ofl::same_runtime(to->device, done->device, "peer copy: dst_stream and copy_done");
        from->device->check_device_range(src, bytes, "peer copy source");
        to->device->check_device_range(dst, bytes, "peer copy destination");
        ready->impl->record(*from->impl);
        to->impl->wait_event(*ready->impl);
        if (bytes > 0) to->impl->copy_peer(dst, src, from->device->backend().device_index(), bytes);
        done->impl->record(*to->impl);
        from->impl->wait_event(*done->impl);
    });
}

ofl_status ofl_runtime_device_syncs(ofl_runtime* runtime, uint64_t* out) {
    return guarded("ofl_runtime_device_syncs", [&] {
        auto rt = live(runtime);
        require_out(out, "device syncs");
        *out = rt->device->device_syncs();
    });
}

}  // extern "C"
