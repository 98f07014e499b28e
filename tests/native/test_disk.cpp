// The disk source on the host backend: groups made of random extents of random files, streamed
// through a two-slot staging ring for many steps, arrive on the device bit for bit as the files
// hold them (gaps zero), under slow compute and deep prefetch; resident groups are read once; the
// reader's figures count what was read; a file truncated while streaming is an OFL_ERR_IO naming
// it at a later engine call, and the engine still destroys; bad sources get clear errors.
// Compute is a host kernel on the compute stream that copies each acquired slot out through its
// device view, as a user's kernel would read it.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "check.hpp"

namespace {

struct TempFiles {
    std::vector<std::string> paths;
    std::vector<std::vector<unsigned char>> bytes;
    TempFiles(std::size_t count, std::size_t size, std::mt19937_64& rng) {
        for (std::size_t f = 0; f < count; ++f) {
            char name[] = "/tmp/ofl_disk_XXXXXX";
            int fd = mkstemp(name);
            CHECK(fd >= 0);
            std::vector<unsigned char> data(size);
            for (auto& b : data) b = static_cast<unsigned char>(rng());
            CHECK(write(fd, data.data(), size) == static_cast<ssize_t>(size));
            close(fd);
            paths.emplace_back(name);
            bytes.push_back(std::move(data));
        }
    }
    ~TempFiles() {
        for (auto& p : paths) unlink(p.c_str());
    }
};

struct Layout {
    std::vector<ofl_group_desc> groups;
    std::vector<ofl_disk_extent> extents;
    std::vector<std::vector<unsigned char>> expected;  // each group's packed bytes
};

// Groups of 1..4 extents each, packed on 256-byte boundaries (gaps zero), from random places.
Layout make_layout(const TempFiles& files, std::uint32_t count, const std::vector<std::uint32_t>& resident, std::mt19937_64& rng,
                   std::uint64_t max_piece = 40000) {
    Layout l;
    for (std::uint32_t g = 0; g < count; ++g) {
        std::uint64_t at = 0;
        std::vector<unsigned char> packed;
        const int pieces = 1 + static_cast<int>(rng() % 4);
        for (int i = 0; i < pieces; ++i) {
            const auto f = static_cast<std::uint32_t>(rng() % files.paths.size());
            const std::uint64_t bytes = 1 + rng() % max_piece;
            const std::uint64_t offset = rng() % (files.bytes[f].size() - bytes);
            l.extents.push_back({g, f, offset, bytes, at});
            packed.resize(at + bytes);
            std::memcpy(packed.data() + at, files.bytes[f].data() + offset, bytes);
            at = (at + bytes + 255) / 256 * 256;
        }
        packed.resize(at, 0);
        l.groups.push_back({nullptr, at, resident[g], 0});
        l.expected.push_back(std::move(packed));
    }
    std::shuffle(l.extents.begin(), l.extents.end(), rng);  // the engine sorts them
    return l;
}

// As a safetensors file lays out a block: each group is 1..60 tensors of 1..6000 bytes that follow
// each other in one file (a few bytes of gap at most), packed on 256-byte boundaries.
Layout make_contiguous_layout(const TempFiles& files, std::uint32_t count, const std::vector<std::uint32_t>& resident,
                              std::mt19937_64& rng) {
    Layout l;
    std::uint64_t offset = 0;
    for (std::uint32_t g = 0; g < count; ++g) {
        std::uint64_t at = 0;
        std::vector<unsigned char> packed;
        const int pieces = 1 + static_cast<int>(rng() % 60);
        for (int i = 0; i < pieces; ++i) {
            const std::uint64_t bytes = 1 + rng() % 6000;
            offset += rng() % 16;
            if (offset + bytes > files.bytes[0].size()) offset = 0;
            l.extents.push_back({g, 0, offset, bytes, at});
            packed.resize(at + bytes);
            std::memcpy(packed.data() + at, files.bytes[0].data() + offset, bytes);
            offset += bytes;
            at = (at + bytes + 255) / 256 * 256;
        }
        packed.resize(at, 0);
        l.groups.push_back({nullptr, at, resident[g], 0});
        l.expected.push_back(std::move(packed));
    }
    std::shuffle(l.extents.begin(), l.extents.end(), rng);
    return l;
}

struct CopyOut {
    const void* src;
    void* dst;
    std::uint64_t bytes;
};

void copy_out(void* p) {
    auto* c = static_cast<CopyOut*>(p);
    void* view = nullptr;
    if (ofl_device_view(c->src, c->bytes, &view) != OFL_OK) return;  // the output stays 0xEE: the check fails
    std::memcpy(c->dst, view, c->bytes);
}

void hold(void*) { usleep(300); }

struct Env {
    ofl_runtime* rt = nullptr;
    ofl_stream* compute = nullptr;
    ofl_stream* copy = nullptr;
    Env() {
        CHECK_OK(ofl_runtime_open("host", 256u << 20, &rt));
        CHECK_OK(ofl_stream_create(rt, OFL_STREAM_COMPUTE, &compute));
        CHECK_OK(ofl_stream_create(rt, OFL_STREAM_COPY, &copy));
    }
    ~Env() {
        ofl_stream_destroy(compute);
        ofl_stream_destroy(copy);
        ofl_runtime_destroy(rt);
    }
};

ofl_disk_source source_of(const std::vector<const char*>& paths, const Layout& l, std::uint64_t staging) {
    ofl_disk_source s{};
    s.struct_size = sizeof s;
    s.file_count = static_cast<std::uint32_t>(paths.size());
    s.paths = paths.data();
    s.extents = l.extents.data();
    s.extent_count = l.extents.size();
    s.staging_bytes = staging;
    return s;
}

std::uint64_t two_slots(const Layout& l) {
    std::uint64_t largest = 0;
    for (const auto& g : l.groups) {
        if (!g.resident) largest = std::max<std::uint64_t>(largest, g.bytes);
    }
    return 2 * ((largest + 4095) / 4096 * 4096);
}

// How bit_exact reads: the low-memory source (OFL_DISK_FROM_HOST: the same groups from ordinary
// host memory), the OFL_DISK_IO_* flags, reader threads, and groups of several 4 MiB read units.
struct Reading {
    bool from_host = false;
    std::uint32_t io = 0;
    std::uint32_t threads = 0;
    bool large = false;
    std::uint64_t staging = UINT64_MAX;  // UINT64_MAX: two_slots(l), smaller than a large group
    bool contiguous = false;             // make_contiguous_layout
};

bool direct_io_works(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_DIRECT);
    if (fd < 0) return false;
    close(fd);
    return true;
}

