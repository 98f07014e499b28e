// host_backend.cpp: the backend used where there is no GPU.
//
// "Device memory" is ordinary page-aligned host memory, kept apart from the caller's host buffers
// and capped by the runtime's budget (Device's ledger). Pinned host buffers are page-aligned host
// memory too. Freeing either waits for every stream of the backend first, as cudaFree and
// cudaFreeHost synchronize the device. Streams and events are in host_stream.cpp. The default
// budget is half of the memory available now, since the emulated device shares RAM with the host
// copy of the weights.
#include "host/host_backend.hpp"

#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>

#include "error.hpp"
#include "host/host_stream.hpp"
#include "meminfo.hpp"

namespace ofl {
namespace {

constexpr std::size_t kPage = 4096;

void* page_aligned(std::size_t bytes, ofl_status on_failure, const char* what) {
    void* p = nullptr;
    std::size_t rounded = (bytes + kPage - 1) / kPage * kPage;
    if (posix_memalign(&p, kPage, rounded) != 0 || p == nullptr)
        fail(on_failure, "allocating ", bytes, " bytes of ", what, " failed");
    return p;
}

class HostBackend final : public Backend {
public:
    int kind() const noexcept override { return OFL_BACKEND_HOST; }
    int device_index() const noexcept override { return 0; }
    std::string name() const override {
        return concat("host (emulated device, ", std::thread::hardware_concurrency(), " CPU threads)");
    }
    MemoryInfo memory() override {
        MemoryInfo info;
        info.total_bytes = static_cast<std::uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
        info.free_bytes = available_host_memory();
        return info;
    }
    std::uint64_t default_budget() override { return memory().free_bytes / 2; }

    void* host_alloc(std::size_t bytes) override { return page_aligned(bytes, OFL_ERR_OUT_OF_HOST_MEMORY, "pinned host memory"); }
    void host_free(void* p) noexcept override {
        streams_.synchronize_all();
        std::free(p);
    }
    void* device_alloc(std::size_t bytes) override {
        return page_aligned(bytes, OFL_ERR_OUT_OF_DEVICE_MEMORY, "emulated device memory");
    }
    void device_free(void* p) noexcept override {
        streams_.synchronize_all();
        std::free(p);
    }
    void synchronize_device() override { streams_.synchronize_all(); }

    std::unique_ptr<Stream> create_stream(int) override { return std::make_unique<HostStream>(streams_); }
    std::unique_ptr<Stream> wrap_stream(void*) override {
        fail(OFL_ERR_NOT_SUPPORTED, "wrapping a CUDA stream needs the cuda backend; this runtime is on host");
    }
    std::unique_ptr<Event> create_event(bool timing) override { return std::make_unique<HostEvent>(timing); }
    // Copies are memcpy on a stream worker: no host memory makes the caller wait.
    bool is_pinned(const void*, std::size_t) override { return true; }
    bool copies_with_cpu() const noexcept override { return true; }

private:
    HostStreamRegistry streams_;
};

}  // namespace

std::unique_ptr<Backend> make_host_backend() { return std::make_unique<HostBackend>(); }

}  // namespace ofl
