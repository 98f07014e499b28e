#include "host/host_stream.hpp"

#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#include "error.hpp"
#include "host/device_arena.hpp"
#include "stream_body.hpp"

namespace ofl {

namespace {

constexpr auto kSpin = std::chrono::microseconds(20);  // HostEventState's note

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

// The emulated device's copy engine. A large copy writes with non-temporal
// stores (x86-64, SSE2): as a DMA engine, it neither reads the destination's lines first nor
// evicts the CPU cache, which holds the disk source's staging units and the compute's working set.
// On the two-core development VM this took the disk source from 6.7 to 8.6 GB/s (docs/BENCHMARKS.md).
// Smaller, overlapping or unaligned-tail copies use memmove.
void device_copy(void* dst, const void* src, std::size_t bytes) {
#if defined(__x86_64__)
    constexpr std::size_t kStreamed = 256u << 10;
    auto* d = static_cast<unsigned char*>(dst);
    const auto* s = static_cast<const unsigned char*>(src);
    const bool apart = d + bytes <= s || s + bytes <= d;
    if (bytes >= kStreamed && apart) {
        const std::size_t head = (16 - reinterpret_cast<std::uintptr_t>(d) % 16) % 16;
        std::memcpy(d, s, head);
        d += head;
        s += head;
        std::size_t left = bytes - head;
        for (; left >= 64; left -= 64, d += 64, s += 64) {
            const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
            const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 16));
            const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 32));
            const __m128i e = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 48));
            _mm_stream_si128(reinterpret_cast<__m128i*>(d), a);
            _mm_stream_si128(reinterpret_cast<__m128i*>(d + 16), b);
            _mm_stream_si128(reinterpret_cast<__m128i*>(d + 32), c);
            _mm_stream_si128(reinterpret_cast<__m128i*>(d + 48), e);
        }
        std::memcpy(d, s, left);
        _mm_sfence();  // the stores are visible before the stream's next operation (an event record)
        return;
    }
#endif
    std::memmove(dst, src, bytes);
}

}  // namespace

bool HostEventState::is_complete(std::uint64_t generation) const noexcept {
    if (generation <= watermark) return true;
    for (std::uint64_t g : ahead) {
        if (g == generation) return true;
    }
    return false;
}

void HostEventState::complete(std::uint64_t generation) {
    bool wake;
    {
        std::lock_guard<std::mutex> lock(mutex);
        if (generation > highest) {
            highest = generation;
            completed_at = std::chrono::steady_clock::now();
        }
        if (generation == watermark + 1) {
            watermark = generation;
            for (std::size_t i = 0; i < ahead.size();) {  // absorb the generations that completed early
                if (ahead[i] == watermark + 1) {
                    ++watermark;
                    ahead[i] = ahead.back();
                    ahead.pop_back();
                    i = 0;
                } else {
                    ++i;
                }
            }
            reached.store(watermark, std::memory_order_release);
        } else if (!is_complete(generation)) {
            ahead.push_back(generation);
        }
        wake = sleepers > 0;
    }
    if (wake) changed.notify_all();
}

void HostEventState::wait_for(std::uint64_t generation) {
    if (reached.load(std::memory_order_acquire) >= generation) return;
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (int i = 1; reached.load(std::memory_order_acquire) < generation; ++i) {
        cpu_relax();
        if ((i & 63) == 0 && std::chrono::steady_clock::now() >= until) break;
    }
    std::unique_lock<std::mutex> lock(mutex);
    ++sleepers;
    changed.wait(lock, [&] { return is_complete(generation); });
    --sleepers;
}

void HostStreamRegistry::add(HostStream* stream) {
    std::lock_guard<std::mutex> lock(mutex_);
    live_.push_back(stream);
}

void HostStreamRegistry::remove(HostStream* stream) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = live_.begin(); it != live_.end(); ++it) {
        if (*it == stream) {
            live_.erase(it);
            return;
        }
    }
}

void HostStreamRegistry::synchronize_all() noexcept {
    // Workers never take this mutex, so waiting for them under it cannot deadlock; a stream being
    // destroyed has drained already and answers at once.
    std::lock_guard<std::mutex> lock(mutex_);
    for (HostStream* s : live_) s->synchronize();
}

