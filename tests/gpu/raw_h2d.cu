// raw_h2d: the host-to-device bandwidth a bare cudaMemcpyAsync reaches on this machine, the yardstick
// for the runtime's own figure (`offload info`'s h2d_pinned_gbps must reach 0.95 of it; docs/GPU.md).
//
// Design notes:
// - Same method as the runtime's CopyBandwidth, minus the runtime: one source buffer from
//   cudaHostAlloc (pinned) or malloc (pageable), one cudaMalloc destination, a dedicated non-blocking
//   stream; one warm-up copy, then REPEATS copies, each between two events on that stream; the
//   median is reported. GB/s = 10^9 bytes/s, as everywhere in this project.
// - The source is filled with a pattern and a few bytes of the destination are read back after
//   timing, so a copy that silently did nothing cannot pass as fast.
// - Every CUDA call is checked; a failure prints {"error": ...} and exits 1.
// - Output: one JSON object per line: {"memory":"pinned|pageable","bytes":N,"repeats":R,"gbps":G}.
//
// Usage: raw_h2d [BYTES...] (default 64 MiB and 256 MiB). Built on the GPU machine by tests/gpu/run.sh:
//   nvcc -O2 -o /tmp/raw_h2d tests/gpu/raw_h2d.cu
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

constexpr int kRepeats = 10;

void check(cudaError_t status, const char* call, int line) {
    if (status != cudaSuccess) {
        std::printf("{\"error\":\"%s failed at line %d: %s (%s)\"}\n", call, line, cudaGetErrorName(status),
                    cudaGetErrorString(status));
        std::exit(1);
    }
}
#define CHECK(call) check((call), #call, __LINE__)

// Median GB/s of kRepeats copies of `bytes` from `src` to `dst` on `stream`.
double median_gbps(void* dst, const void* src, size_t bytes, cudaStream_t stream) {
    std::vector<cudaEvent_t> events(kRepeats + 1);
    for (auto& e : events) CHECK(cudaEventCreate(&e));
    CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));  // warm-up
    CHECK(cudaEventRecord(events[0], stream));
    for (int i = 0; i < kRepeats; ++i) {
        CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
        CHECK(cudaEventRecord(events[i + 1], stream));
    }
    CHECK(cudaStreamSynchronize(stream));
    std::vector<double> gbps;
    for (int i = 0; i < kRepeats; ++i) {
        float ms = 0;
        CHECK(cudaEventElapsedTime(&ms, events[i], events[i + 1]));
        gbps.push_back(static_cast<double>(bytes) / (ms * 1e-3) / 1e9);
    }
    for (auto& e : events) CHECK(cudaEventDestroy(e));
    std::sort(gbps.begin(), gbps.end());
    return (gbps[kRepeats / 2 - 1] + gbps[kRepeats / 2]) / 2;  // kRepeats is even
}

// Reads back a few bytes spread over the destination and compares them with the source.
bool spot_check(const void* dst, const unsigned char* src, size_t bytes) {
    for (size_t k = 0; k < 16; ++k) {
        size_t at = (bytes - 1) / 15 * k;
        unsigned char got = 0;
        CHECK(cudaMemcpy(&got, static_cast<const unsigned char*>(dst) + at, 1, cudaMemcpyDeviceToHost));
        if (got != src[at]) return false;
    }
    return true;
}

void measure(size_t bytes, bool pinned, cudaStream_t stream) {
    unsigned char* src = nullptr;
    if (pinned) {
        CHECK(cudaHostAlloc(reinterpret_cast<void**>(&src), bytes, cudaHostAllocDefault));
    } else {
        src = static_cast<unsigned char*>(std::malloc(bytes));
        if (src == nullptr) {
            std::printf("{\"error\":\"malloc of %zu bytes failed\"}\n", bytes);
            std::exit(1);
        }
    }
    for (size_t i = 0; i < bytes; ++i) src[i] = static_cast<unsigned char>(i * 131 + 7);
    void* dst = nullptr;
    CHECK(cudaMalloc(&dst, bytes));
    double gbps = median_gbps(dst, src, bytes, stream);
    bool ok = spot_check(dst, src, bytes);
    std::printf("{\"memory\":\"%s\",\"bytes\":%zu,\"repeats\":%d,\"gbps\":%.3f,\"verified\":%s}\n",
                pinned ? "pinned" : "pageable", bytes, kRepeats, gbps, ok ? "true" : "false");
    std::fflush(stdout);
    CHECK(cudaFree(dst));
    if (pinned) CHECK(cudaFreeHost(src));
    else std::free(src);
    if (!ok) std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<size_t> sizes;
    for (int i = 1; i < argc; ++i) sizes.push_back(std::strtoull(argv[i], nullptr, 10));
    if (sizes.empty()) sizes = {64ull << 20, 256ull << 20};
    CHECK(cudaSetDevice(0));
    cudaStream_t stream;
    CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    for (size_t bytes : sizes) {
        if (bytes == 0) continue;
        measure(bytes, true, stream);
        measure(bytes, false, stream);
    }
    CHECK(cudaStreamDestroy(stream));
    return 0;
}
