// Retiring a disk engine never waits for a read (issue 18's review): a model-level turn retires the
// evicted component's engine under the offloader's lock, so retire only tells the reader threads to
// stop queueing (no copy into the region after its copy fence) and returns; the threads are joined
// when the engine is destroyed. Here group 1's read is held mid-way (the low-memory source reads it
// from pages whose fault handler waits for a gate, as in test_disk_callbacks), retire returns while
// it is held, and once the gate opens the destroy joins the reader, which queued nothing more.
#include <signal.h>
#include <sys/mman.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "check.hpp"

namespace {

constexpr std::size_t kGated = 256 << 10;
unsigned char* g_gated = nullptr;
std::atomic<bool> g_open{false};
std::atomic<int> g_faults{0};

void on_fault(int, siginfo_t* info, void*) {
    auto* at = static_cast<unsigned char*>(info->si_addr);
    if (at < g_gated || at >= g_gated + kGated) {
        signal(SIGSEGV, SIG_DFL);
        return;
    }
    g_faults.fetch_add(1);
    while (!g_open.load()) {
        timespec ms{0, 1000000};
        nanosleep(&ms, nullptr);
    }
    mprotect(g_gated, kGated, PROT_READ | PROT_WRITE);
}

}  // namespace

int main() {
    g_gated = static_cast<unsigned char*>(mmap(nullptr, kGated, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    CHECK(g_gated != MAP_FAILED);
    std::vector<unsigned char> first(64 << 10, 1);
    CHECK(mprotect(g_gated, kGated, PROT_NONE) == 0);
    struct sigaction sa {};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGSEGV, &sa, nullptr) == 0);

    ofl_runtime* rt = nullptr;
    CHECK_OK(ofl_runtime_open("host", 16 << 20, &rt));
    ofl_stream *compute = nullptr, *copy = nullptr;
    CHECK_OK(ofl_stream_create(rt, OFL_STREAM_COMPUTE, &compute));
    CHECK_OK(ofl_stream_create(rt, OFL_STREAM_COPY, &copy));
    ofl_group_desc groups[2] = {{first.data(), first.size(), 0, 0}, {g_gated, kGated, 0, 0}};
    ofl_disk_source source{};
    source.struct_size = sizeof source;
    source.flags = OFL_DISK_FROM_HOST;
    source.reader_threads = 1;
    ofl_engine_config config{sizeof(ofl_engine_config), 2, 1, OFL_TIMING_STEP, 1, 0};
    ofl_engine* engine = nullptr;
    CHECK_OK(ofl_engine_create_from_disk(rt, groups, 2, &source, &config, compute, copy, &engine));
    if (!engine) return finish("test_disk_retire");

    void* address = nullptr;
    CHECK_OK(ofl_engine_acquire(engine, 0, &address));  // group 1's read starts (prefetch 1) and is held
    for (int i = 0; i < 5000 && g_faults.load() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    CHECK(g_faults.load() == 1);
    CHECK_OK(ofl_engine_release(engine, 0));

    std::atomic<bool> retired{false};
    ofl_status status = -1;
    std::thread retire([&] {
        status = ofl_engine_retire(engine);
        retired = true;
    });
    for (int i = 0; i < 2000 && !retired.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    CHECK(retired.load());            // returned while the read is still held
    CHECK(!g_open.load() && g_faults.load() == 1);
    g_open = true;                    // lets the reader finish (and a retire that waited, so the test ends)
    retire.join();
    CHECK_OK(status);
    void* again = nullptr;
    CHECK_STATUS(ofl_engine_acquire(engine, 1, &again), OFL_ERR_CLOSED);  // retired: no stepping
    CHECK_OK(ofl_engine_destroy(engine));  // joins the reader
    CHECK_OK(ofl_stream_destroy(copy));
    CHECK_OK(ofl_stream_destroy(compute));
    CHECK_OK(ofl_runtime_destroy(rt));
    munmap(g_gated, kGated);
    return finish("test_disk_retire");
}