void bit_exact(std::uint32_t slots, std::uint32_t depth, std::uint32_t ahead, bool slow, bool advance, Reading how = {}) {
    const bool from_host = how.from_host;
    std::mt19937_64 rng(1234 + slots * 7 + depth + (slow ? 100 : 0) + how.io + how.threads);
    TempFiles files(3, how.large ? 12u << 20 : 1u << 20, rng);
    std::vector<const char*> paths;
    for (auto& p : files.paths) paths.push_back(p.c_str());
    const std::uint32_t count = how.large ? 10 : 24;
    std::vector<std::uint32_t> resident(count, 0);
    resident[0] = resident[7] = resident[count - 1] = 1;
    Layout l = how.contiguous ? make_contiguous_layout(files, count, resident, rng)
                              : make_layout(files, count, resident, rng, how.large ? 6u << 20 : 40000);
    Env env;
    const std::uint64_t staging = how.staging == UINT64_MAX ? two_slots(l) : how.staging;
    ofl_disk_source src = source_of(paths, l, staging);
    src.flags = how.io;
    src.reader_threads = how.threads;
    std::vector<ofl_group_desc> groups = l.groups;
    if (from_host) {
        src = source_of({}, Layout{}, staging);
        src.flags = OFL_DISK_FROM_HOST;
        src.reader_threads = how.threads;
        for (std::uint32_t g = 0; g < count; ++g) groups[g].host_address = l.expected[g].data();
    }
    ofl_engine_config config{sizeof(ofl_engine_config), slots, depth, OFL_TIMING_GROUP, ahead, 0};
    ofl_engine* engine = nullptr;
    CHECK_OK(ofl_engine_create_from_disk(env.rt, groups.data(), count, &src, &config, env.compute, env.copy, &engine));
    if (!engine) return;
    const int steps = 6;
    std::vector<std::vector<unsigned char>> out(steps * count);
    std::vector<CopyOut> args(steps * count);
    for (int s = 0; s < steps; ++s) {
        void* address = nullptr;
        for (std::uint32_t g = 0; g < count; ++g) {
            if (g == 0 || !advance) CHECK_OK(ofl_engine_acquire(engine, g, &address));
            auto& o = out[s * count + g];
            o.assign(l.groups[g].bytes, 0xEE);
            args[s * count + g] = {address, o.data(), l.groups[g].bytes};
            if (slow) CHECK_OK(ofl_stream_launch_host_func(env.compute, hold, nullptr));
            CHECK_OK(ofl_stream_launch_host_kernel(env.compute, copy_out, &args[s * count + g]));
            if (advance && g + 1 < count) CHECK_OK(ofl_engine_advance(engine, g, &address));
            else CHECK_OK(ofl_engine_release(engine, g));
        }
    }
    CHECK_OK(ofl_stream_synchronize(env.compute));
    int wrong = 0;
    for (int s = 0; s < steps; ++s) {
        for (std::uint32_t g = 0; g < count; ++g) wrong += out[s * count + g] != l.expected[g];
    }
    CHECK(wrong == 0);
    ofl_step_metrics m{};
    m.struct_size = sizeof m;
    CHECK_OK(ofl_engine_step_metrics(engine, steps - 1, 1, &m));
    ofl_disk_stats st{};
    st.struct_size = sizeof st;
    CHECK_OK(ofl_engine_disk_stats(engine, &st));
    std::uint64_t resident_bytes = 0, streamed_bytes = 0;
    if (from_host) {
        for (std::uint32_t g = 0; g < count; ++g) (resident[g] ? resident_bytes : streamed_bytes) += l.groups[g].bytes;
    } else {
        for (const auto& e : l.extents) (resident[e.group] ? resident_bytes : streamed_bytes) += e.bytes;
    }
    const std::uint64_t asked = how.staging == UINT64_MAX ? two_slots(l) : how.staging;
    CHECK(st.staging_bytes == std::uint64_t{st.staging_slots} * st.staging_unit_bytes);
    CHECK(st.staging_unit_bytes % 4096 == 0 && st.staging_slots >= 2);
    if (asked == 0) {  // the default: 8 units of 1 MiB on the host backend, at most half a step's streamed bytes
        std::uint64_t streamed_pages = 0;
        for (std::uint32_t g = 0; g < count; ++g) {
            if (!resident[g]) streamed_pages += (l.groups[g].bytes + 4095) / 4096 * 4096;
        }
        const std::uint64_t ring = std::min<std::uint64_t>(8u << 20, std::max<std::uint64_t>((streamed_pages / 2 + 4095) / 4096 * 4096, 8192));
        CHECK(st.staging_bytes <= ring && st.staging_bytes + st.staging_unit_bytes > ring);
        CHECK(ring < (8u << 20) || (st.staging_slots == 8 && st.staging_unit_bytes == (1u << 20)));
    } else {
        CHECK(st.staging_bytes <= asked && st.staging_bytes + st.staging_unit_bytes > asked);
    }
    const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
    CHECK(st.reader_threads == (how.threads ? how.threads : std::clamp(hardware / 4, 1u, 4u)));  // the default: one per four
    if (from_host) {
        CHECK(st.io_mode == 0);
    } else if (how.io == OFL_DISK_IO_DIRECT) {
        CHECK(st.io_mode == (direct_io_works(files.paths[0]) ? OFL_DISK_IO_DIRECT : OFL_DISK_IO_BUFFERED));
    } else if (how.io == OFL_DISK_IO_PROBE && direct_io_works(files.paths[0])) {  // both timed, the faster kept
        CHECK(st.probe_direct_gbps > 0 && st.probe_buffered_gbps > 0);
        CHECK(st.io_mode == (st.probe_direct_gbps > st.probe_buffered_gbps ? OFL_DISK_IO_DIRECT : OFL_DISK_IO_BUFFERED));
    } else {  // small files fit the page cache: buffered, no probe
        CHECK(st.io_mode == OFL_DISK_IO_BUFFERED);
        CHECK(how.io != 0 || (st.probe_direct_gbps == 0 && st.probe_buffered_gbps == 0));
    }
    // Every step's streamed groups were read; prefetch may have read into a step never run.
    CHECK(st.bytes_read >= resident_bytes + steps * streamed_bytes);
    CHECK(st.bytes_read <= resident_bytes + (steps + 1) * streamed_bytes);
    CHECK(st.groups_read >= 3 + steps * (count - 3));
    if (!from_host && how.io == OFL_DISK_IO_BUFFERED) CHECK(st.read_calls >= l.extents.size());  // one pread per extent at least
    if (how.contiguous && how.io == OFL_DISK_IO_DIRECT && direct_io_works(files.paths[0])) {
        // File-adjacent extents share a direct read: about one per unit, not one per extent.
        std::uint64_t units = 0;
        for (const auto& g : l.groups) units += (g.bytes + st.staging_unit_bytes - 1) / st.staging_unit_bytes;
        CHECK(st.read_calls <= 2 * (steps + 1) * units);
        if (st.staging_unit_bytes >= (64u << 10)) CHECK(st.read_calls * 8 < (steps + 1) * l.extents.size());
    }
    CHECK(st.read_ms > 0);
    CHECK(m.peak_host_bytes >= st.staging_bytes);
    CHECK_OK(ofl_engine_destroy(engine));
}

