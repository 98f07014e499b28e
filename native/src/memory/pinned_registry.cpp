// pinned_registry.cpp: the process-wide table of pinned host ranges (pinned_registry.hpp).
// Looked up when an engine starts and by every user copy's host side (ofl_copy_async, the host
// backend's is_pinned): lookups share a reader-writer lock (they exclude only an allocation or a
// free of pinned memory, never each other) over an ordered map.
#include "memory/pinned_registry.hpp"

#include <cstdint>
#include <iterator>
#include <map>
#include <mutex>
#include <shared_mutex>

namespace ofl::pinned {
namespace {

struct Table {
    std::shared_mutex mutex;
    std::map<std::uintptr_t, std::size_t> ranges;  // start -> bytes
};

Table& table() {
    static Table* t = new Table();  // never destroyed: runtimes may free memory during static destruction
    return *t;
}

}  // namespace

void add(const void* p, std::size_t bytes) {
    Table& t = table();
    std::unique_lock<std::shared_mutex> lock(t.mutex);
    t.ranges[reinterpret_cast<std::uintptr_t>(p)] = bytes;
}

void remove(const void* p) noexcept {
    Table& t = table();
    std::unique_lock<std::shared_mutex> lock(t.mutex);
    t.ranges.erase(reinterpret_cast<std::uintptr_t>(p));
}

bool contains(const void* p, std::size_t bytes) {
    const auto start = reinterpret_cast<std::uintptr_t>(p);
    Table& t = table();
    std::shared_lock<std::shared_mutex> lock(t.mutex);
    auto it = t.ranges.upper_bound(start);
    if (it == t.ranges.begin()) return false;
    it = std::prev(it);
    return start >= it->first && start - it->first <= it->second && bytes <= it->second - (start - it->first);
}

}  // namespace ofl::pinned
