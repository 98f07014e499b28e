// cuda_backend.cu: the thin cuda backend.
//
// Every CUDA call is checked (cuda_check.hpp). Each entry point makes the runtime's device current
// first (use_device: cudaSetDevice only when the calling thread's current device differs, so the
// steady state pays one cheap cudaGetDevice). Streams are non-blocking (they never synchronize
// with the legacy default stream). Events without OFL_EVENT_TIMING are created with timing
// disabled, the cheap kind. The backend's kernels are loaded when it opens (CUDA loads modules
// lazily by default, which would put a module load inside the first step). cudart is linked
// statically where the toolkit has it, so this library loads on a machine without a driver;
// cuda_device_count() then reports why there is no device.
#include "cuda/cuda_backend.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "cuda/cuda_check.hpp"
#include "stream_body.hpp"

namespace ofl {
namespace {

__global__ void spin_kernel(unsigned long long nanoseconds) {
    unsigned long long start, now;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
    do {
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
    } while (now - start < nanoseconds);
}

// Makes device current on the calling thread, calling cudaSetDevice only when another one is.
void use_device(int device) {
    int current = -1;
    OFL_CUDA_CHECK(cudaGetDevice(&current));
    if (current != device) OFL_CUDA_CHECK(cudaSetDevice(device));
}

void use_device_nothrow(int device) noexcept {
    int current = -1;
    if (cudaGetDevice(&current) != cudaSuccess || current != device) OFL_CUDA_CHECK_NOTHROW(cudaSetDevice(device));
}

cudaMemcpyKind to_cuda_kind(int kind) {
    switch (kind) {
        case OFL_COPY_HOST_TO_DEVICE: return cudaMemcpyHostToDevice;
        case OFL_COPY_DEVICE_TO_HOST: return cudaMemcpyDeviceToHost;
        default: return cudaMemcpyDeviceToDevice;
    }
}

class CudaEvent;
class CudaStream;

// A host function's launch goes through a trampoline that marks CUDA's callback thread for the
// body (stream_body.hpp: runtime calls from it are refused, as CUDA forbids them). Its argument
// block comes from the stream's free list, which grows only while more launches are pending than
// ever before, so the steady state allocates nothing; the trampoline gives the block back before
// the body runs, and the stream synchronizes before it frees the blocks.
struct HostCall {
    ofl_host_fn fn = nullptr;
    void* user_data = nullptr;
    CudaStream* owner = nullptr;
    HostCall* next = nullptr;
};

class CudaStream final : public Stream {
public:
    CudaStream(int device, cudaStream_t stream, bool owned) : device_(device), stream_(stream), owned_(owned) {}
    void enable_peer_once(int src_device) {
        static std::mutex mutex;
        static std::set<std::pair<int, int>> tried;
        std::lock_guard<std::mutex> lock(mutex);
        if (!tried.insert({device_, src_device}).second) return;
        int can = 0;
        OFL_CUDA_CHECK(cudaDeviceCanAccessPeer(&can, device_, src_device));
        if (!can) return;
        cudaError_t err = cudaDeviceEnablePeerAccess(src_device, 0);
        if (err == cudaErrorPeerAccessAlreadyEnabled) (void)cudaGetLastError();
        else OFL_CUDA_CHECK(err);
    }
    ~CudaStream() override {
        use_device_nothrow(device_);
        if (!calls_.empty()) OFL_CUDA_CHECK_NOTHROW(cudaStreamSynchronize(stream_));  // no trampoline left to run
        if (owned_) OFL_CUDA_CHECK_NOTHROW(cudaStreamDestroy(stream_));
    }
    void copy(void* dst, const void* src, std::size_t bytes, int kind) override {
        use_device(device_);
        OFL_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, to_cuda_kind(kind), stream_));
    }
    // Peer copy (ofl_copy_peer): direct over NVLink/PCIe where the devices allow peer access (enabled
    // once per pair, here), else cudaMemcpyPeerAsync stages it through pinned host memory itself.
    void copy_peer(void* dst, const void* src, int src_device, std::size_t bytes) override {
        use_device(device_);
        if (src_device != device_) enable_peer_once(src_device);
        OFL_CUDA_CHECK(cudaMemcpyPeerAsync(dst, device_, src, src_device, bytes, stream_));
    }
    void fill(void* dst, std::uint8_t value, std::size_t bytes) override {
        use_device(device_);
        OFL_CUDA_CHECK(cudaMemsetAsync(dst, value, bytes, stream_));
    }
    void delay(std::uint32_t microseconds) override {
        use_device(device_);
        spin_kernel<<<1, 1, 0, stream_>>>(1000ull * microseconds);
        OFL_CUDA_CHECK(cudaGetLastError());
    }
    void launch_host_func(ofl_host_fn fn, void* user_data) override {
        use_device(device_);
        HostCall* call = take_call();
        call->fn = fn;
        call->user_data = user_data;
        cudaError_t err = cudaLaunchHostFunc(stream_, &CudaStream::trampoline, call);
        if (err != cudaSuccess) give_back(call);
        OFL_CUDA_CHECK(err);
    }
    void wait_event(Event& event) override;
    void synchronize() override {
        use_device(device_);
        OFL_CUDA_CHECK(cudaStreamSynchronize(stream_));
    }
    void* native_handle() noexcept override { return stream_; }
    cudaStream_t get() const noexcept { return stream_; }

private:
    static void CUDART_CB trampoline(void* argument) {
        auto* call = static_cast<HostCall*>(argument);
        ofl_host_fn fn = call->fn;
        void* user_data = call->user_data;
        call->owner->give_back(call);
        StreamBody::Scope body(StreamBody::Kind::HostFunction, nullptr);
        fn(user_data);
    }
    HostCall* take_call() {
        std::lock_guard<std::mutex> lock(calls_mutex_);
        if (free_calls_ == nullptr) {
            calls_.push_back(std::make_unique<HostCall>());
            calls_.back()->owner = this;
            return calls_.back().get();
        }
        HostCall* call = free_calls_;
        free_calls_ = call->next;
        return call;
    }
    void give_back(HostCall* call) noexcept {
        std::lock_guard<std::mutex> lock(calls_mutex_);
        call->next = free_calls_;
        free_calls_ = call;
    }

