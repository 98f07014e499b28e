#include "disk/disk_reader.hpp"
#include "disk/staging_ring.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "error.hpp"
#include "meminfo.hpp"

namespace ofl {
namespace {

constexpr std::uint64_t kPage = 4096;
constexpr std::uint64_t kMaxRead = 1ull << 30;      // one pread call at most (Linux caps near 2 GiB)
constexpr std::uint64_t kProbeBytes = 64ull << 20;  // the buffered/direct probe reads at most this much
constexpr std::uint32_t kMaxThreads = 64;

std::uint64_t page_up(std::uint64_t n) { return (n + kPage - 1) / kPage * kPage; }

std::uint64_t ns_since(std::chrono::steady_clock::time_point t0) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
}

int popcount(std::uint32_t v) {
    int n = 0;
    for (; v; v &= v - 1) ++n;
    return n;
}

}  // namespace

DiskReader::DiskReader(std::shared_ptr<Device> device, const ofl_disk_source& source, const std::vector<std::uint64_t>& group_bytes,
                       std::vector<std::uint32_t> streamed, std::vector<const unsigned char*> hosts, Stream& copy, DiskCopySink& sink,
                       std::vector<std::uint32_t> resident)
    : device_(std::move(device)), copy_(copy), sink_(sink), extents_(group_bytes.size()), group_bytes_(group_bytes),
      hosts_(std::move(hosts)), streamed_(std::move(streamed)), resident_(std::move(resident)) {
    constexpr std::uint32_t io_flags = OFL_DISK_IO_BUFFERED | OFL_DISK_IO_DIRECT | OFL_DISK_IO_PROBE;
    OFL_EXPECT((source.flags & ~(OFL_DISK_FROM_HOST | io_flags)) == 0 && popcount(source.flags & io_flags) <= 1,
               OFL_ERR_INVALID_ARGUMENT,
               "ofl_disk_source: flags must be OFL_DISK_FROM_HOST or at most one of OFL_DISK_IO_BUFFERED, _DIRECT and _PROBE, got ",
               source.flags);
    OFL_EXPECT(!(source.flags & OFL_DISK_FROM_HOST) || (source.flags & io_flags) == 0, OFL_ERR_INVALID_ARGUMENT,
               "ofl_disk_source: OFL_DISK_FROM_HOST reads memory, not files; it takes no OFL_DISK_IO_* flag (flags ", source.flags,
               ")");
    OFL_EXPECT(source.reader_threads <= kMaxThreads, OFL_ERR_INVALID_ARGUMENT, "ofl_disk_source: reader_threads is ",
               source.reader_threads, ", at most ", kMaxThreads);
    OFL_EXPECT(hosts_.empty() || (source.file_count == 0 && source.extent_count == 0), OFL_ERR_INVALID_ARGUMENT,
               "ofl_disk_source: OFL_DISK_FROM_HOST reads the groups' host memory; it takes no files or extents (got ",
               source.file_count, " files, ", source.extent_count, " extents)");
    OFL_EXPECT(source.file_count == 0 || source.paths != nullptr, OFL_ERR_INVALID_ARGUMENT, "ofl_disk_source: paths is NULL");
    OFL_EXPECT(source.extent_count == 0 || source.extents != nullptr, OFL_ERR_INVALID_ARGUMENT,
               "ofl_disk_source: extents is NULL");
    for (std::uint64_t i = 0; i < source.extent_count; ++i) {
        const ofl_disk_extent& e = source.extents[i];
        OFL_EXPECT(e.group < group_bytes_.size() && e.file < source.file_count, OFL_ERR_INVALID_ARGUMENT, "disk extent ", i,
                   ": group ", e.group, " of ", group_bytes_.size(), ", file ", e.file, " of ", source.file_count);
        OFL_EXPECT(e.bytes <= group_bytes_[e.group] && e.group_offset <= group_bytes_[e.group] - e.bytes &&
                       e.file_offset <= UINT64_MAX - e.bytes - kPage,
                   OFL_ERR_INVALID_ARGUMENT, "disk extent ", i, ": ", e.bytes, " bytes at offset ", e.group_offset,
                   " do not fit group ", e.group, " (", group_bytes_[e.group], " bytes)");
        if (e.bytes > 0) extents_[e.group].push_back(Extent{e.file, e.file_offset, e.bytes, e.group_offset});
    }
    for (std::size_t g = 0; g < extents_.size(); ++g) {
        auto& list = extents_[g];
        std::sort(list.begin(), list.end(), [](const Extent& a, const Extent& b) { return a.group_offset < b.group_offset; });
        for (std::size_t i = 1; i < list.size(); ++i) {
            OFL_EXPECT(list[i - 1].group_offset + list[i - 1].bytes <= list[i].group_offset, OFL_ERR_INVALID_ARGUMENT,
                       "disk extents of group ", g, " overlap at group offset ", list[i].group_offset);
        }
    }
    // The ring: staging_ring.hpp's rule (ofl_staging_ring reports it): units of 1 MiB (CPU copies) or
    // 8 MiB (DMA), by default 8, at most half of a step's streamed bytes; as given, at most a step's
    // streamed bytes; the largest group's bytes when nothing streams. A small ring shrinks the unit.
    unit_ = device_->backend().copies_with_cpu() ? kStagingCpuUnit : kStagingDmaUnit;  // named in the message below
    OFL_EXPECT(source.staging_bytes == 0 || source.staging_bytes >= 2 * kPage, OFL_ERR_INVALID_ARGUMENT, "a staging ring of ",
               source.staging_bytes, " bytes is too small: it needs at least two 4 KiB units (8192 bytes); the default is ",
               kStagingDefaultUnits, " units of ", unit_, " bytes");
    std::uint64_t needed = 0;
    for (std::uint32_t g : streamed_) needed += page_up(group_bytes_[g]);
    if (streamed_.empty()) {
        for (std::uint64_t b : group_bytes_) needed = std::max(needed, page_up(b));
    }
    const StagingRing ring = staging_ring(source.staging_bytes, device_->backend().copies_with_cpu(), needed);  // the one rule
    unit_ = ring.unit;
    units_ = ring.units;
    unit_prefix_.assign(streamed_.size() + 1, 0);
    for (std::size_t i = 0; i < streamed_.size(); ++i) unit_prefix_[i + 1] = unit_prefix_[i] + units_of_group(group_bytes_[streamed_[i]]);
    const std::uint32_t hardware = std::max(1u, std::thread::hardware_concurrency());
    threads_ = source.reader_threads ? source.reader_threads : std::clamp<std::uint32_t>(hardware / 4, 1, 4);
    unit_read_.assign(units_, UINT64_MAX);
    unit_of_.assign(units_, UnitOf{});
    tickets_.resize(units_);
    for (std::uint32_t f = 0; f < source.file_count; ++f) {
        OFL_EXPECT(source.paths[f] != nullptr, OFL_ERR_INVALID_ARGUMENT, "ofl_disk_source: path ", f, " is NULL");
        paths_.emplace_back(source.paths[f]);
    }
    try {
        for (const std::string& path : paths_) {
            int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) fail(OFL_ERR_IO, "disk source: cannot open '", path, "': ", std::strerror(errno));
            fds_.push_back(fd);
            struct stat st {};
            if (::fstat(fd, &st) != 0) fail(OFL_ERR_IO, "disk source: cannot stat '", path, "': ", std::strerror(errno));
            stamps_.push_back(Stamp::of(st));
        }
        // A file already shorter than its extents (cut after the checkpoint was opened, before the
        // engine was made) fails here, at registration, rather than at the step that reads it.
        for (std::size_t g = 0; g < extents_.size(); ++g) {
            for (const Extent& e : extents_[g]) {
                if (e.file < stamps_.size() && e.file_offset + e.bytes > static_cast<std::uint64_t>(stamps_[e.file].size)) {
                    fail(OFL_ERR_IO, "disk source: '", paths_[e.file], "' ends at byte ", stamps_[e.file].size, " but group ", g,
                         " reads bytes ", e.file_offset, " to ", e.file_offset + e.bytes,
                         " of it: the file was truncated or replaced after it was opened");
                }
            }
        }
        for (std::uint32_t u = 0; u < units_; ++u) unit_copied_.push_back(device_->backend().create_event(false));
        staging_bytes_ = unit_ * units_;
        Device::PooledStaging pooled;
        if (device_->take_staging(staging_bytes_, pooled)) {  // a ring of an engine that ended (its copies behind its fence)
            staging_ = pooled.data;
            staging_capacity_ = pooled.bytes;
            staging_fence_ = std::move(pooled.fence);
        } else {
            staging_ = static_cast<unsigned char*>(device_->backend().host_alloc(staging_bytes_));
            staging_capacity_ = staging_bytes_;
            device_->host_usage().claim(staging_bytes_);
        }
        if (hosts_.empty()) choose_io(source.flags);
        if (direct_) {
            bounces_.resize(threads_);
            for (Bounce& b : bounces_) {
                b = bounce();
            }
        }
        const std::uint32_t workers = !streamed_.empty() ? threads_ : resident_.empty() ? 0 : 1;
        if (resident_.empty()) resident_done_ = true;  // no resident load to wait for (no thread may run one)
        for (std::uint32_t i = 0; i < workers; ++i) {
            Bounce* bounce = direct_ ? &bounces_[i] : nullptr;
            workers_.emplace_back([this, bounce, i] {
                Bounce none;
                if (i == 0) load_resident(bounce ? *bounce : none);
                run(bounce ? *bounce : none);
            });
        }
    } catch (...) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        changed_.notify_all();
        for (std::thread& w : workers_) w.join();
        free_bounces();
        for (int fd : fds_) ::close(fd);
        for (int fd : direct_fds_) ::close(fd);
        if (staging_) device_->pool_staging(Device::PooledStaging{staging_, staging_capacity_, staging_fence_});  // nothing of ours read it
        throw;
    }
}

