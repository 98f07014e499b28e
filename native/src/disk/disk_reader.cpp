#include "disk/disk_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "error.hpp"

namespace ofl {
namespace {
std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace
namespace {

constexpr std::uint64_t kPage = 4096;
constexpr std::uint64_t kResidentChunk = 64ull << 20;  // staging for a component with no streamed group
constexpr std::uint64_t kMaxRead = 1ull << 30;         // one pread call at most (Linux caps near 2 GiB)

std::uint64_t page_up(std::uint64_t n) { return (n + kPage - 1) / kPage * kPage; }

std::uint64_t ns_since(std::chrono::steady_clock::time_point t0) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
}

}  // namespace

DiskReader::DiskReader(std::shared_ptr<Device> device, const ofl_disk_source& source, const std::vector<std::uint64_t>& group_bytes,
                       std::vector<std::uint32_t> streamed, std::uint64_t slot_bytes, std::vector<const unsigned char*> hosts)
    : device_(std::move(device)), extents_(group_bytes.size()), group_bytes_(group_bytes), hosts_(std::move(hosts)),
      streamed_(std::move(streamed)) {
    OFL_EXPECT((source.flags & ~OFL_DISK_FROM_HOST) == 0 && source.reserved == 0, OFL_ERR_INVALID_ARGUMENT,
               "ofl_disk_source: flags must be 0 or OFL_DISK_FROM_HOST and reserved 0, got ", source.flags, " and ",
               source.reserved);
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
                       e.file_offset <= UINT64_MAX - e.bytes,
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
    // The ring: slots of the largest streamed group, or one chunk for resident groups alone.
    if (!streamed_.empty()) {
        stride_ = page_up(std::max<std::uint64_t>(slot_bytes, 1));
        std::uint64_t want = source.staging_bytes == 0 ? 2 : source.staging_bytes / stride_;
        OFL_EXPECT(want >= 1, OFL_ERR_INVALID_ARGUMENT, "a staging ring of ", source.staging_bytes,
                   " bytes holds no slot for the largest streamed group (", slot_bytes, " bytes, ", stride_,
                   " with 4 KiB alignment); give at least ", 2 * stride_, " bytes (two slots) or smaller groups");
        slots_ = static_cast<std::uint32_t>(std::min<std::uint64_t>(want, streamed_.size()));
    } else {
        std::uint64_t largest = 0;
        for (std::uint64_t b : group_bytes_) largest = std::max(largest, b);
        stride_ = page_up(std::max<std::uint64_t>(1, std::min(largest, source.staging_bytes ? source.staging_bytes : kResidentChunk)));
        slots_ = 1;
    }
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
            stamps_.push_back({static_cast<std::int64_t>(st.st_size), static_cast<std::int64_t>(st.st_mtim.tv_sec),
                               static_cast<std::int64_t>(st.st_mtim.tv_nsec)});
        }
        staging_bytes_ = stride_ * slots_;
        staging_ = static_cast<unsigned char*>(device_->backend().host_alloc(staging_bytes_));
        device_->host_usage().claim(staging_bytes_);
        worker_ = std::thread([this] { run(); });
    } catch (...) {
        for (int fd : fds_) ::close(fd);
        if (staging_) {
            device_->backend().host_free(staging_);
            device_->host_usage().release(staging_bytes_);
        }
        throw;
    }
}

DiskReader::~DiskReader() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    if (worker_.joinable()) worker_.join();
    for (int fd : fds_) ::close(fd);
    device_->backend().host_free(staging_);
    device_->host_usage().release(staging_bytes_);
}

void DiskReader::check_unchanged(std::uint32_t group, std::uint32_t file) {
    struct stat st {};
    if (::fstat(fds_[file], &st) != 0) {
        fail(OFL_ERR_IO, "disk source: reading group ", group, ": cannot stat '", paths_[file], "': ", std::strerror(errno));
    }
    const Stamp& was = stamps_[file];
    if (st.st_size != was.size || st.st_mtim.tv_sec != was.mtime_sec || st.st_mtim.tv_nsec != was.mtime_nsec) {
        fail(OFL_ERR_IO, "disk source: reading group ", group, ": '", paths_[file],
             "' was truncated or rewritten after the engine was created (size ", was.size, " -> ",
             static_cast<std::int64_t>(st.st_size), " bytes", st.st_size == was.size ? ", modification time changed" : "",
             "); its bytes no longer are the registered weights");
    }
}

void DiskReader::pread_all(std::uint32_t group, const Extent& e, std::uint64_t skip, std::uint64_t bytes, unsigned char* dst) {
    check_unchanged(group, e.file);
    const std::uint64_t start = e.file_offset + skip;
    std::uint64_t done = 0;
    while (done < bytes) {
        const std::uint64_t at = start + done;
        ssize_t got = ::pread(fds_[e.file], dst + done, std::min(bytes - done, kMaxRead), static_cast<off_t>(at));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            fail(OFL_ERR_IO, "disk source: reading group ", group, " from '", paths_[e.file], "' at offset ", at, " (",
                 bytes - done, " bytes left of ", e.bytes, " at ", e.file_offset, "): ", std::strerror(errno));
        }
        if (got == 0) {
            fail(OFL_ERR_IO, "disk source: reading group ", group, " from '", paths_[e.file], "': the file ends at offset ", at,
                 ", inside bytes ", e.file_offset, " to ", e.file_offset + e.bytes,
                 " (it was truncated or replaced after the engine was created)");
        }
        done += static_cast<std::uint64_t>(got);
    }
    bytes_read_.fetch_add(bytes, std::memory_order_relaxed);
}