HostStream::HostStream(HostStreamRegistry& registry, const DeviceArena& arena) : ring_(16), registry_(registry), arena_(arena) {
    worker_ = std::thread([this] { run(); });
    registry_.add(this);
}

HostStream::~HostStream() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    work_ready_.notify_all();
    if (worker_.joinable()) worker_.join();
    registry_.remove(this);
}

void HostStream::push(HostOp&& op) {
    bool wake;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (count_ == ring_.size()) {  // grow: only while deeper than ever before
            std::vector<HostOp> bigger(ring_.size() * 2);
            for (std::size_t i = 0; i < count_; ++i) bigger[i] = std::move(ring_[(head_ + i) % ring_.size()]);
            ring_.swap(bigger);
            head_ = 0;
        }
        ring_[(head_ + count_) % ring_.size()] = std::move(op);
        ++count_;
        ++queued_;
        wake = idle_;  // a busy worker takes the next operation without being woken
    }
    if (wake) work_ready_.notify_one();
}

void HostStream::run() {
    HostOp op;
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(mutex_);
            idle_ = true;
            work_ready_.wait(lock, [&] { return count_ > 0 || stopping_; });
            idle_ = false;
            if (count_ == 0) return;  // stopping and drained
            op = std::move(ring_[head_]);
            head_ = (head_ + 1) % ring_.size();
            --count_;
        }
        execute(op);
        op.event.reset();
        op.then.reset();
        bool waiting;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            ++finished_;
            waiting = syncers_ > 0;
        }
        if (waiting) work_done_.notify_all();
    }
}

void HostStream::execute(HostOp& op) {
    switch (op.kind) {
        case HostOp::Kind::Copy: device_copy(op.dst, op.src, op.bytes); break;
        case HostOp::Kind::Fill: std::memset(op.dst, op.value, op.bytes); break;
        case HostOp::Kind::Delay: std::this_thread::sleep_for(std::chrono::microseconds(op.micros)); break;
        case HostOp::Kind::Record: op.event->complete(op.generation); break;
        case HostOp::Kind::Wait: op.event->wait_for(op.generation); break;
        case HostOp::Kind::HostFunc: {
            StreamBody::Scope body(StreamBody::Kind::HostFunction, nullptr);
            op.host_fn(op.user_data);
            break;
        }
        case HostOp::Kind::HostKernel: {
            StreamBody::Scope body(StreamBody::Kind::HostKernel, &arena_);
            op.host_fn(op.user_data);
            break;
        }
        case HostOp::Kind::RecordWait:
            if (op.then) op.then->complete(op.then_generation);
            if (op.event) op.event->wait_for(op.generation);
            break;
        case HostOp::Kind::WaitCopyRecord:
            if (op.event) op.event->wait_for(op.generation);
            if (op.bytes > 0) device_copy(op.dst, op.src, op.bytes);
            op.then->complete(op.then_generation);
            break;
    }
}

void HostStream::copy(void* dst, const void* src, std::size_t bytes, int) {
    HostOp op;
    op.kind = HostOp::Kind::Copy;
    op.dst = arena_.translate(dst);
    op.src = arena_.translate(src);
    op.bytes = bytes;
    push(std::move(op));
}

void HostStream::copy_peer(void* dst, const void* src, int, std::size_t bytes) {
    HostOp op;
    op.kind = HostOp::Kind::Copy;
    op.dst = arena_.translate(dst);
    op.src = DeviceArena::translate_any(src);
    op.bytes = bytes;
    push(std::move(op));
}

void HostStream::fill(void* dst, std::uint8_t value, std::size_t bytes) {
    HostOp op;
    op.kind = HostOp::Kind::Fill;
    op.dst = arena_.translate(dst);
    op.value = value;
    op.bytes = bytes;
    push(std::move(op));
}

void HostStream::delay(std::uint32_t microseconds) {
    HostOp op;
    op.kind = HostOp::Kind::Delay;
    op.micros = microseconds;
    push(std::move(op));
}

void HostStream::launch_host_func(ofl_host_fn fn, void* user_data) {
    HostOp op;
    op.kind = HostOp::Kind::HostFunc;
    op.host_fn = fn;
    op.user_data = user_data;
    push(std::move(op));
}