void truncated_while_streaming(std::uint32_t io) {
    std::mt19937_64 rng(99 + io);
    TempFiles files(2, 1 << 20, rng);
    std::vector<const char*> paths;
    for (auto& p : files.paths) paths.push_back(p.c_str());
    const std::uint32_t count = 16;
    std::vector<std::uint32_t> resident(count, 0);
    Layout l = make_layout(files, count, resident, rng);
    Env env;
    ofl_disk_source src = source_of(paths, l, two_slots(l));
    src.flags = io;
    ofl_engine_config config{sizeof(ofl_engine_config), 3, 1, OFL_TIMING_STEP, 1, 0};
    ofl_engine* engine = nullptr;
    CHECK_OK(ofl_engine_create_from_disk(env.rt, l.groups.data(), count, &src, &config, env.compute, env.copy, &engine));
    if (!engine) return;
    void* address = nullptr;
    for (std::uint32_t g = 0; g < count; ++g) {  // one good step
        CHECK_OK(ofl_engine_acquire(engine, g, &address));
        CHECK_OK(ofl_engine_release(engine, g));
    }
    CHECK_OK(ofl_stream_synchronize(env.compute));
    CHECK(truncate(files.paths[1].c_str(), 1000) == 0);
    CHECK(truncate(files.paths[0].c_str(), 1000) == 0);
    ofl_status failed = OFL_OK;
    std::string message;
    for (int s = 0; s < 4 && failed == OFL_OK; ++s) {
        for (std::uint32_t g = 0; g < count && failed == OFL_OK; ++g) {
            failed = ofl_engine_acquire(engine, g, &address);
            if (failed == OFL_OK) failed = ofl_engine_release(engine, g);
            if (failed == OFL_OK && g + 1 == count) CHECK_OK(ofl_stream_synchronize(env.compute));
        }
    }
    if (failed != OFL_OK) message = ofl_last_error();
    CHECK(failed == OFL_ERR_IO);
    CHECK(message.find(files.paths[0]) != std::string::npos || message.find(files.paths[1]) != std::string::npos);
    CHECK(message.find("truncated") != std::string::npos);
    CHECK(message.find("group ") != std::string::npos);
    // Sticky: the next call says it again; destroying never hangs.
    CHECK_STATUS(ofl_engine_acquire(engine, 0, &address), OFL_ERR_IO);
    CHECK_OK(ofl_engine_destroy(engine));
}