void DiskReader::read_range(std::uint32_t group, std::uint64_t from, std::uint64_t to, unsigned char* dst) {
    if (!hosts_.empty()) {  // the low-memory source: pageable host bytes into pinned staging
        std::memcpy(dst, hosts_[group] + from, to - from);
        bytes_read_.fetch_add(to - from, std::memory_order_relaxed);
        return;
    }
    std::uint64_t cursor = from;  // bytes before it are written; gaps between extents are zeroed
    for (const Extent& e : extents_[group]) {
        const std::uint64_t lo = std::max(from, e.group_offset), hi = std::min(to, e.group_offset + e.bytes);
        if (lo >= hi) continue;
        if (lo > cursor) std::memset(dst + (cursor - from), 0, lo - cursor);
        pread_all(group, e, lo - e.group_offset, hi - lo, dst + (lo - from));
        cursor = hi;
    }
    if (to > cursor) std::memset(dst + (cursor - from), 0, to - cursor);
}

void DiskReader::load(std::uint32_t group, std::uint64_t from, std::uint64_t to, unsigned char* dst) {
    auto t0 = std::chrono::steady_clock::now();
    read_range(group, from, to, dst);
    read_ns_.fetch_add(ns_since(t0), std::memory_order_relaxed);
    if (to == group_bytes_[group]) groups_read_.fetch_add(1, std::memory_order_relaxed);
}

void DiskReader::request(std::uint64_t ticket) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (ticket < requested_) return;  // asked for already (a retried issue)
        requested_ = ticket + 1;
    }
    changed_.notify_all();
}

void DiskReader::run() noexcept {
    for (;;) {
        std::uint64_t ticket;
        bool skip;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            changed_.wait(lock, [&] { return stopping_ || (read_ < requested_ && read_ < freed_ + slots_); });
            if (stopping_) return;
            ticket = read_;
            skip = error_status_ != OFL_OK;  // after a fault nothing is read, but nothing waits forever
        }
        if (!skip) {
            const std::uint32_t group = streamed_[ticket % streamed_.size()];
            try {
                const std::int64_t start = now_ns();
                load(group, 0, group_bytes_[group], staging(ticket));
                if (times_) {
                    const std::size_t at = 2 * (ticket % kept_);
                    times_[at].store(start, std::memory_order_relaxed);
                    times_[at + 1].store(now_ns(), std::memory_order_relaxed);
                }
            } catch (const Error& e) {
                std::lock_guard<std::mutex> lock(mutex_);
                error_status_ = e.status();
                error_ = e.what();
            } catch (...) {
                std::lock_guard<std::mutex> lock(mutex_);
                error_status_ = OFL_ERR_INTERNAL;
                error_ = concat("disk source: reading group ", group, " failed with an unknown exception");
            }
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            read_ = ticket + 1;
        }
        changed_.notify_all();
    }
}

void DiskReader::keep_times(std::size_t tickets) {
    kept_ = std::max<std::size_t>(tickets, 1);
    times_ = std::make_unique<std::atomic<std::int64_t>[]>(2 * kept_);
    for (std::size_t i = 0; i < 2 * kept_; ++i) times_[i].store(0, std::memory_order_relaxed);
}

std::pair<std::int64_t, std::int64_t> DiskReader::read_time(std::uint64_t ticket) const noexcept {
    if (!times_) return {0, 0};
    const std::size_t at = 2 * (ticket % kept_);
    return {times_[at].load(std::memory_order_relaxed), times_[at + 1].load(std::memory_order_relaxed)};
}

void DiskReader::await_read(void* self) noexcept {
    auto* r = static_cast<DiskReader*>(self);
    std::unique_lock<std::mutex> lock(r->mutex_);
    const std::uint64_t ticket = r->awaited_++;
    if (r->read_ > ticket) return;
    auto t0 = std::chrono::steady_clock::now();
    r->changed_.wait(lock, [&] { return r->read_ > ticket || r->stopping_; });
    r->stall_ns_.fetch_add(ns_since(t0), std::memory_order_relaxed);
}

void DiskReader::release_staging(void* self) noexcept {
    auto* r = static_cast<DiskReader*>(self);
    {
        std::lock_guard<std::mutex> lock(r->mutex_);
        ++r->freed_;
    }
    r->changed_.notify_all();
}

void DiskReader::check() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (error_status_ != OFL_OK) throw Error(error_status_, error_);
}

ofl_disk_stats DiskReader::stats() const {
    ofl_disk_stats s{};
    s.struct_size = sizeof s;
    s.staging_slots = slots_;
    s.staging_bytes = staging_bytes_;
    s.bytes_read = bytes_read_.load();
    s.groups_read = groups_read_.load();
    s.read_ms = static_cast<double>(read_ns_.load()) / 1e6;
    s.stall_ms = static_cast<double>(stall_ns_.load()) / 1e6;
    return s;
}

}  // namespace ofl
