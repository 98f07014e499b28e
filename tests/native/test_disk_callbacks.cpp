// The disk source never blocks a host function (issue 18). On cuda every host function of a
// context runs on one callback thread, so a host function that waited for a read (the old design
// queued one per staging unit on the copy stream) held back every other one, the user's included.
// Here a read is held in progress for as long as the test likes: the low-memory source
// (OFL_DISK_FROM_HOST) reads group 1 from pages that fault, and the fault handler returns only
// when the test opens the gate. Meanwhile a host function launched on the engine's copy stream
// (the host backend's stand-in for the callback thread that the read would hold) and one on the
// compute stream both run; then the gate opens and both groups arrive bit for bit.
#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "check.hpp"

namespace {

constexpr std::size_t kGated = 256 << 10;  // group 1's bytes, behind the gate
unsigned char* g_gated = nullptr;
std::atomic<bool> g_open{false};
std::atomic<int> g_faults{0};

void on_fault(int, siginfo_t* info, void*) {
    auto* at = static_cast<unsigned char*>(info->si_addr);
    if (at < g_gated || at >= g_gated + kGated) {
        signal(SIGSEGV, SIG_DFL);  // not ours: crash as usual
        return;
    }
    g_faults.fetch_add(1);
    while (!g_open.load()) {
        timespec ms{0, 1000000};
        nanosleep(&ms, nullptr);
    }
    mprotect(g_gated, kGated, PROT_READ | PROT_WRITE);
}

void set_flag(void* flag) { static_cast<std::atomic<bool>*>(flag)->store(true); }

bool wait_for(const std::atomic<bool>& flag, int ms) {
    for (int i = 0; i < ms && !flag.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return flag.load();
}

}  // namespace

int main() {
    g_gated = static_cast<unsigned char*>(mmap(nullptr, kGated, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    CHECK(g_gated != MAP_FAILED);
    std::vector<unsigned char> first(64 << 10);
    for (std::size_t i = 0; i < first.size(); ++i) first[i] = static_cast<unsigned char>(i * 13 + 1);
    for (std::size_t i = 0; i < kGated; ++i) g_gated[i] = static_cast<unsigned char>(i * 31 + 7);
    std::vector<unsigned char> expected(g_gated, g_gated + kGated);
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
    if (!engine) return finish("test_disk_callbacks");

    void* address = nullptr;
    CHECK_OK(ofl_engine_acquire(engine, 0, &address));  // queues group 0's copy; group 1's read starts (prefetch 1)
    std::atomic<bool> faulted{false};
    for (int i = 0; i < 5000 && g_faults.load() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    faulted = g_faults.load() > 0;
    CHECK(faulted.load());  // group 1's read is in progress, held at the gate

    std::atomic<bool> on_copy{false}, on_compute{false};
    CHECK_OK(ofl_stream_launch_host_func(copy, set_flag, &on_copy));
    CHECK_OK(ofl_stream_launch_host_func(compute, set_flag, &on_compute));
    CHECK(wait_for(on_compute, 3000));  // another stream's host function runs during the read
    CHECK(wait_for(on_copy, 3000));     // and so does one behind the engine's queued copies
    CHECK(!g_open.load() && g_faults.load() == 1);

    g_open = true;
    std::vector<unsigned char> out0(first.size()), out1(kGated);
    CHECK_OK(ofl_copy_async(compute, out0.data(), address, first.size(), OFL_COPY_DEVICE_TO_HOST));
    CHECK_OK(ofl_engine_advance(engine, 0, &address));
    CHECK_OK(ofl_copy_async(compute, out1.data(), address, kGated, OFL_COPY_DEVICE_TO_HOST));
    CHECK_OK(ofl_engine_release(engine, 1));
    CHECK_OK(ofl_stream_synchronize(compute));
    CHECK(std::memcmp(out0.data(), first.data(), first.size()) == 0);
    CHECK(std::memcmp(out1.data(), expected.data(), kGated) == 0);
    ofl_disk_stats stats{};
    stats.struct_size = sizeof stats;
    CHECK_OK(ofl_engine_disk_stats(engine, &stats));
    CHECK(stats.groups_read >= 2 && stats.bytes_read >= first.size() + kGated);
    CHECK_OK(ofl_engine_destroy(engine));
    CHECK_OK(ofl_stream_destroy(copy));
    CHECK_OK(ofl_stream_destroy(compute));
    CHECK_OK(ofl_runtime_destroy(rt));
    munmap(g_gated, kGated);
    return finish("test_disk_callbacks");
}