    int device_;
    cudaStream_t stream_;
    bool owned_;
    std::mutex calls_mutex_;
    std::vector<std::unique_ptr<HostCall>> calls_;
    HostCall* free_calls_ = nullptr;
};

class CudaEvent final : public Event {
public:
    CudaEvent(int device, bool timing) : device_(device), timing_(timing) {
        use_device(device_);
        OFL_CUDA_CHECK(cudaEventCreateWithFlags(&event_, timing ? cudaEventDefault : cudaEventDisableTiming));
    }
    ~CudaEvent() override {
        use_device_nothrow(device_);
        OFL_CUDA_CHECK_NOTHROW(cudaEventDestroy(event_));
    }
    void record(Stream& stream) override {
        use_device(device_);
        OFL_CUDA_CHECK(cudaEventRecord(event_, static_cast<CudaStream&>(stream).get()));
        recorded_ = true;
    }
    bool query() override {
        use_device(device_);
        cudaError_t err = cudaEventQuery(event_);
        if (err == cudaErrorNotReady) {
            (void)cudaGetLastError();
            return false;
        }
        OFL_CUDA_CHECK(err);
        return true;
    }
    void synchronize() override {
        use_device(device_);
        OFL_CUDA_CHECK(cudaEventSynchronize(event_));
    }
    float elapsed_ms_until(Event& end_event) override {
        auto& end = static_cast<CudaEvent&>(end_event);
        // The same answers as the host backend for misuse, instead of CUDA's invalid-handle error.
        OFL_EXPECT(timing_ && end.timing_, OFL_ERR_INVALID_ARGUMENT,
                   "elapsed time needs two events created with OFL_EVENT_TIMING");
        OFL_EXPECT(recorded_ && end.recorded_, OFL_ERR_INVALID_ARGUMENT, "elapsed time of an event that was never recorded");
        use_device(device_);
        float ms = 0;
        cudaError_t err = cudaEventElapsedTime(&ms, event_, end.event_);
        if (err == cudaErrorNotReady) {
            (void)cudaGetLastError();
            fail(OFL_ERR_NOT_READY, "elapsed time: an event is still pending");
        }
        OFL_CUDA_CHECK(err);
        return ms;
    }
    cudaEvent_t get() const noexcept { return event_; }

private:
    int device_;
    bool timing_;
    std::atomic<bool> recorded_{false};
    cudaEvent_t event_ = nullptr;
};

