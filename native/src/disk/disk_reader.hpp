// disk_reader.hpp: the read stage of the disk source (offload.h: ofl_engine_create_from_disk).
//
// Reader threads read the streamed groups by pread from their files into a ring of pinned staging
// units; the copy stream copies each unit to its place in the group's device slot. Tickets and units:
// ticket t is the engine's streamed visit t (visits are issued once each, in order), so the reader
// knows which group a ticket is without a queue; a ticket is its group's bytes cut into units of
// unit_bytes(), and the units of all tickets, in order, are numbered 0, 1, 2, ...: unit j lives in
// staging unit j % units. Any group streams through any ring, and the ring is small: 8 MiB on the
// host backend, 64 MiB on cuda by default.
//
// Why units and not whole groups. A group-sized slot (26 MiB) leaves the CPU cache before it is
// copied out: on the host backend, where a CPU core makes the copy, every byte then crossed memory
// three times and the stream ran at 0.88x of a sequential read with the same buffer size (0.36x of
// one with 1 MiB buffers). A 1 MiB unit is read, copied out and reused while it is in the cache. On
// cuda a unit is 8 MiB: large enough for a DMA copy at full speed and for each host function's
// round trip to be small beside it, and reads by several threads overlap with copies at that grain.
//
// Counters, under one mutex:
//  - requested_: tickets the engine has asked for (request(), never blocks);
//  - the dispatch cursor (next_ticket_, next_unit_, dispatched_): the next unit a reader thread takes;
//  - unit_read_[j % units]: j once unit j is read (failed ones too: nothing waits forever); atomic,
//    so that await_read finds a unit already read without the lock;
//  - awaited_: await_read host functions started on the copy stream, one per unit, in order (only
//    that stream's worker touches it);
//  - freed_:   units copied out: await_read(j) sets it to j, since the stream ran the copies of
//    units 0 .. j - 1 before it (one host function per unit, not two: on cuda each one stalls the
//    copy stream for a round trip to the driver's callback thread).
// A reader takes unit j once its ticket is requested and j < freed_ + units (the staging unit's
// previous user was copied out). The engine queues on the copy stream, per unit and in order:
// await_read (frees the units before it, then blocks that stream's worker until unit j is read) and
// the copy of its bytes staging -> device slot; after a ticket's last unit, its ready record. While
// the stream copies unit j (after await_read(j) freed units < j), a reader may read unit j + 1 into
// the other of two units: two overlap one reader with the copies. Host functions in one stream run
// in order, and each waits only on the readers, which wait only on earlier await_read calls, so no
// cycle can form. Both backends run these as ofl_stream_launch_host_func (cudaLaunchHostFunc on
// cuda).
//
// Numbering and retries. Unit numbers come from the visit (its step's units before it), never from
// a counter at issue time, so an issue that failed before it queued anything and is tried again
// (engine.hpp) queues the same units. One that failed after queueing some await_read calls cannot
// take them back: fail_queue() then makes the error sticky and every await_read return at once,
// so the copy stream never waits for a unit no one will read.
//
// Buffered or direct. Buffered reads go through the page cache into staging. Direct reads
// (O_DIRECT) need 4 KiB-aligned offsets, lengths and buffers, which packed extents do not have, so
// each thread reads aligned spans into a bounce buffer of its own (one unit plus two pages,
// pageable) and copies the extent's bytes out. Extents that follow each other in the file (a
// block's tensors, small norms and biases among them) are read with one call: a direct read of a
// 4 KiB bias would cost a device round trip of its own. With neither asked for, the streamed bytes decide:
// when they fit in half of MemAvailable the page cache will hold them after one pass and every later
// read is a memory copy, so buffered; otherwise a probe at creation times both on the first streamed
// group (the direct read first, then the buffered one after dropping that range from the page cache,
// so both start cold) and keeps the faster. A file system that refuses O_DIRECT (tmpfs) reads
// buffered.
//
// Faults. A failed or short read (the file shrank, EIO), or a file whose stamp (device, inode, size,
// modification and change time) differs from what it was at creation (rewritten in place, even with
// its times set back: checked with fstat before each read),
// sets a sticky error naming the file, the offset and the group; later units are marked read without
// reading, so the copy stream never hangs; check() throws it (OFL_ERR_IO) at the engine's next call.
// The destructor stops the threads and frees the staging ring; the engine synchronizes its streams
// first (its destructor body), so no queued copy reads freed staging.
#pragma once

#include <sys/stat.h>

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
    // hosts: with OFL_DISK_FROM_HOST,
    // every group's bytes in host memory (read with memcpy instead of pread). Opens the files;
    // throws OFL_ERR_IO naming one that does not open, OFL_ERR_INVALID_ARGUMENT for a bad extent.
    DiskReader(std::shared_ptr<Device> device, const ofl_disk_source& source, const std::vector<std::uint64_t>& group_bytes,
               std::vector<std::uint32_t> streamed, std::vector<const unsigned char*> hosts);
    ~DiskReader();
    DiskReader(const DiskReader&) = delete;
    DiskReader& operator=(const DiskReader&) = delete;

    // Reads bytes [from, to) of group's packed layout into dst on the calling thread (resident groups).
    void load(std::uint32_t group, std::uint64_t from, std::uint64_t to, unsigned char* dst);
    unsigned char* staging_base() noexcept { return staging_; }
    std::uint64_t staging_bytes() const noexcept { return staging_bytes_; }
    std::uint64_t unit_bytes() const noexcept { return unit_; }
    // A group of `bytes` is this many units (one, of no bytes, for an empty group); unit k of it is
    // bytes [k * unit_bytes(), min(bytes, (k + 1) * unit_bytes())).
    std::uint64_t units_of_group(std::uint64_t bytes) const noexcept;
    // The number of the first unit of ticket (visit) t.
    std::uint64_t first_unit(std::uint64_t ticket) const noexcept {
        const std::uint64_t n = streamed_.size();
        return ticket / n * unit_prefix_[n] + unit_prefix_[ticket % n];
    }
    // A visit's copies were only partly queued: a sticky error (message), and await_read waits no more.
    void fail_queue(const std::string& message);
    unsigned char* staging_unit(std::uint64_t unit) noexcept { return staging_ + (unit % units_) * unit_; }

    // Ticket t may be read (t is the next ticket or one asked for already). Never blocks.
    void request(std::uint64_t ticket);
    // The host function queued on the copy stream before each unit's copy (user data: this reader).
    static void await_read(void* self) noexcept;
    // Keeps each ticket's read start and end (steady_clock ns) for the last `tickets` tickets (traces).
    void keep_times(std::size_t tickets);
    // A kept ticket's read {start, end} in steady_clock ns, {0, 0} when not kept or not read.
    std::pair<std::int64_t, std::int64_t> read_time(std::uint64_t ticket) const noexcept;
    // Throws the first read error (OFL_ERR_IO), if any.
    void check();
    ofl_disk_stats stats() const;

