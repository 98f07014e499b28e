// host_stream.hpp: streams and events of the host backend.
//
// Each HostStream is one worker thread that runs its queue in order. The queue is a ring of
// fixed-size operations that grows only while it is deeper than ever before, so the steady state
// allocates nothing. Events follow CUDA: record() bumps the event's "recorded" generation at call
// time and queues an operation that marks that generation complete when the worker reaches it;
// wait_event() captures the generation recorded so far and the worker blocks on it, never the
// caller. Lock order: a stream's mutex is never held while an operation runs or while an event's
// mutex is taken. Device addresses in copies and fills are translated to the arena's view when
// queued (device_arena.hpp); a host function runs with its thread marked as one, a host kernel
// marked as one with the arena's views (stream_body.hpp).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "backend.hpp"

namespace ofl {

// Waiting for an event: a waiter first polls `reached` for a few microseconds (a stream worker's
// event is usually completed by the other stream's worker that soon), and only then sleeps on the
// condition variable, counted in `sleepers`; complete() wakes only when someone sleeps. On two
// cores, a futex wake-up per hand-off between the copy and compute workers was most of the host
// backend's time per group.
//
// Records of one event may be queued on several streams and complete out of order. A wait waits
// for the one generation it captured (CUDA's rule): a later generation completing first does not
// release it. So completion is a watermark (every generation up to it is complete) plus the few
// generations completed above it, kept in a vector that grows only while deeper than ever before.
struct HostEventState {
    std::mutex mutex;
    std::condition_variable changed;
    std::uint64_t recorded = 0;   // generations handed out by record()
    std::uint64_t watermark = 0;  // every generation <= watermark is complete
    std::vector<std::uint64_t> ahead;  // completed generations above watermark + 1, unordered
    std::uint64_t highest = 0;    // the highest generation completed (its time is completed_at)
    std::atomic<std::uint64_t> reached{0};  // == watermark, readable without the lock
    int sleepers = 0;             // waiters blocked on `changed`
    std::chrono::steady_clock::time_point completed_at{};
    bool timing = false;

    HostEventState() { ahead.reserve(8); }
    void complete(std::uint64_t generation);
    void wait_for(std::uint64_t generation);
    // Under `mutex`.
    bool is_complete(std::uint64_t generation) const noexcept;
};


struct HostOp {
    enum class Kind : std::uint8_t { Copy, Fill, Delay, Record, Wait, HostFunc, HostKernel, WaitCopyRecord, RecordWait };
    Kind kind = Kind::Copy;
    void* dst = nullptr;
    const void* src = nullptr;
    std::size_t bytes = 0;
    std::uint8_t value = 0;
    std::uint32_t micros = 0;
    std::shared_ptr<HostEventState> event;
    std::uint64_t generation = 0;
    std::shared_ptr<HostEventState> then;  // WaitCopyRecord: completed after the copy; RecordWait: completed first
    std::uint64_t then_generation = 0;
    ofl_host_fn host_fn = nullptr;
    void* user_data = nullptr;
};

class HostStream;
class DeviceArena;

// The live streams of one host backend. Freeing memory waits for all of them first, as cudaFree
// and cudaFreeHost synchronize the device: work still queued never touches freed memory.
class HostStreamRegistry {
public:
    void add(HostStream* stream);
    void remove(HostStream* stream) noexcept;
    void synchronize_all() noexcept;

private:
    std::mutex mutex_;
    std::vector<HostStream*> live_;
};

class HostStream final : public Stream {
public:
    HostStream(HostStreamRegistry& registry, const DeviceArena& arena);
    ~HostStream() override;  // runs what is queued, then stops the worker

    void copy(void* dst, const void* src, std::size_t bytes, int kind) override;
    // A copy from another emulated device's arena (ofl_copy_peer): its source translated by that arena.
    void copy_peer(void* dst, const void* src, int src_device, std::size_t bytes) override;
    void fill(void* dst, std::uint8_t value, std::size_t bytes) override;
    void delay(std::uint32_t microseconds) override;
    void launch_host_func(ofl_host_fn fn, void* user_data) override;
    void launch_host_kernel(ofl_host_fn fn, void* user_data) override;
    void copy_between(Event* wait, void* dst, const void* src, std::size_t bytes, int kind, Event& then) override;
    DeferredRecord begin_record(Event* event) override;
    void finish_record(const DeferredRecord& record, Event* wait) override;
    void wait_event(Event& event) override;
    void synchronize() override;
    void* native_handle() noexcept override { return nullptr; }

    void record(const std::shared_ptr<HostEventState>& event, std::uint64_t generation);

private:
    void push(HostOp&& op);
    void run();
    void execute(HostOp& op);

    std::mutex mutex_;
    std::condition_variable work_ready_;
    std::condition_variable work_done_;
    std::vector<HostOp> ring_;
    std::size_t head_ = 0;
    std::size_t count_ = 0;
    std::uint64_t queued_ = 0;
    std::uint64_t finished_ = 0;
    bool stopping_ = false;
    bool idle_ = false;  // the worker waits for work (only then does push notify)
    int syncers_ = 0;    // threads in synchronize() (only then does the worker notify work_done_)
    HostStreamRegistry& registry_;
    const DeviceArena& arena_;
    std::thread worker_;
};

class HostEvent final : public Event {
public:
    explicit HostEvent(bool timing);
    void record(Stream& stream) override;
    bool query() override;
    void synchronize() override;
    float elapsed_ms_until(Event& end) override;
    const std::shared_ptr<HostEventState>& state() const noexcept { return state_; }
    // The next generation, counted as recorded now; its completion is queued later by the caller
    // (HostStream::finish_record). Only for events one thread records.
    std::uint64_t reserve();

private:
    std::shared_ptr<HostEventState> state_;
};

}  // namespace ofl
