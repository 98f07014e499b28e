// cuda_backend.cu: the thin cuda backend.
//
// Every CUDA call is checked (cuda_check.hpp). Each entry point sets the device first, since the
// calling thread may have used another one. Streams are non-blocking (they never synchronize with
// the legacy default stream). Events without OFL_EVENT_TIMING are created with timing disabled, the
// cheap kind used on the steady-state path. cudart is linked statically, so this library loads on a
// machine without a driver; cuda_device_count() then reports why there is no device.
#include "cuda/cuda_backend.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>

#include "cuda/cuda_check.hpp"
#include "workload/mix_cuda.hpp"

namespace ofl {
namespace {

__global__ void spin_kernel(unsigned long long nanoseconds) {
    unsigned long long start, now;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
    do {
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
    } while (now - start < nanoseconds);
}

cudaMemcpyKind to_cuda_kind(int kind) {
    switch (kind) {
        case OFL_COPY_HOST_TO_DEVICE: return cudaMemcpyHostToDevice;
        case OFL_COPY_DEVICE_TO_HOST: return cudaMemcpyDeviceToHost;
        default: return cudaMemcpyDeviceToDevice;
    }
}

class CudaEvent;

class CudaStream final : public Stream {
public:
    CudaStream(int device, cudaStream_t stream, bool owned) : device_(device), stream_(stream), owned_(owned) {}
    ~CudaStream() override {
        if (!owned_) return;
        OFL_CUDA_CHECK_NOTHROW(cudaSetDevice(device_));
        OFL_CUDA_CHECK_NOTHROW(cudaStreamDestroy(stream_));
    }
    void copy(void* dst, const void* src, std::size_t bytes, int kind) override {
        OFL_CUDA_CHECK(cudaSetDevice(device_));
        OFL_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, to_cuda_kind(kind), stream_));
    }
    void fill(void* dst, std::uint8_t value, std::size_t bytes) override {
        OFL_CUDA_CHECK(cudaSetDevice(device_));
        OFL_CUDA_CHECK(cudaMemsetAsync(dst, value, bytes, stream_));
    }
    void delay(std::uint32_t microseconds) override {
        OFL_CUDA_CHECK(cudaSetDevice(device_));
        spin_kernel<<<1, 1, 0, stream_>>>(1000ull * microseconds);
        OFL_CUDA_CHECK(cudaGetLastError());
    }
    void mix(const MixLaunch& launch) override {
        OFL_CUDA_CHECK(cudaSetDevice(device_));
        mix_on_cuda(launch, stream_);
    }
    void wait_event(Event& event) override;
    void synchronize() override {
        OFL_CUDA_CHECK(cudaSetDevice(device_));
        OFL_CUDA_CHECK(cudaStreamSynchronize(stream_));
    }
    void* native_handle() noexcept override { return stream_; }
    cudaStream_t get() const noexcept { return stream_; }

private:
    int device_;
    cudaStream_t stream_;
    bool owned_;
};

class CudaEvent final : public Event {
public:
    CudaEvent(int device, bool timing) : device_(device), timing_(timing) {
        OFL_CUDA_CHECK(cudaSetDevice(device_));
        OFL_CUDA_CHECK(cudaEventCreateWithFlags(&event_, timing ? cudaEventDefault : cudaEventDisableTiming));
    }
    ~CudaEvent() override {
        OFL_CUDA_CHECK_NOTHROW(cudaSetDevice(device_));
        OFL_CUDA_CHECK_NOTHROW(cudaEventDestroy(event_));
    }
    void record(Stream& stream) override {
        OFL_CUDA_CHECK(cudaSetDevice(device_));
        OFL_CUDA_CHECK(cudaEventRecord(event_, static_cast<CudaStream&>(stream).get()));
        recorded_ = true;
    }
    bool query() override {
        OFL_CUDA_CHECK(cudaSetDevice(device_));
        cudaError_t err = cudaEventQuery(event_);
        if (err == cudaErrorNotReady) {
            (void)cudaGetLastError();
            return false;
        }
        OFL_CUDA_CHECK(err);
        return true;
    }
    void synchronize() override {
        OFL_CUDA_CHECK(cudaSetDevice(device_));
        OFL_CUDA_CHECK(cudaEventSynchronize(event_));
    }
    float elapsed_ms_until(Event& end_event) override {
        auto& end = static_cast<CudaEvent&>(end_event);
        // The same answers as the host backend for misuse, instead of CUDA's invalid-handle error.
        OFL_EXPECT(timing_ && end.timing_, OFL_ERR_INVALID_ARGUMENT,
                   "elapsed time needs two events created with OFL_EVENT_TIMING");
        OFL_EXPECT(recorded_ && end.recorded_, OFL_ERR_INVALID_ARGUMENT, "elapsed time of an event that was never recorded");
        OFL_CUDA_CHECK(cudaSetDevice(device_));
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
    OFL_CUDA_CHECK(cudaSetDevice(device_));
    OFL_CUDA_CHECK(cudaStreamWaitEvent(stream_, static_cast<CudaEvent&>(event).get(), 0));
}

class CudaBackend final : public Backend {
public:
    explicit CudaBackend(int device) : device_(device) {
        OFL_CUDA_CHECK(cudaSetDevice(device_));
        OFL_CUDA_CHECK(cudaGetDeviceProperties(&props_, device_));
    }
    int kind() const noexcept override { return OFL_BACKEND_CUDA; }
    int device_index() const noexcept override { return device_; }
    std::string name() const override { return props_.name; }
    MemoryInfo memory() override {
        OFL_CUDA_CHECK(cudaSetDevice(device_));
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
        OFL_CUDA_CHECK(cudaSetDevice(device_));
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
    void* device_alloc(std::size_t bytes) override {
        OFL_CUDA_CHECK(cudaSetDevice(device_));
        void* p = nullptr;
        OFL_CUDA_CHECK(cudaMalloc(&p, bytes));
        return p;
    }
    void device_free(void* p) noexcept override {
        OFL_CUDA_CHECK_NOTHROW(cudaSetDevice(device_));
        OFL_CUDA_CHECK_NOTHROW(cudaFree(p));
    }
    std::unique_ptr<Stream> create_stream(int kind) override {
        OFL_CUDA_CHECK(cudaSetDevice(device_));
        int least = 0, greatest = 0;
        OFL_CUDA_CHECK(cudaDeviceGetStreamPriorityRange(&least, &greatest));
        cudaStream_t stream = nullptr;
        // Copy streams get the higher priority so a prefetch is never starved behind compute.
        int priority = kind == OFL_STREAM_COPY ? greatest : least;
        OFL_CUDA_CHECK(cudaStreamCreateWithPriority(&stream, cudaStreamNonBlocking, priority));
        return std::make_unique<CudaStream>(device_, stream, true);
    }
    std::unique_ptr<Stream> wrap_stream(void* native) override {
        return std::make_unique<CudaStream>(device_, static_cast<cudaStream_t>(native), false);
    }
    std::unique_ptr<Event> create_event(bool timing) override { return std::make_unique<CudaEvent>(device_, timing); }

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
