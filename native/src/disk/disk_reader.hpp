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
// cuda a unit is 8 MiB: large enough for a DMA copy at full speed and for each unit's event
// round trip to be small beside it, and reads by several threads overlap with copies at that grain.
//
// The hand-off (disk_pipeline.cpp), under one mutex, with no host function on any stream (on cuda
// all host functions of a context run on one callback thread, so one that waited for a read would
// hold back every other one, the user's included):
//  - requested_: tickets the engine has asked for (request(), never blocks);
//  - the dispatch cursor (next_ticket_, next_unit_, dispatched_): the next unit a reader thread takes;
//  - unit_read_[j % units]: j once unit j is read (failed ones too: nothing waits forever);
//  - queued_: units whose copy is queued on the copy stream, in order, each followed by the record
//    of its staging unit's event (unit_copied_[j % units]); tickets_queued_: tickets whose every
//    unit (and so the engine's ready record after the last) is queued.
// A reader takes unit j once its ticket is requested and unit j - units is queued; before reading
// into the staging unit it synchronizes that unit's event (the reader thread waits for the copy
// out, never a callback). When a read finishes, the reader queues, in order, every unit read and
// not yet queued (one thread at a time: issuing_), through the engine's DiskCopySink: the wait for
// the device slot's previous user and the timing marks on a ticket's first unit, the copy staging
// -> slot, the ready record on its last. The engine's acquire (or skip) of visit v waits on the
// host until ticket v is queued (await_queued; counted as stall time), so the compute stream's
// wait on v's ready event names the record it means (engine.hpp): the one host wait a disk source
// adds, and only where the disk is behind. Units are queued from reader threads, so the engine's
// own calls never order them; every copy waits on events recorded before it is queued (the slot's
// previous release happens before the visit is requested), so no cycle can form.
//
// Numbering. Unit numbers come from the visit (its step's units before it), never from a counter
// at issue time, so an issue that failed and is tried again asks for the same ticket (request()
// ignores one asked for already). A copy that cannot be queued (a device error) makes the error
// sticky and stops the pipeline (poisoned_): the engine's wait returns and throws it.
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
// halt() makes the threads queue nothing more without waiting for a read in progress (an engine's
// retire, on a model-level turn under the offloader's lock: nothing is queued after its copy fence,
// and no pread or staging event is waited for); stop() ends and joins them (the destructor, which
// then frees the staging ring; the engine waits for its copy fence first, so no queued copy reads
// freed staging).
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <chrono>
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

// What queues a unit's copy on the copy stream (the engine): part `part` of `parts` of ticket
// (visit) `ticket`, bytes [from, to) of its group, now in staging. Called by one reader thread at
// a time, in unit order, never under the reader's lock.
class DiskCopySink {
public:
    virtual void queue_unit(std::uint64_t ticket, std::uint64_t part, std::uint64_t parts, const unsigned char* staging,
                            std::uint64_t from, std::uint64_t to) = 0;
    // Bytes [from, to) of resident group `group`, now in staging (the resident load, in group order,
    // before any streamed unit).
    virtual void queue_resident(std::uint32_t group, std::uint64_t from, std::uint64_t to, const unsigned char* staging) = 0;

protected:
    ~DiskCopySink() = default;
};

class DiskReader {
public:
    struct Extent {
        std::uint32_t file;
        std::uint64_t file_offset, bytes, group_offset;
    };

    // group_bytes: every group's packed size; streamed: the streamed groups' indices in visit order;
    // hosts: with OFL_DISK_FROM_HOST,
    // every group's bytes in host memory (read with memcpy instead of pread); resident: the groups
    // (in order) that the first reader thread loads through the ring before any streamed unit
    // (disk_resident.cpp). Opens the files; throws OFL_ERR_IO naming one that does not open,
    // OFL_ERR_INVALID_ARGUMENT for a bad extent. The ring comes from the runtime's pool when one of
    // its size is there (Device::take_staging), else is pinned here.
    DiskReader(std::shared_ptr<Device> device, const ofl_disk_source& source, const std::vector<std::uint64_t>& group_bytes,
               std::vector<std::uint32_t> streamed, std::vector<const unsigned char*> hosts, Stream& copy, DiskCopySink& sink,
               std::vector<std::uint32_t> resident = {});
    ~DiskReader();
    DiskReader(const DiskReader&) = delete;
    DiskReader& operator=(const DiskReader&) = delete;

