// backend.hpp: the interface both backends implement (host and cuda).
//
// A Backend owns no bookkeeping of its own beyond the device it talks to: budgets and the table of
// live device buffers live in Device (device.hpp), so both backends enforce them identically.
// Semantics every implementation must keep (the conformance suite checks them on both):
//  - a Stream runs its work in the order it was queued;
//  - Event::record captures the work queued on that stream so far; Stream::wait_event makes later
//    work on a stream wait for the event's latest record at the time of the call, without blocking
//    the calling thread; an event never recorded counts as complete;
//  - Event::query never blocks; copies really copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "error.hpp"
#include "offload.h"

namespace ofl {

class Event;

// What a host kernel may view of its runtime's device memory (the Device answers: ofl_device_view).
class ViewableRanges {
public:
    // Whether [p, p + bytes) lies inside one live device buffer or engine region, or in space given
    // back behind a fence still pending (work queued before the give-back, this kernel included, may
    // still use it: an engine retired while its last step's kernels are queued).
    virtual bool viewable(const void* p, std::uint64_t bytes) const = 0;

protected:
    ~ViewableRanges() = default;
};

class Stream {
public:
    virtual ~Stream() = default;
    virtual void copy(void* dst, const void* src, std::size_t bytes, int kind) = 0;
    virtual void fill(void* dst, std::uint8_t value, std::size_t bytes) = 0;
    virtual void delay(std::uint32_t microseconds) = 0;
    // Runs fn(user_data) in stream order on a thread of the backend (cudaLaunchHostFunc).
    virtual void launch_host_func(ofl_host_fn fn, void* user_data) = 0;
    // Runs fn(user_data) in stream order as emulated device code that may view device memory
    // (ofl_device_view). Only the host backend has host kernels; cuda refuses (kernels run on the GPU).
    virtual void launch_host_kernel(ofl_host_fn fn, void* user_data);
    virtual void wait_event(Event& event) = 0;
    virtual void synchronize() = 0;
    virtual void* native_handle() noexcept = 0;
    // wait_event(*wait) if wait, copy if bytes > 0, then then->record(*this): the engine's copy of
    // a streamed group. The host backend queues it as one operation (one lock, one wake-up).
    virtual void copy_between(Event* wait, void* dst, const void* src, std::size_t bytes, int kind, Event& then);
    // A group's release and the next group's acquire on the compute stream, queued as one operation
    // on the host backend: begin_record(e) records e at once as far as later waits are concerned
    // (work queued elsewhere may wait on it right away), and finish_record(r, wait) completes the
    // ordering: the record's place in this stream is here, followed by wait_event(*wait) if wait.
    // Nothing else may be queued on this stream in between. Default: record now, wait at finish.
    struct DeferredRecord {
        Event* event = nullptr;
        std::uint64_t generation = 0;
    };
    virtual DeferredRecord begin_record(Event* event);
    virtual void finish_record(const DeferredRecord& record, Event* wait);
    // A copy into this stream's device (dst) from another device of the same backend (src on
    // device src_device), in this stream's order (ofl_copy_peer orders it against the source's
    // stream). Default: a device-to-device copy (the host backend: both arenas are host memory).
    virtual void copy_peer(void* dst, const void* src, int src_device, std::size_t bytes);
};

class Event {
public:
    virtual ~Event() = default;
    virtual void record(Stream& stream) = 0;
    virtual bool query() = 0;
    virtual void synchronize() = 0;
    // Milliseconds from this event to end; throws OFL_ERR_NOT_READY while either is pending.
    virtual float elapsed_ms_until(Event& end) = 0;
};

struct MemoryInfo {
    std::uint64_t total_bytes = 0;
    std::uint64_t free_bytes = 0;
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual int kind() const noexcept = 0;  // OFL_BACKEND_*
    virtual int device_index() const noexcept = 0;
    virtual std::string name() const = 0;
    virtual MemoryInfo memory() = 0;
    // The budget used when the caller gives 0.
    virtual std::uint64_t default_budget() = 0;
    // Called once by Device, before any allocation or stream, with the runtime's budget (the host
    // backend sizes its device arena from it) and what of it a host kernel may view (the host
    // backend's ofl_device_view); `ranges` outlives the backend's streams.
    virtual void reserve_device(std::uint64_t budget, const ViewableRanges& ranges) {
        (void)budget;
        (void)ranges;
    }

    virtual void* host_alloc(std::size_t bytes) = 0;
    virtual void host_free(void* p) noexcept = 0;
    virtual void* device_alloc(std::size_t bytes) = 0;
    virtual void device_free(void* p) noexcept = 0;
    // Waits for every stream of the device (cudaDeviceSynchronize): what freeing memory waits for.
    virtual void synchronize_device() = 0;

    virtual std::unique_ptr<Stream> create_stream(int kind) = 0;
    virtual std::unique_ptr<Stream> wrap_stream(void* native) = 0;
    virtual std::unique_ptr<Event> create_event(bool timing) = 0;

    // Whether [p, p + bytes) is pinned (host_alloc's memory and registered ranges, on both
    // backends): the engine refuses group memory that is not (a copy from it would block the caller,
    // as on cuda), and ofl_copy_async makes a copy from or into anything else wait and counts it.
    // Registers caller memory as pinned (cudaHostRegister, portable) / undoes it; the memory stays the caller's.
    virtual void host_register(void* p, std::size_t bytes) = 0;
    virtual void host_unregister(void* p) noexcept = 0;
    virtual bool is_pinned(const void* p, std::size_t bytes) = 0;
    // Whether host-to-device copies are made by a CPU core (the host backend's memcpy) rather than a
    // DMA engine: the disk reader then hands staging over in small units, so that each copy reads
    // bytes still in the CPU cache (disk/disk_reader.hpp).
    virtual bool copies_with_cpu() const noexcept { return false; }
};

inline void Stream::launch_host_kernel(ofl_host_fn, void*) {
    throw Error(OFL_ERR_NOT_SUPPORTED,
                "host kernels run on the host backend only: on cuda, device memory is not host memory, so launch a CUDA "
                "kernel on ofl_stream_native_handle's stream (a host function gets no view of device memory either)");
}

inline Stream::DeferredRecord Stream::begin_record(Event* event) {
    if (event) event->record(*this);
    return {};
}

inline void Stream::finish_record(const DeferredRecord&, Event* wait) {
    if (wait) wait_event(*wait);
}

inline void Stream::copy_peer(void* dst, const void* src, int, std::size_t bytes) {
    copy(dst, src, bytes, OFL_COPY_DEVICE_TO_DEVICE);
}

inline void Stream::copy_between(Event* wait, void* dst, const void* src, std::size_t bytes, int kind, Event& then) {
    if (wait) wait_event(*wait);
    if (bytes > 0) copy(dst, src, bytes, kind);
    then.record(*this);
}

}  // namespace ofl