DiskReader::~DiskReader() {
    stop();
    free_bounces();
    for (int fd : fds_) ::close(fd);
    for (int fd : direct_fds_) ::close(fd);
    if (pool_) {
        device_->pool_staging(Device::PooledStaging{staging_, staging_capacity_, std::move(pool_fence_)});
    } else {
        device_->free_host(staging_);
        device_->host_usage().release(staging_capacity_);
    }
}

DiskReader::Bounce DiskReader::bounce() {
    Bounce b;
    b.bytes = unit_ + 2 * kPage;
    b.data = static_cast<unsigned char*>(std::aligned_alloc(kPage, b.bytes));
    if (!b.data) fail(OFL_ERR_OUT_OF_HOST_MEMORY, "disk source: no memory for a ", b.bytes, "-byte direct-read buffer");
    return b;
}

void DiskReader::free_bounces() noexcept {
    for (Bounce& b : bounces_) std::free(b.data);
    bounces_.clear();
}

void DiskReader::open_direct() {
    // A file system may refuse O_DIRECT at open (tmpfs: EINVAL) or only at the first read: both read
    // buffered, every file. One aligned page of each file is read to know.
    void* page = std::aligned_alloc(kPage, kPage);
    bool works = page != nullptr;
    for (std::size_t f = 0; works && f < paths_.size(); ++f) {
        int fd = ::open(paths_[f].c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT);
        if (fd >= 0) direct_fds_.push_back(fd);
        ssize_t got = -1;
        if (fd >= 0) {
            do got = ::pread(fd, page, kPage, 0);
            while (got < 0 && errno == EINTR);
        }
        works = got >= 0;
    }
    std::free(page);
    if (!works) {
        for (int d : direct_fds_) ::close(d);
        direct_fds_.clear();
    }
}

