// handles.hpp: what the opaque handles of offload.h are, and the registry that makes them safe.
//
// A handle given to a caller is the address of one of the structs below, but the core never
// dereferences an address it has not found in the registry: a handle destroyed twice, used after
// destroy, or passed where another kind is expected gets OFL_ERR_CLOSED or OFL_ERR_INVALID_ARGUMENT
// instead of touching freed memory. Lookups hand out a shared_ptr, so an object destroyed on one
// thread while another is inside a call on it lives until that call returns. Every object keeps its
// Device alive, so destroying a runtime leaves its buffers, streams and events usable.
#pragma once

#include <memory>
#include <mutex>
#include <unordered_map>

#include "backend.hpp"
#include "device.hpp"
#include "error.hpp"

struct ofl_runtime {
    std::shared_ptr<ofl::Device> device;
};

struct ofl_host_buffer {
    std::shared_ptr<ofl::Device> device;
    void* address = nullptr;
    std::uint64_t bytes = 0;
    bool registered = false;  // caller memory (ofl_host_register): unregistered, never freed
    ~ofl_host_buffer() {
        device->release_host_buffer(address, registered);  // waits for every runtime's streams (device.hpp)
        device->host_usage().release(bytes);
    }
};

struct ofl_device_buffer {
    std::shared_ptr<ofl::Device> device;
    void* address = nullptr;
    std::uint64_t bytes = 0;
    ~ofl_device_buffer() { device->deallocate(address); }
};

struct ofl_stream {
    std::shared_ptr<ofl::Device> device;
    std::shared_ptr<ofl::Stream> impl;  // shared with the engines queueing on it (they hold the backend stream, not this handle)
};

struct ofl_event {
    std::shared_ptr<ofl::Device> device;
    std::unique_ptr<ofl::Event> impl;
};

namespace ofl {

template <typename T> struct HandleName;
template <> struct HandleName<ofl_runtime> { static constexpr const char* value = "runtime"; };
template <> struct HandleName<ofl_host_buffer> { static constexpr const char* value = "host buffer"; };
template <> struct HandleName<ofl_device_buffer> { static constexpr const char* value = "device buffer"; };
template <> struct HandleName<ofl_stream> { static constexpr const char* value = "stream"; };
template <> struct HandleName<ofl_event> { static constexpr const char* value = "event"; };
template <> struct HandleName<ofl_engine> { static constexpr const char* value = "engine"; };

class HandleRegistry {
public:
    static HandleRegistry& instance();

    template <typename T>
    T* add(std::shared_ptr<T> object) {
        T* handle = object.get();
        std::lock_guard<std::mutex> lock(mutex_);
        live_[handle] = Entry{HandleName<T>::value, std::move(object)};
        return handle;
    }

    // The live object behind a handle; throws when NULL, not live, or of another kind.
    template <typename T>
    std::shared_ptr<T> get(T* handle) {
        std::lock_guard<std::mutex> lock(mutex_);
        return std::static_pointer_cast<T>(find(handle, HandleName<T>::value)->second.object);
    }

    // Removes a handle and gives back its object (destroyed when the last user lets go).
    template <typename T>
    std::shared_ptr<T> take(T* handle) {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = find(handle, HandleName<T>::value);
        auto object = std::static_pointer_cast<T>(std::move(it->second.object));
        live_.erase(it);
        return object;
    }

private:
    struct Entry {
        const char* kind;
        std::shared_ptr<void> object;
    };
    using Map = std::unordered_map<const void*, Entry>;
    Map::iterator find(const void* handle, const char* kind);

    std::mutex mutex_;
    Map live_;
};

}  // namespace ofl