// A streamed extent that lies past the end of its file (a file cut after the checkpoint was opened,
// before the engine was made): creation fails, buffered or direct, with an IO error naming the file
// and where it ends, rather than a step later. (A file cut after creation fails at the read: the
// truncation tests.)
void extent_past_the_end(std::uint32_t io) {
    std::mt19937_64 rng(31 + io);
    TempFiles files(1, 64u << 10, rng);
    std::vector<const char*> paths{files.paths[0].c_str()};
    std::vector<std::uint32_t> resident(4, 0);
    Layout l = make_layout(files, 4, resident, rng, 2000);
    l.extents.push_back({2, 0, (64u << 10) - 100, 300, l.groups[2].bytes});  // 200 bytes past the end
    l.groups[2].bytes += 512;
    Env env;
    ofl_disk_source src = source_of(paths, l, 0);
    src.flags = io;
    ofl_engine_config config{sizeof(ofl_engine_config), 2, 1, OFL_TIMING_OFF, 0, 0};
    ofl_engine* engine = nullptr;
    CHECK_STATUS(ofl_engine_create_from_disk(env.rt, l.groups.data(), 4, &src, &config, env.compute, env.copy, &engine), OFL_ERR_IO);
    CHECK(engine == nullptr);
    CHECK(std::strstr(ofl_last_error(), "ends at byte 65536") != nullptr);
    CHECK(std::strstr(ofl_last_error(), "group 2 reads bytes 65436 to 65736") != nullptr);
    CHECK(std::strstr(ofl_last_error(), files.paths[0].c_str()) != nullptr);
    if (engine) CHECK_OK(ofl_engine_destroy(engine));
}