void DiskReader::choose_io(std::uint32_t flags) {
    const std::uint32_t io = flags & (OFL_DISK_IO_BUFFERED | OFL_DISK_IO_DIRECT | OFL_DISK_IO_PROBE);
    if (io == OFL_DISK_IO_BUFFERED || paths_.empty()) return;
    if (io != OFL_DISK_IO_DIRECT && streamed_.empty()) return;  // resident groups alone: read once, nothing to probe
    if (io != OFL_DISK_IO_DIRECT && staging_fence_) {  // the probe reads into a pooled ring: its last copies out first (an event)
        staging_fence_->synchronize();
        staging_fence_.reset();
    }
    if (io == 0) {
        std::uint64_t streamed_bytes = 0;
        for (std::uint32_t g : streamed_) streamed_bytes += group_bytes_[g];  // each streamed group once
        if (streamed_bytes <= available_host_memory() / 2) return;  // the page cache will hold them
    }
    open_direct();
    if (direct_fds_.empty()) return;
    if (io == OFL_DISK_IO_DIRECT) {
        direct_ = true;
        return;
    }
    try {
        probe_direct_gbps_ = probe_gbps(true);  // first: a direct read leaves the page cache as it was
    } catch (const Error&) {  // direct reads fail on this file system: buffered (a real fault shows again when streaming)
        for (int d : direct_fds_) ::close(d);
        direct_fds_.clear();
        probe_direct_gbps_ = 0;
        bytes_read_.store(0);
        read_calls_.store(0);
        return;
    }
    probe_buffered_gbps_ = probe_gbps(false);
    direct_ = probe_direct_gbps_ > probe_buffered_gbps_;
    bytes_read_.store(0);  // the probe's reads are not the stream's
    read_calls_.store(0);
}

