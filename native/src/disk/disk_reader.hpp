// disk_reader.hpp: the read stage of the disk source (offload.h: ofl_engine_create_from_disk).
//
// One reader thread fills a ring of pinned staging slots with whole streamed groups read by pread
// from their files. Work is counted in tickets: ticket t is the engine's streamed visit t (visits
// are issued once each, in order), so the reader knows which group a ticket is without a queue,
// and ticket t uses staging slot t % slots. Four counters, under one mutex:
//  - requested_: tickets the engine has asked for (request(), never blocks);
//  - read_:      tickets whose read has finished (failed ones too: nothing waits forever);
//  - awaited_:   await_read host functions started on the copy stream (one per ticket, in order);
//  - freed_:     release_staging host functions run (the copy out of that slot is done).
// The reader reads ticket t once t < requested_ and t < freed_ + slots (the slot's previous ticket
// has been copied out). The engine queues on the copy stream, per ticket and in order:
// await_read (blocks that stream's worker until read_ > t), the copy staging -> device slot, the
// ready record, release_staging. Host functions in one stream run in order, and each waits only on
// the reader, which waits only on earlier release_staging calls, so no cycle can form. Both
// backends run these as ofl_stream_launch_host_func (cudaLaunchHostFunc on cuda).
//
// Faults. A failed or short read (the file shrank, EIO), or a file whose size or modification time
// differs from what it was at creation (rewritten in place: checked with fstat before each read),
// sets a sticky error naming the file, the offset and the group; later tickets are marked read without reading, so the copy stream never
// hangs; check() throws it (OFL_ERR_IO) at the engine's next call. The destructor stops the thread
// and frees the staging ring; the engine synchronizes its streams first (its destructor body), so
// no queued copy reads freed staging.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "device.hpp"
#include "offload.h"

namespace ofl {

class DiskReader {
public:
    struct Extent {
        std::uint32_t file;
        std::uint64_t file_offset, bytes, group_offset;
    };

    // group_bytes: every group's packed size; streamed: the streamed groups' indices in visit order;
    // slot_bytes: the largest streamed group (0 when none streams); hosts: with OFL_DISK_FROM_HOST,
    // every group's bytes in host memory (read with memcpy instead of pread). Opens the files;
    // throws OFL_ERR_IO naming one that does not open, OFL_ERR_INVALID_ARGUMENT for a bad extent.
    DiskReader(std::shared_ptr<Device> device, const ofl_disk_source& source, const std::vector<std::uint64_t>& group_bytes,
               std::vector<std::uint32_t> streamed, std::uint64_t slot_bytes, std::vector<const unsigned char*> hosts);
    ~DiskReader();
    DiskReader(const DiskReader&) = delete;
    DiskReader& operator=(const DiskReader&) = delete;

    // Reads bytes [from, to) of group's packed layout into dst on the calling thread (resident groups).
    void load(std::uint32_t group, std::uint64_t from, std::uint64_t to, unsigned char* dst);
    unsigned char* staging_base() noexcept { return staging_; }
    std::uint64_t staging_bytes() const noexcept { return staging_bytes_; }
    unsigned char* staging(std::uint64_t ticket) noexcept { return staging_ + (ticket % slots_) * stride_; }

    // Ticket t may be read (t is the next ticket or one asked for already). Never blocks.
    void request(std::uint64_t ticket);
    // Host functions for the copy stream (user data: this reader).
    static void await_read(void* self) noexcept;
    static void release_staging(void* self) noexcept;
    // Keeps each ticket's read start and end (steady_clock ns) for the last `tickets` tickets (traces).
    void keep_times(std::size_t tickets);
    // A kept ticket's read {start, end} in steady_clock ns, {0, 0} when not kept or not read.
    std::pair<std::int64_t, std::int64_t> read_time(std::uint64_t ticket) const noexcept;
    // Throws the first read error (OFL_ERR_IO), if any.
    void check();
    ofl_disk_stats stats() const;

private:
    void run() noexcept;
    void read_range(std::uint32_t group, std::uint64_t from, std::uint64_t to, unsigned char* dst);
    void pread_all(std::uint32_t group, const Extent& e, std::uint64_t skip, std::uint64_t bytes, unsigned char* dst);

    std::shared_ptr<Device> device_;
    std::vector<std::string> paths_;
    std::vector<int> fds_;
    struct Stamp {
        std::int64_t size, mtime_sec, mtime_nsec;
    };
    std::vector<Stamp> stamps_;  // each file's size and modification time at creation
    void check_unchanged(std::uint32_t group, std::uint32_t file);
    std::vector<std::vector<Extent>> extents_;  // per group, sorted by group_offset
    std::vector<std::uint64_t> group_bytes_;
    std::vector<const unsigned char*> hosts_;  // OFL_DISK_FROM_HOST: each group's bytes; empty otherwise
    std::vector<std::uint32_t> streamed_;
    std::uint32_t slots_ = 0;
    std::uint64_t stride_ = 0;
    std::uint64_t staging_bytes_ = 0;
    unsigned char* staging_ = nullptr;

    std::mutex mutex_;
    std::condition_variable changed_;
    std::uint64_t requested_ = 0, read_ = 0, awaited_ = 0, freed_ = 0;
    bool stopping_ = false;
    ofl_status error_status_ = OFL_OK;
    std::string error_;

    std::atomic<std::uint64_t> bytes_read_{0}, groups_read_{0}, read_ns_{0}, stall_ns_{0};
    std::unique_ptr<std::atomic<std::int64_t>[]> times_;  // keep_times: start, end per kept ticket (made before any read)
    std::size_t kept_ = 0;
    std::thread worker_;
};

}  // namespace ofl
