// disk_pipeline.cpp: the disk source's hand-off between reader threads, the copy stream and the
// engine (disk_reader.hpp says the order; disk_reader.cpp reads the files). No host function is
// queued on any stream, so CUDA's one callback thread per context is never held by a read: a
// reader thread waits for the copy out of a staging unit itself (that unit's event), and a unit's
// copy is queued only once its read is done, by the reader thread that finds it next in order.
#include <algorithm>
#include <chrono>

#include "disk/disk_reader.hpp"
#include "error.hpp"

namespace ofl {
namespace {

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

void DiskReader::request(std::uint64_t ticket) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (ticket < requested_) return;  // asked for already (a retried issue)
        requested_ = ticket + 1;
    }
    changed_.notify_all();
}

void DiskReader::finish_unit(std::uint64_t ticket, std::uint64_t unit) {
    unit_read_[unit % units_] = unit;
    Ticket& t = tickets_[ticket % units_];
    if (++t.done < t.units) return;
    groups_read_.fetch_add(1, std::memory_order_relaxed);
    if (times_) {
        const std::size_t at = 2 * (ticket % kept_);
        times_[at].store(t.start_ns, std::memory_order_relaxed);
        times_[at + 1].store(now_ns(), std::memory_order_relaxed);
    }
}

void DiskReader::issue_read_units(std::unique_lock<std::mutex>& lock) {
    if (issuing_) return;  // the thread issuing now finds this unit in its loop
    issuing_ = true;
    while (!stopping_ && !poisoned_ && queued_ < dispatched_ && unit_read_[queued_ % units_] == queued_) {
        const std::uint64_t unit = queued_;
        const UnitOf of = unit_of_[unit % units_];
        const std::uint32_t group = streamed_[of.ticket % streamed_.size()];
        const std::uint64_t from = of.part * unit_, to = std::min(group_bytes_[group], from + unit_);
        lock.unlock();
        bool queued = false;
        try {
            sink_.queue_unit(of.ticket, of.part, of.parts, staging_unit(unit), from, to);
            unit_copied_[unit % units_]->record(copy_);
            queued = true;
        } catch (const std::exception& e) {
            lock.lock();
            keep_first_error(OFL_ERR_INTERNAL, concat("disk source: queueing the copy of visit ", of.ticket, " (unit ", of.part, " of ",
                                                      of.parts, ") failed: ", e.what()));
            poisoned_ = true;  // a unit that cannot be queued: nothing after it is, and no one waits for it
            lock.unlock();
        }
        lock.lock();
        if (!queued) break;
        ++queued_;
        if (of.part + 1 == of.parts) ++tickets_queued_;
        changed_.notify_all();
    }
    issuing_ = false;
    changed_.notify_all();
}

void DiskReader::run(Bounce& bounce) noexcept {
    for (;;) {
        std::uint64_t ticket, part, unit;
        bool skip;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            // Unit j goes into staging unit j % units once unit j - units has been queued (its
            // copy's event recorded); the wait for that copy itself is made below, on this thread.
            changed_.wait(lock, [&] {
                return stopping_ || poisoned_ || (resident_done_ && next_ticket_ < requested_ && dispatched_ < queued_ + units_);
            });
            if (stopping_ || poisoned_) return;
            ticket = next_ticket_;
            part = next_unit_;
            unit = dispatched_++;
            const std::uint32_t group = streamed_[ticket % streamed_.size()];
            Ticket& t = tickets_[ticket % units_];  // free: the ticket units_ before ended units_ units ago or more
            if (part == 0) t = Ticket{ticket, units_of_group(group_bytes_[group]), 0, now_ns()};
            unit_of_[unit % units_] = UnitOf{ticket, part, t.units};
            if (++next_unit_ == t.units) {
                ++next_ticket_;
                next_unit_ = 0;
            }
            skip = error_status_ != OFL_OK;  // after a fault nothing is read, but nothing waits forever
            if (busy_++ == 0) busy_since_ = now_ns();
        }
        if (!skip) {
            const std::uint32_t group = streamed_[ticket % streamed_.size()];
            const std::uint64_t from = part * unit_, to = std::min(group_bytes_[group], from + unit_);
            try {
                // its previous unit (of this stream or of the resident load) is copied out
                if (unit >= units_ || unit < resident_units_) unit_copied_[unit % units_]->synchronize();
                if (to > from) read_range(group, from, to, staging_unit(unit), bounce.data ? &bounce : nullptr);
            } catch (const Error& e) {
                std::lock_guard<std::mutex> lock(mutex_);
                keep_first_error(e.status(), e.what());
            } catch (...) {
                std::lock_guard<std::mutex> lock(mutex_);
                keep_first_error(OFL_ERR_INTERNAL, concat("disk source: reading group ", group, " failed with an unknown exception"));
            }
        }
        {
            std::unique_lock<std::mutex> lock(mutex_);
            if (--busy_ == 0) read_ns_.fetch_add(static_cast<std::uint64_t>(now_ns() - busy_since_), std::memory_order_relaxed);
            finish_unit(ticket, unit);
            issue_read_units(lock);
        }
        changed_.notify_all();
    }
}

void DiskReader::await_queued(std::uint64_t ticket) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (tickets_queued_ > ticket) return;
    wait_counted(lock, [&] { return tickets_queued_ > ticket || poisoned_ || stopping_; });
    if (tickets_queued_ <= ticket) {
        OFL_EXPECT(error_status_ == OFL_OK, error_status_, error_);
        fail(OFL_ERR_CLOSED, "disk source: stopped before visit ", ticket, " was queued");
    }
}

void DiskReader::halt() noexcept {
    std::unique_lock<std::mutex> lock(mutex_);
    stopping_ = true;
    changed_.notify_all();
    // A unit being queued now (issue_read_units, outside the lock) finishes first: after this no
    // copy is queued. Reads in progress are not waited for: they end on their own, queue nothing,
    // and their threads are joined by stop().
    changed_.wait(lock, [&] { return !issuing_; });
}

void DiskReader::stop() noexcept {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_ && workers_.empty()) return;
        stopping_ = true;
    }
    changed_.notify_all();
    for (std::thread& w : workers_) w.join();
    workers_.clear();
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

void DiskReader::check() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (error_status_ != OFL_OK) throw Error(error_status_, error_);
}

ofl_disk_stats DiskReader::stats() const {
    ofl_disk_stats s{};
    s.struct_size = sizeof s;
    s.staging_slots = units_;
    s.staging_unit_bytes = unit_;
    s.read_calls = read_calls_.load();
    s.staging_bytes = staging_bytes_;
    s.bytes_read = bytes_read_.load();
    s.groups_read = groups_read_.load();
    s.read_ms = static_cast<double>(read_ns_.load()) / 1e6;
    s.stall_ms = static_cast<double>(stall_ns_.load()) / 1e6;
    s.io_mode = hosts_.empty() ? (direct_ ? OFL_DISK_IO_DIRECT : OFL_DISK_IO_BUFFERED) : 0;
    s.reader_threads = threads_;
    s.probe_buffered_gbps = probe_buffered_gbps_;
    s.probe_direct_gbps = probe_direct_gbps_;
    return s;
}

}  // namespace ofl