double DiskReader::probe_gbps(bool direct) {
    // The streamed groups in visit order (each is there once) until kProbeBytes: with small (leaf)
    // groups, one group alone would time little more than a device round trip.
    std::vector<std::pair<std::uint32_t, std::uint64_t>> parts;  // group, bytes read of it
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < streamed_.size() && total < kProbeBytes; ++i) {
        const std::uint64_t bytes = std::min(group_bytes_[streamed_[i]], kProbeBytes - total);
        if (bytes == 0) continue;
        parts.emplace_back(streamed_[i], bytes);
        total += bytes;
    }
    if (total == 0) return 0;
    Bounce bounce;
    if (direct) {
        bounce = this->bounce();
    } else {
        for (const auto& [group, bytes] : parts) {  // start cold, as the direct read did
            for (const Extent& e : extents_[group]) {
                if (e.group_offset < bytes) {
                    ::posix_fadvise(fds_[e.file], static_cast<off_t>(e.file_offset),
                                    static_cast<off_t>(std::min(e.bytes, bytes - e.group_offset)), POSIX_FADV_DONTNEED);
                }
            }
        }
    }
    const auto t0 = std::chrono::steady_clock::now();
    try {
        for (const auto& [group, bytes] : parts) {
            for (std::uint64_t from = 0; from < bytes; from += staging_bytes_) {  // through the ring, as streaming reads
                read_range(group, from, std::min(bytes, from + staging_bytes_), staging_, direct ? &bounce : nullptr);
            }
        }
    } catch (...) {
        std::free(bounce.data);
        throw;
    }
    const std::uint64_t ns = std::max<std::uint64_t>(ns_since(t0), 1);
    std::free(bounce.data);
    return static_cast<double>(total) / static_cast<double>(ns);
}

DiskReader::Stamp DiskReader::Stamp::of(const struct stat& st) noexcept {
    return {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino), static_cast<std::int64_t>(st.st_size),
            static_cast<std::int64_t>(st.st_mtim.tv_sec), static_cast<std::int64_t>(st.st_mtim.tv_nsec),
            static_cast<std::int64_t>(st.st_ctim.tv_sec), static_cast<std::int64_t>(st.st_ctim.tv_nsec)};
}

void DiskReader::check_unchanged(std::uint32_t group, std::uint32_t file) {
    struct stat st {};
    if (::fstat(fds_[file], &st) != 0) {
        fail(OFL_ERR_IO, "disk source: reading group ", group, " from '", paths_[file], "': cannot stat the file: ", std::strerror(errno));
    }
    const Stamp& was = stamps_[file];
    const Stamp now = Stamp::of(st);
    if (!(now == was)) {
        const bool times = now.mtime_sec != was.mtime_sec || now.mtime_nsec != was.mtime_nsec;
        fail(OFL_ERR_IO, "disk source: reading group ", group, " from '", paths_[file],
             "': the file was truncated or rewritten after the component was registered (size ", was.size, " -> ", now.size, " bytes",
             now.size != was.size ? "" : times ? ", modification time changed" : ", change time changed (written with its times set back)",
             "); its bytes no longer are the registered weights");
    }
}

void DiskReader::pread_buffered(std::uint32_t group, const Extent& e, std::uint64_t skip, std::uint64_t bytes, unsigned char* dst) {
    check_unchanged(group, e.file);
    const std::uint64_t start = e.file_offset + skip;
    std::uint64_t done = 0;
    while (done < bytes) {
        const std::uint64_t at = start + done;
        ssize_t got = ::pread(fds_[e.file], dst + done, std::min(bytes - done, kMaxRead), static_cast<off_t>(at));
        read_calls_.fetch_add(1, std::memory_order_relaxed);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            fail(OFL_ERR_IO, "disk source: reading group ", group, " from '", paths_[e.file], "' at offset ", at, " (",
                 bytes - done, " bytes left of ", e.bytes, " at ", e.file_offset, "): ", std::strerror(errno));
        }
        if (got == 0) {
            fail(OFL_ERR_IO, "disk source: reading group ", group, " from '", paths_[e.file], "': the file ends at offset ", at,
                 ", inside bytes ", e.file_offset, " to ", e.file_offset + e.bytes,
                 " (it was truncated or replaced after the component was registered)");
        }
        done += static_cast<std::uint64_t>(got);
    }
    bytes_read_.fetch_add(bytes, std::memory_order_relaxed);
}