// A file rewritten in place with the same size: caught by its modification time, not its length.
void rewritten_in_place() {
    std::mt19937_64 rng(5);
    TempFiles files(1, 1 << 20, rng);
    std::vector<const char*> paths{files.paths[0].c_str()};
    const std::uint32_t count = 8;
    std::vector<std::uint32_t> resident(count, 0);
    Layout l = make_layout(files, count, resident, rng);
    Env env;
    ofl_disk_source src = source_of(paths, l, 0);
    ofl_engine_config config{sizeof(ofl_engine_config), 2, 1, OFL_TIMING_OFF, 0, 0};
    ofl_engine* engine = nullptr;
    CHECK_OK(ofl_engine_create_from_disk(env.rt, l.groups.data(), count, &src, &config, env.compute, env.copy, &engine));
    if (!engine) return;
    usleep(20000);  // a later modification time than the file's creation, whatever the clock's tick
    FILE* f = std::fopen(files.paths[0].c_str(), "r+b");
    CHECK(f != nullptr);
    std::vector<unsigned char> other(1 << 20, 0x5A);
    CHECK(std::fwrite(other.data(), 1, other.size(), f) == other.size());
    std::fclose(f);
    ofl_status failed = OFL_OK;
    void* address = nullptr;
    for (int s = 0; s < 3 && failed == OFL_OK; ++s) {
        for (std::uint32_t g = 0; g < count && failed == OFL_OK; ++g) {
            failed = ofl_engine_acquire(engine, g, &address);
            if (failed == OFL_OK) failed = ofl_engine_release(engine, g);
        }
        CHECK_OK(ofl_stream_synchronize(env.compute));
    }
    CHECK(failed == OFL_ERR_IO);
    CHECK(std::strstr(ofl_last_error(), "modification time changed") != nullptr);
    CHECK(std::strstr(ofl_last_error(), files.paths[0].c_str()) != nullptr);
    CHECK_OK(ofl_engine_destroy(engine));
}

