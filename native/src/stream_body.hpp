// stream_body.hpp: what the calling thread is running on behalf of a stream, for CUDA's rules.
//
// A backend's trampoline marks its thread for the duration of a host function's or host kernel's
// body (StreamBody::Scope, a thread_local set and restored in place: nothing allocated). Two rules
// read the mark:
//  - CUDA forbids runtime calls from a host function (cudaLaunchHostFunc): the C API's entry points
//    that touch a runtime, stream, event, buffer or engine refuse on a marked thread (api.cpp), on
//    both backends, whatever language the body is in. A call that waits would otherwise wait for the
//    stream that runs the body, which waits for the body to return;
//  - device memory is reachable from host code only inside a host kernel (host backend):
//    ofl_device_view answers only there, for a range of the kernel's own runtime (views()).
#pragma once

namespace ofl {

class DeviceArena;

class StreamBody {
public:
    enum class Kind { None, HostFunction, HostKernel };

    class Scope {
    public:
        Scope(Kind kind, const DeviceArena* views) noexcept;
        ~Scope();
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;

    private:
        Kind saved_kind_;
        const DeviceArena* saved_views_;
    };

    static Kind current() noexcept;
    // The device memory a host kernel running on this thread may view; nullptr elsewhere.
    static const DeviceArena* views() noexcept;
    // "host function" / "host kernel" for the current body (only while one runs).
    static const char* name() noexcept;
};

// Throws OFL_ERR_NOT_SUPPORTED naming the rule when the calling thread runs a host function's or
// host kernel's body; `call` is the entry point (api.cpp passes its function name).
void refuse_in_stream_body(const char* call);

}  // namespace ofl