void DiskReader::pread_direct(std::uint32_t group, const Extent& e, std::uint64_t skip, std::uint64_t bytes, unsigned char* dst,
                              Bounce& bounce, std::uint64_t ahead) {
    check_unchanged(group, e.file);
    const std::uint64_t lo = e.file_offset + skip, hi = lo + bytes;
    if (bounce.file == e.file && lo >= bounce.base && hi <= bounce.end) {  // read with an extent before it
        std::memcpy(dst, bounce.data + (lo - bounce.base), bytes);
        bytes_read_.fetch_add(bytes, std::memory_order_relaxed);
        return;
    }
    std::uint64_t at = lo / kPage * kPage;  // O_DIRECT: aligned offset, length and buffer
    while (at < hi) {
        const std::uint64_t want = std::min(bounce.bytes, page_up(std::max(hi, ahead)) - at);
        bounce.file = UINT32_MAX;
        ssize_t got = ::pread(direct_fds_[e.file], bounce.data, want, static_cast<off_t>(at));
        read_calls_.fetch_add(1, std::memory_order_relaxed);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            fail(OFL_ERR_IO, "disk source: reading group ", group, " from '", paths_[e.file], "' at offset ", at,
                 " (direct I/O, ", want, " bytes, for bytes ", lo, " to ", hi, "): ", std::strerror(errno));
        }
        const std::uint64_t end = at + static_cast<std::uint64_t>(got);
        bounce.file = e.file;
        bounce.base = at;
        bounce.end = end;
        const std::uint64_t from = std::max(at, lo), to = std::min(end, hi);
        if (to > from) std::memcpy(dst + (from - lo), bounce.data + (from - at), to - from);
        if (end >= hi) break;
        if (got == 0 || got % static_cast<ssize_t>(kPage) != 0) {  // the end of the file, before hi
            fail(OFL_ERR_IO, "disk source: reading group ", group, " from '", paths_[e.file], "': the file ends at offset ", end,
                 ", inside bytes ", e.file_offset, " to ", e.file_offset + e.bytes,
                 " (it was truncated or replaced after the component was registered)");
        }
        at = end;
    }
    bytes_read_.fetch_add(bytes, std::memory_order_relaxed);
}

void DiskReader::read_range(std::uint32_t group, std::uint64_t from, std::uint64_t to, unsigned char* dst, Bounce* bounce) {
    if (!hosts_.empty()) {  // the low-memory source: pageable host bytes into pinned staging
        std::memcpy(dst, hosts_[group] + from, to - from);
        bytes_read_.fetch_add(to - from, std::memory_order_relaxed);
        return;
    }
    constexpr std::uint64_t kGap = 64u << 10;  // direct reads: extents this close in the file are read together
    const std::vector<Extent>& list = extents_[group];
    if (bounce) bounce->file = UINT32_MAX;  // what it holds was read for another range
    std::uint64_t cursor = from;  // bytes before it are written; gaps between extents are zeroed
    std::uint64_t ahead = 0;
    std::size_t ahead_until = 0;  // extents before it are in the run that ends at `ahead`
    for (std::size_t i = 0; i < list.size(); ++i) {
        const Extent& e = list[i];
        const std::uint64_t lo = std::max(from, e.group_offset), hi = std::min(to, e.group_offset + e.bytes);
        if (lo >= hi) continue;
        if (lo > cursor) std::memset(dst + (cursor - from), 0, lo - cursor);
        if (bounce) {
            if (i >= ahead_until) {  // the run of extents that follow this one in the same file, within a bounce
                const std::uint64_t start = e.file_offset + (lo - e.group_offset);
                ahead = e.file_offset + (hi - e.group_offset);
                std::size_t j = i + 1;
                for (; j < list.size() && list[j].group_offset < to; ++j) {
                    const Extent& n = list[j];
                    const std::uint64_t n_hi = n.file_offset + (std::min(to, n.group_offset + n.bytes) - n.group_offset);
                    if (n.file != e.file || n.file_offset < ahead || n.file_offset - ahead > kGap ||
                        page_up(n_hi) - start / kPage * kPage > bounce->bytes) {
                        break;
                    }
                    ahead = n_hi;
                }
                ahead_until = j;
            }
            pread_direct(group, e, lo - e.group_offset, hi - lo, dst + (lo - from), *bounce, ahead);
        } else {
            pread_buffered(group, e, lo - e.group_offset, hi - lo, dst + (lo - from));
        }
        cursor = hi;
    }
    if (to > cursor) std::memset(dst + (cursor - from), 0, to - cursor);
}

std::uint64_t DiskReader::units_of_group(std::uint64_t bytes) const noexcept {
    return std::max<std::uint64_t>(1, (bytes + unit_ - 1) / unit_);
}

}  // namespace ofl