void bad_sources() {
    std::mt19937_64 rng(7);
    TempFiles files(1, 1 << 16, rng);
    std::vector<const char*> paths{files.paths[0].c_str()};
    std::vector<std::uint32_t> resident{0, 0, 1};
    Layout l = make_layout(files, 3, resident, rng);
    Env env;
    ofl_engine_config config{sizeof(ofl_engine_config), 2, 1, OFL_TIMING_OFF, 1, 0};
    ofl_engine* engine = nullptr;
    ofl_disk_source tiny = source_of(paths, l, 8191);  // no room for two 4 KiB units
    CHECK_STATUS(ofl_engine_create_from_disk(env.rt, l.groups.data(), 3, &tiny, &config, env.compute, env.copy, &engine),
                 OFL_ERR_INVALID_ARGUMENT);
    CHECK(std::strstr(ofl_last_error(), "staging") != nullptr);
    ofl_disk_source two_ways = source_of(paths, l, 0);  // at most one OFL_DISK_IO_* flag
    two_ways.flags = OFL_DISK_IO_DIRECT | OFL_DISK_IO_BUFFERED;
    CHECK_STATUS(ofl_engine_create_from_disk(env.rt, l.groups.data(), 3, &two_ways, &config, env.compute, env.copy, &engine),
                 OFL_ERR_INVALID_ARGUMENT);
    CHECK(std::strstr(ofl_last_error(), "at most one") != nullptr);
    ofl_disk_source crowd = source_of(paths, l, 0);
    crowd.reader_threads = 65;
    CHECK_STATUS(ofl_engine_create_from_disk(env.rt, l.groups.data(), 3, &crowd, &config, env.compute, env.copy, &engine),
                 OFL_ERR_INVALID_ARGUMENT);
    CHECK(std::strstr(ofl_last_error(), "reader_threads") != nullptr);
    std::vector<const char*> missing{"/nonexistent/ofl/weights.safetensors"};
    ofl_disk_source absent = source_of(missing, l, 0);
    CHECK_STATUS(ofl_engine_create_from_disk(env.rt, l.groups.data(), 3, &absent, &config, env.compute, env.copy, &engine),
                 OFL_ERR_IO);
    CHECK(std::strstr(ofl_last_error(), "/nonexistent/ofl/weights.safetensors") != nullptr);
    Layout overlap = l;
    overlap.extents.push_back({0, 0, 0, 8, 0});
    overlap.extents.push_back({0, 0, 0, 8, 4});
    ofl_disk_source bad = source_of(paths, overlap, 0);
    CHECK_STATUS(ofl_engine_create_from_disk(env.rt, l.groups.data(), 3, &bad, &config, env.compute, env.copy, &engine),
                 OFL_ERR_INVALID_ARGUMENT);
    // A resident group whose file is too short fails at creation, naming the file.
    CHECK(truncate(files.paths[0].c_str(), 10) == 0);
    ofl_disk_source shrunk = source_of(paths, l, 0);
    CHECK_STATUS(ofl_engine_create_from_disk(env.rt, l.groups.data(), 3, &shrunk, &config, env.compute, env.copy, &engine),
                 OFL_ERR_IO);
    CHECK(std::strstr(ofl_last_error(), files.paths[0].c_str()) != nullptr);
    CHECK(engine == nullptr);
    // The low-memory source takes no files, and needs every group's host address.
    ofl_disk_source both = source_of(paths, l, 0);
    both.flags = OFL_DISK_FROM_HOST;
    std::vector<std::vector<unsigned char>> bytes;
    Layout hosted = l;
    for (auto& g : hosted.groups) {
        bytes.emplace_back(g.bytes);
        g.host_address = bytes.back().data();
    }
    CHECK_STATUS(ofl_engine_create_from_disk(env.rt, hosted.groups.data(), 3, &both, &config, env.compute, env.copy, &engine),
                 OFL_ERR_INVALID_ARGUMENT);
    ofl_disk_source direct_memory = source_of({}, Layout{}, 0);  // memory is not read with O_DIRECT
    direct_memory.flags = OFL_DISK_FROM_HOST | OFL_DISK_IO_DIRECT;
    CHECK_STATUS(ofl_engine_create_from_disk(env.rt, hosted.groups.data(), 3, &direct_memory, &config, env.compute, env.copy,
                                             &engine),
                 OFL_ERR_INVALID_ARGUMENT);
    CHECK(std::strstr(ofl_last_error(), "OFL_DISK_IO_") != nullptr);
    ofl_disk_source lowmem = source_of({}, Layout{}, 0);
    lowmem.flags = OFL_DISK_FROM_HOST;
    CHECK_STATUS(ofl_engine_create_from_disk(env.rt, l.groups.data(), 3, &lowmem, &config, env.compute, env.copy, &engine),
                 OFL_ERR_INVALID_ARGUMENT);
    CHECK(std::strstr(ofl_last_error(), "NULL host address") != nullptr);
    // Host addresses with a disk source are refused.
    std::vector<unsigned char> host(l.groups[0].bytes);
    Layout with_host = l;
    with_host.groups[0].host_address = host.data();
    ofl_disk_source ok = source_of(paths, l, 0);
    CHECK_STATUS(ofl_engine_create_from_disk(env.rt, with_host.groups.data(), 3, &ok, &config, env.compute, env.copy, &engine),
                 OFL_ERR_INVALID_ARGUMENT);
}

}  // namespace

