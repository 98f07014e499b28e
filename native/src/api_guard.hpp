// api_guard.hpp: what every exported function of offload.h (api.cpp, api_engine.cpp) runs inside.
//
// guarded() turns every exception into a status and the thread-local last-error message, and first
// refuses a call made from a host function's or host kernel's body (stream_body.hpp: CUDA's rule);
// live() looks a handle up in the registry (handles.hpp); require_out() and same_runtime() are the
// argument checks every entry point shares.
#pragma once

#include <memory>
#include <new>
#include <string>
#include <utility>

#include "device.hpp"
#include "error.hpp"
#include "handles.hpp"
#include "offload.h"
#include "stream_body.hpp"

namespace ofl {

// Runs body with every exception turned into a status and the last error; body_allowed: callable
// from a host function's or host kernel's body (ofl_device_view and the pure
// ofl_staging_ring), else refused there first.
template <typename F>
ofl_status run_guarded(const char* call, bool body_allowed, F&& body) noexcept {
    try {
        if (!body_allowed) refuse_in_stream_body(call);
        body();
        return OFL_OK;
    } catch (const Error& e) {
        set_last_error(e.what());
        return e.status();
    } catch (const std::bad_alloc&) {
        set_last_error("out of host memory in the offload native core");
        return OFL_ERR_OUT_OF_HOST_MEMORY;
    } catch (const std::exception& e) {
        set_last_error(concat("internal error: ", e.what()));
        return OFL_ERR_INTERNAL;
    } catch (...) {
        set_last_error("internal error: unknown exception");
        return OFL_ERR_INTERNAL;
    }
}

template <typename F>
ofl_status guarded(const char* call, F&& body) noexcept {
    return run_guarded(call, false, std::forward<F>(body));
}

template <typename T>
void require_out(T* out, const char* name) {
    OFL_EXPECT(out != nullptr, OFL_ERR_INVALID_ARGUMENT, "out-parameter ", name, " is NULL");
}

template <typename T>
std::shared_ptr<T> live(T* handle) {
    return HandleRegistry::instance().get(handle);
}

inline void same_runtime(const std::shared_ptr<Device>& a, const std::shared_ptr<Device>& b, const char* what) {
    OFL_EXPECT(a == b, OFL_ERR_INVALID_ARGUMENT, what, " belong to different runtimes");
}

}  // namespace ofl