    // Waits until every resident group up to `group` has its copies queued; throws the sticky error
    // when the load stopped before (a read or a copy failed).
    void await_resident(std::uint32_t group);
    // At destruction, the ring goes to the runtime's pool behind `fence` (the last copy out of it;
    // null: none is pending) instead of being freed (a pinned free waits for the whole device).
    void pool_staging_after(std::shared_ptr<Event> fence) noexcept {
        pool_ = true;
        pool_fence_ = std::move(fence);
    }
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
    unsigned char* staging_unit(std::uint64_t unit) noexcept { return staging_ + (unit % units_) * unit_; }

    // Ticket t may be read (t is the next ticket or one asked for already). Never blocks.
    void request(std::uint64_t ticket);
    // Waits until every unit of ticket t is queued on the copy stream; throws the sticky error when
    // the pipeline stopped before (a copy that could not be queued).
    void await_queued(std::uint64_t ticket);
    // Stops queueing (idempotent): no unit's copy is queued after it returns; waits only for a unit
    // being queued at that moment, never for a read. The threads end on their own.
    void halt() noexcept;
    // Stops and joins the reader threads (idempotent): nothing is read or queued afterwards.
    void stop() noexcept;
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
    void load_resident(Bounce& bounce) noexcept;  // disk_resident.cpp; first thread, before run()
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
    // Under mutex_: keeps the first failure (the sticky error check() and the waits report); later ones are dropped.
    void keep_first_error(ofl_status status, const std::string& message) {
        if (error_status_ != OFL_OK) return;
        error_status_ = status;
        error_ = message;
    }
    // Waits on changed_ (lock held) until done(); the time waited counts in stall_ns_ (an engine waiting for the reader).
    template <typename Done>
    void wait_counted(std::unique_lock<std::mutex>& lock, Done done) {
        const auto t0 = std::chrono::steady_clock::now();
        changed_.wait(lock, done);
        stall_ns_.fetch_add(static_cast<std::uint64_t>(
                                std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count()),
                            std::memory_order_relaxed);
    }
    void issue_read_units(std::unique_lock<std::mutex>& lock);     // queues the units read, in order (lock held on entry and exit)
    Bounce bounce();  // a bounce buffer for direct reads (caller frees its data)
    void free_bounces() noexcept;

    struct UnitOf {  // what a staging unit holds: part `part` of `parts` of ticket `ticket`
        std::uint64_t ticket = 0, part = 0, parts = 0;
    };

    std::shared_ptr<Device> device_;
    Stream& copy_;
    DiskCopySink& sink_;
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
    std::uint64_t staging_capacity_ = 0;      // bytes of the pinned ring (a pooled one may be larger)
    std::shared_ptr<Event> staging_fence_;    // a pooled ring's fence: waited for before the first write
    bool pool_ = false;
    std::shared_ptr<Event> pool_fence_;
    std::vector<std::uint32_t> resident_;     // groups to load first, in order
    std::uint32_t resident_next_ = 0;         // groups below it have their resident copies queued (under mutex_)
    bool resident_done_ = false;              // the ring is free for streamed units (under mutex_)
    std::uint64_t resident_units_ = 0;        // staging units the resident load used (its last event per unit)
    bool direct_ = false;
    std::uint32_t threads_ = 1;
    double probe_buffered_gbps_ = 0, probe_direct_gbps_ = 0;
    std::vector<Bounce> bounces_;  // one per reader thread when direct, else empty

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::uint64_t requested_ = 0;
    std::uint64_t next_ticket_ = 0, next_unit_ = 0, dispatched_ = 0;  // dispatch cursor
    std::uint64_t queued_ = 0, tickets_queued_ = 0;
    bool issuing_ = false;
    std::vector<std::uint64_t> unit_read_;  // per staging unit: the unit number last read into it
    std::vector<UnitOf> unit_of_;           // per staging unit: what it holds
    std::vector<std::unique_ptr<Event>> unit_copied_;  // per staging unit: recorded after its copy out
    std::vector<Ticket> tickets_;           // per ticket % units: tickets in flight (at most one per unit)
    std::uint32_t busy_ = 0;  // reads in flight; read time counts while any is
    std::int64_t busy_since_ = 0;
    bool stopping_ = false;
    bool poisoned_ = false;  // a copy could not be queued: the pipeline stopped
    ofl_status error_status_ = OFL_OK;
    std::string error_;

    std::atomic<std::uint64_t> bytes_read_{0}, groups_read_{0}, read_ns_{0}, stall_ns_{0}, read_calls_{0};
    std::unique_ptr<std::atomic<std::int64_t>[]> times_;  // keep_times: start, end per kept ticket (made before any read)
    std::size_t kept_ = 0;
    std::vector<std::thread> workers_;
};

}  // namespace ofl