int main() {
    bit_exact(2, 1, 1, false, false);
    bit_exact(4, 3, 2, true, true);   // deep prefetch, slow compute, host two steps ahead
    bit_exact(8, 7, 0, false, true);  // ring as large as a step's streamed groups
    bit_exact(2, 1, 1, false, false, Reading{true});  // the low-memory source
    bit_exact(4, 3, 2, true, true, Reading{true});
    bit_exact(2, 1, 1, false, false, Reading{false, OFL_DISK_IO_DIRECT});
    bit_exact(3, 2, 1, true, true, Reading{false, OFL_DISK_IO_PROBE});
    // Groups of many units (up to 24 MiB) through rings of 3 x 1 MiB, the default 8 x 1 MiB and
    // 2 x 16 KiB, read by several threads.
    bit_exact(2, 1, 1, false, false, Reading{false, 0, 3, true, 3u << 20});
    bit_exact(3, 2, 2, true, true, Reading{false, OFL_DISK_IO_DIRECT, 4, true, 0});
    bit_exact(2, 1, 1, false, true, Reading{false, OFL_DISK_IO_BUFFERED, 2, true, 32u << 10});
    bit_exact(2, 1, 1, true, false, Reading{true, 0, 3, true, 0});
    bit_exact(4, 3, 1, false, false, Reading{false, OFL_DISK_IO_DIRECT, 1, true, 40u << 10});
    // Safetensors-like groups: many small tensors in a row in the file, read direct and buffered.
    bit_exact(2, 1, 1, false, false, Reading{false, OFL_DISK_IO_DIRECT, 2, false, 0, true});
    bit_exact(3, 2, 1, true, true, Reading{false, OFL_DISK_IO_BUFFERED, 1, false, 0, true});
    bit_exact(2, 1, 1, false, false, Reading{false, OFL_DISK_IO_DIRECT, 1, false, 3 * 4096, true});
    truncated_while_streaming(0);
    truncated_while_streaming(OFL_DISK_IO_DIRECT);
    rewritten_in_place();
    extent_past_the_end(OFL_DISK_IO_BUFFERED);
    extent_past_the_end(OFL_DISK_IO_DIRECT);
    bad_sources();
    return finish("test_disk");
}