void HostStream::launch_host_kernel(ofl_host_fn fn, void* user_data) {
    HostOp op;
    op.kind = HostOp::Kind::HostKernel;
    op.host_fn = fn;
    op.user_data = user_data;
    push(std::move(op));
}

namespace {

// What a wait queued now means: the event's latest record at this moment (CUDA's rule).
void capture_wait(Event* wait, HostOp& op) {
    if (!wait) return;
    auto& state = static_cast<HostEvent*>(wait)->state();
    std::lock_guard<std::mutex> lock(state->mutex);
    op.generation = state->recorded;
    op.event = state;
}

}  // namespace

void HostStream::wait_event(Event& event) {
    HostOp op;
    op.kind = HostOp::Kind::Wait;
    capture_wait(&event, op);
    push(std::move(op));
}

void HostStream::copy_between(Event* wait, void* dst, const void* src, std::size_t bytes, int, Event& then) {
    HostOp op;
    op.kind = HostOp::Kind::WaitCopyRecord;
    op.dst = arena_.translate(dst);
    op.src = arena_.translate(src);
    op.bytes = bytes;
    capture_wait(wait, op);
    // As HostEvent::record: the generation is taken and queued under the event's lock.
    auto& then_state = static_cast<HostEvent&>(then).state();
    std::lock_guard<std::mutex> lock(then_state->mutex);
    op.then = then_state;
    op.then_generation = ++then_state->recorded;
    push(std::move(op));
}

Stream::DeferredRecord HostStream::begin_record(Event* event) {
    if (!event) return {};
    return {event, static_cast<HostEvent*>(event)->reserve()};
}

void HostStream::finish_record(const DeferredRecord& record, Event* wait) {
    if (!record.event) {
        if (wait) wait_event(*wait);
        return;
    }
    HostOp op;
    op.kind = HostOp::Kind::RecordWait;
    op.then = static_cast<HostEvent*>(record.event)->state();
    op.then_generation = record.generation;
    capture_wait(wait, op);
    push(std::move(op));
}

void HostStream::record(const std::shared_ptr<HostEventState>& event, std::uint64_t generation) {
    HostOp op;
    op.kind = HostOp::Kind::Record;
    op.event = event;
    op.generation = generation;
    push(std::move(op));
}

void HostStream::synchronize() {
    std::unique_lock<std::mutex> lock(mutex_);
    std::uint64_t target = queued_;
    ++syncers_;
    work_done_.wait(lock, [&] { return finished_ >= target; });
    --syncers_;
}

HostEvent::HostEvent(bool timing) : state_(std::make_shared<HostEventState>()) { state_->timing = timing; }

void HostEvent::record(Stream& stream) {
    // The generation is taken and queued under the event's lock so that two threads recording the
    // same event cannot queue their generations out of order on one stream.
    std::lock_guard<std::mutex> lock(state_->mutex);
    std::uint64_t generation = ++state_->recorded;
    static_cast<HostStream&>(stream).record(state_, generation);
}

std::uint64_t HostEvent::reserve() {
    std::lock_guard<std::mutex> lock(state_->mutex);
    return ++state_->recorded;
}

bool HostEvent::query() {
    std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->is_complete(state_->recorded);
}

void HostEvent::synchronize() {
    std::uint64_t target;
    {
        std::lock_guard<std::mutex> lock(state_->mutex);
        target = state_->recorded;
    }
    state_->wait_for(target);
}

float HostEvent::elapsed_ms_until(Event& end_event) {
    auto& end = static_cast<HostEvent&>(end_event).state_;
    OFL_EXPECT(state_->timing && end->timing, OFL_ERR_INVALID_ARGUMENT,
               "elapsed time needs two events created with OFL_EVENT_TIMING");
    std::chrono::steady_clock::time_point from, to;
    for (auto* s : {state_.get(), end.get()}) {
        std::lock_guard<std::mutex> lock(s->mutex);
        OFL_EXPECT(s->recorded > 0, OFL_ERR_INVALID_ARGUMENT, "elapsed time of an event that was never recorded");
        OFL_EXPECT(s->is_complete(s->recorded), OFL_ERR_NOT_READY, "elapsed time: an event is still pending");
        (s == state_.get() ? from : to) = s->completed_at;
    }
    return std::chrono::duration<float, std::milli>(to - from).count();
}

}  // namespace ofl