private:
    // A file's identity as memory/FileStamp.java takes it: device, inode, size, modification and
    // change time. On an open descriptor the device and inode cannot change (a rename over the path
    // leaves this file open); they are compared for the same fields everywhere. The change time
    // catches an in-place rewrite whose modification time was set back (touch -d, cp -p).
    struct Stamp {
        std::uint64_t dev, ino;
        std::int64_t size, mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
        static Stamp of(const struct stat& st) noexcept;
        bool operator==(const Stamp& o) const noexcept {
            return dev == o.dev && ino == o.ino && size == o.size && mtime_sec == o.mtime_sec && mtime_nsec == o.mtime_nsec &&
                   ctime_sec == o.ctime_sec && ctime_nsec == o.ctime_nsec;
        }
    };
    struct Ticket {  // a ticket being read: how many of its units are
        std::uint64_t ticket = UINT64_MAX;
        std::uint64_t units = 0, done = 0;
        std::int64_t start_ns = 0;
    };
    struct Bounce {  // a reader thread's aligned buffer for direct reads, and which file bytes it holds
        unsigned char* data = nullptr;
        std::uint64_t bytes = 0;
        std::uint32_t file = UINT32_MAX;  // none
        std::uint64_t base = 0, end = 0;  // data[0] is the file's byte `base`; valid up to `end`
    };

    void run(Bounce& bounce) noexcept;
    void read_range(std::uint32_t group, std::uint64_t from, std::uint64_t to, unsigned char* dst, Bounce* bounce);
    void pread_buffered(std::uint32_t group, const Extent& e, std::uint64_t skip, std::uint64_t bytes, unsigned char* dst);
    // ahead: the file offset up to which the extents after this one follow it in the file (read with it).
    void pread_direct(std::uint32_t group, const Extent& e, std::uint64_t skip, std::uint64_t bytes, unsigned char* dst,
                      Bounce& bounce, std::uint64_t ahead);
    void check_unchanged(std::uint32_t group, std::uint32_t file);
    void choose_io(std::uint32_t flags);
    void open_direct();
    double probe_gbps(bool direct);
    void finish_unit(std::uint64_t ticket, std::uint64_t unit);  // under mutex_
    Bounce bounce();  // a bounce buffer for direct reads (caller frees its data)
    void free_bounces() noexcept;

    std::shared_ptr<Device> device_;
    std::vector<std::string> paths_;
    std::vector<int> fds_, direct_fds_;
    std::vector<Stamp> stamps_;                 // each file's stamp at creation
    std::vector<std::vector<Extent>> extents_;  // per group, sorted by group_offset
    std::vector<std::uint64_t> group_bytes_;
    std::vector<const unsigned char*> hosts_;  // OFL_DISK_FROM_HOST: each group's bytes; empty otherwise
    std::vector<std::uint32_t> streamed_;
    std::uint32_t units_ = 0;    // staging units in the ring
    std::uint64_t unit_ = 0;     // bytes of one
    std::uint64_t staging_bytes_ = 0;
    std::vector<std::uint64_t> unit_prefix_;  // units of the streamed groups before each, in visit order (n + 1)
    unsigned char* staging_ = nullptr;
    bool direct_ = false;
    std::uint32_t threads_ = 1;
    double probe_buffered_gbps_ = 0, probe_direct_gbps_ = 0;
    std::vector<Bounce> bounces_;  // one per reader thread when direct, else empty

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::uint64_t requested_ = 0, freed_ = 0;
    std::uint64_t awaited_ = 0;  // the copy stream's worker only
    std::uint64_t next_ticket_ = 0, next_unit_ = 0, dispatched_ = 0;  // dispatch cursor
    std::unique_ptr<std::atomic<std::uint64_t>[]> unit_read_;  // per staging unit: the unit number last read into it
    std::vector<Ticket> tickets_;           // per ticket % units: tickets in flight (at most one per unit)
    std::uint32_t busy_ = 0;  // reads in flight; read time counts while any is
    std::int64_t busy_since_ = 0;
    bool stopping_ = false;
    bool poisoned_ = false;  // fail_queue: await_read no longer waits
    ofl_status error_status_ = OFL_OK;
    std::string error_;

    std::atomic<std::uint64_t> bytes_read_{0}, groups_read_{0}, read_ns_{0}, stall_ns_{0}, read_calls_{0};
    std::unique_ptr<std::atomic<std::int64_t>[]> times_;  // keep_times: start, end per kept ticket (made before any read)
    std::size_t kept_ = 0;
    std::vector<std::thread> workers_;
};

}  // namespace ofl
