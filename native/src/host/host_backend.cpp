// host_backend.cpp: the backend used where there is no GPU.
//
// As strict as CUDA (docs/ENGINE.md, "the strict host backend"): "device memory" is a DeviceArena
// (device_arena.hpp) whose device addresses fault when host code touches them; copies, fills and
// host kernels reach it through the arena's view. It is capped by the runtime's budget (Device's
// ledger). Pinned host buffers are page-aligned host memory, remembered as pinned (is_pinned), so
// that a copy from or into any other host memory is made to wait and counted, as on cuda. Freeing
// either waits for every stream of the backend first, as cudaFree and cudaFreeHost synchronize the
// device. Streams and events are in host_stream.cpp. The default
// budget is half of the memory available now, since the emulated device shares RAM with the host
// copy of the weights.
#include "host/host_backend.hpp"

#include <unistd.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "error.hpp"
#include "host/device_arena.hpp"
#include "host/host_stream.hpp"
#include "memory/pinned_registry.hpp"
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
    explicit HostBackend(int index) : index_(index) {}
    int kind() const noexcept override { return OFL_BACKEND_HOST; }
    int device_index() const noexcept override { return index_; }
    std::string name() const override {
        return concat(index_ == 0 ? "host" : concat("host:", index_), " (emulated device, ", std::thread::hardware_concurrency(),
                      " CPU threads)");
    }
    MemoryInfo memory() override {
        MemoryInfo info;
        info.total_bytes = static_cast<std::uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
        info.free_bytes = available_host_memory();
        return info;
    }
    std::uint64_t default_budget() override { return memory().free_bytes / 2; }

    void reserve_device(std::uint64_t budget, const ViewableRanges& ranges) override {
        arena_ = std::make_unique<DeviceArena>(budget, ranges);
    }

    void* host_alloc(std::size_t bytes) override {
        void* p = page_aligned(bytes, OFL_ERR_OUT_OF_HOST_MEMORY, "pinned host memory");
        try {
            pinned::add(p, bytes);  // process-wide: another emulated device's engine may stream from it
        } catch (...) {
            std::free(p);
            throw;
        }
        return p;
    }
    void host_free(void* p) noexcept override {
        streams_.synchronize_all();
        pinned::remove(p);
        std::free(p);
    }
    void* device_alloc(std::size_t bytes) override { return arena().allocate(bytes); }
    void device_free(void* p) noexcept override {
        streams_.synchronize_all();
        arena_->free(p);
    }
    void synchronize_device() override { streams_.synchronize_all(); }

    std::unique_ptr<Stream> create_stream(int) override { return std::make_unique<HostStream>(streams_, arena()); }
    std::unique_ptr<Stream> wrap_stream(void*) override {
        fail(OFL_ERR_NOT_SUPPORTED, "wrapping a CUDA stream needs the cuda backend; this runtime is on host");
    }
    std::unique_ptr<Event> create_event(bool timing) override { return std::make_unique<HostEvent>(timing); }
    // Caller memory (a mapped shared region) is pinned once registered: it joins the process-wide
    // pinned table, so copies from it count as pinned. Unregistering waits for queued work, which may
    // still read it, before the caller unmaps it (as host_free does before freeing).
    void host_register(void* p, std::size_t bytes) override { pinned::add(p, bytes); }
    void host_unregister(void* p) noexcept override {
        streams_.synchronize_all();
        pinned::remove(p);
    }
    // Pinned host memory of any runtime of the process (memory/pinned_registry.hpp): host_alloc's
    // buffers and registered ranges. ofl_copy_async makes a copy from anything else wait and counts it.
    bool is_pinned(const void* p, std::size_t bytes) override { return pinned::contains(p, bytes); }
    bool copies_with_cpu() const noexcept override { return true; }

private:
    DeviceArena& arena() {
        OFL_EXPECT(arena_ != nullptr, OFL_ERR_INTERNAL, "the host backend's device arena is not reserved (Device opens it)");
        return *arena_;
    }

    int index_;
    std::unique_ptr<DeviceArena> arena_;  // declared before streams_: streams go first, the arena after them
    HostStreamRegistry streams_;
};

}  // namespace

std::unique_ptr<Backend> make_host_backend(int index) { return std::make_unique<HostBackend>(index); }

}  // namespace ofl