void CudaStream::wait_event(Event& event) {
    use_device(device_);
    OFL_CUDA_CHECK(cudaStreamWaitEvent(stream_, static_cast<CudaEvent&>(event).get(), 0));
}

class CudaBackend final : public Backend {
public:
    explicit CudaBackend(int device) : device_(device) {
        OFL_CUDA_CHECK(cudaSetDevice(device_));
        OFL_CUDA_CHECK(cudaGetDeviceProperties(&props_, device_));
        // Loads the module now rather than at the first launch (lazy loading is CUDA's default).
        cudaFuncAttributes attributes{};
        OFL_CUDA_CHECK(cudaFuncGetAttributes(&attributes, spin_kernel));
    }
    int kind() const noexcept override { return OFL_BACKEND_CUDA; }
    int device_index() const noexcept override { return device_; }
    std::string name() const override { return props_.name; }
    MemoryInfo memory() override {
        use_device(device_);
        std::size_t free_bytes = 0, total_bytes = 0;
        OFL_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
        return MemoryInfo{total_bytes, free_bytes};
    }
    std::uint64_t default_budget() override {
        MemoryInfo info = memory();
        std::uint64_t reserve = std::max<std::uint64_t>(512ull << 20, info.total_bytes / 20);
        return info.free_bytes > reserve ? info.free_bytes - reserve : info.free_bytes / 2;
    }
    void* host_alloc(std::size_t bytes) override {
        use_device(device_);
        void* p = nullptr;
        cudaError_t err = cudaHostAlloc(&p, bytes, cudaHostAllocPortable);
        if (err == cudaErrorMemoryAllocation) {
            (void)cudaGetLastError();
            fail(OFL_ERR_OUT_OF_HOST_MEMORY, "cudaHostAlloc of ", bytes, " pinned bytes failed: cudaErrorMemoryAllocation");
        }
        OFL_CUDA_CHECK(err);
        return p;
    }
    void host_free(void* p) noexcept override { OFL_CUDA_CHECK_NOTHROW(cudaFreeHost(p)); }
    void host_register(void* p, std::size_t bytes) override {
        use_device(device_);
        cudaError_t err = cudaHostRegister(p, bytes, cudaHostRegisterPortable);
        if (err == cudaErrorMemoryAllocation) {
            (void)cudaGetLastError();
            fail(OFL_ERR_OUT_OF_HOST_MEMORY, "cudaHostRegister of ", bytes, " bytes at ", p,
                 " failed: cudaErrorMemoryAllocation (the locked-memory limit, ulimit -l?)");
        }
        OFL_CUDA_CHECK(err);
    }
    void host_unregister(void* p) noexcept override { OFL_CUDA_CHECK_NOTHROW(cudaHostUnregister(p)); }
    void* device_alloc(std::size_t bytes) override {
        use_device(device_);
        void* p = nullptr;
        cudaError_t err = cudaMalloc(&p, bytes);
        if (err == cudaErrorMemoryAllocation) {
            (void)cudaGetLastError();
            std::size_t free_bytes = 0, total_bytes = 0;
            OFL_CUDA_CHECK_NOTHROW(cudaMemGetInfo(&free_bytes, &total_bytes));
            fail(OFL_ERR_OUT_OF_DEVICE_MEMORY, "cudaMalloc of ", bytes, " bytes on cuda:", device_,
                 " failed: cudaErrorMemoryAllocation (", free_bytes, " of ", total_bytes, " bytes free)");
        }
        OFL_CUDA_CHECK(err);
        return p;
    }
    void device_free(void* p) noexcept override {
        use_device_nothrow(device_);
        OFL_CUDA_CHECK_NOTHROW(cudaFree(p));
    }
    void synchronize_device() override {
        use_device(device_);
        OFL_CUDA_CHECK(cudaDeviceSynchronize());
    }
    std::unique_ptr<Stream> create_stream(int kind) override {
        use_device(device_);
        int least = 0, greatest = 0;
        OFL_CUDA_CHECK(cudaDeviceGetStreamPriorityRange(&least, &greatest));
        cudaStream_t stream = nullptr;
        // Copy streams get the higher priority so a prefetch is never starved behind compute.
        int priority = kind == OFL_STREAM_COPY ? greatest : least;
        OFL_CUDA_CHECK(cudaStreamCreateWithPriority(&stream, cudaStreamNonBlocking, priority));
        return std::make_unique<CudaStream>(device_, stream, true);
    }
    std::unique_ptr<Stream> wrap_stream(void* native) override {
        auto stream = static_cast<cudaStream_t>(native);
        OFL_EXPECT(stream != nullptr && stream != cudaStreamLegacy, OFL_ERR_INVALID_ARGUMENT,
                   "cannot wrap the legacy NULL stream: it synchronizes with every other stream, so copies could not "
                   "overlap compute; pass a stream made with cudaStreamCreate");
        use_device(device_);
#if CUDART_VERSION >= 12080
        int owner = -1;
        OFL_CUDA_CHECK(cudaStreamGetDevice(stream, &owner));
        OFL_EXPECT(owner == device_, OFL_ERR_INVALID_ARGUMENT, "the stream to wrap belongs to cuda:", owner,
                   ", but this runtime is on cuda:", device_);
#else
        // No cudaStreamGetDevice before CUDA 12.8: an event of this device recorded on a stream of
        // another device fails, which tells the two apart.
        cudaEvent_t probe = nullptr;
        OFL_CUDA_CHECK(cudaEventCreateWithFlags(&probe, cudaEventDisableTiming));
        cudaError_t err = cudaEventRecord(probe, stream);
        OFL_CUDA_CHECK_NOTHROW(cudaEventDestroy(probe));
        if (err != cudaSuccess) (void)cudaGetLastError();
        OFL_EXPECT(err == cudaSuccess, OFL_ERR_INVALID_ARGUMENT, "the stream to wrap does not belong to cuda:", device_,
                   " (cudaEventRecord: ", cudaGetErrorName(err), ")");
#endif
        return std::make_unique<CudaStream>(device_, stream, false);
    }
    std::unique_ptr<Event> create_event(bool timing) override { return std::make_unique<CudaEvent>(device_, timing); }
    bool is_pinned(const void* p, std::size_t bytes) override {
        // Both ends: a range that starts in pinned memory may run past it.
        for (const char* at : {static_cast<const char*>(p), static_cast<const char*>(p) + bytes - 1}) {
            cudaPointerAttributes attributes{};
            cudaError_t err = cudaPointerGetAttributes(&attributes, at);
            if (err != cudaSuccess) {
                (void)cudaGetLastError();
                return false;
            }
            if (attributes.type != cudaMemoryTypeHost) return false;
        }
        return true;
    }

private:
    int device_;
    cudaDeviceProp props_{};
};

}  // namespace

int cuda_device_count(std::string& why) noexcept {
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
        (void)cudaGetLastError();
        why = concat("cudaGetDeviceCount: ", cudaGetErrorName(err), " (", cudaGetErrorString(err), ")");
        return 0;
    }
    if (count == 0) why = "cudaGetDeviceCount found no CUDA device";
    return count;
}

std::unique_ptr<Backend> make_cuda_backend(int device_index) { return std::make_unique<CudaBackend>(device_index); }

}  // namespace ofl
