#include "stream_body.hpp"

#include "error.hpp"

namespace ofl {
namespace {

thread_local StreamBody::Kind tls_kind = StreamBody::Kind::None;
thread_local const DeviceArena* tls_views = nullptr;

}  // namespace

StreamBody::Scope::Scope(Kind kind, const DeviceArena* views) noexcept : saved_kind_(tls_kind), saved_views_(tls_views) {
    tls_kind = kind;
    tls_views = views;
}

StreamBody::Scope::~Scope() {
    tls_kind = saved_kind_;
    tls_views = saved_views_;
}

StreamBody::Kind StreamBody::current() noexcept { return tls_kind; }

const DeviceArena* StreamBody::views() noexcept { return tls_kind == Kind::HostKernel ? tls_views : nullptr; }

const char* StreamBody::name() noexcept { return tls_kind == Kind::HostKernel ? "host kernel" : "host function"; }

void refuse_in_stream_body(const char* call) {
    if (tls_kind == StreamBody::Kind::None) return;
    fail(OFL_ERR_NOT_SUPPORTED, call, " called from a ", StreamBody::name(),
         ": CUDA forbids runtime calls from a host function (cudaLaunchHostFunc's rule), and a call that waits would "
         "wait for the stream that runs this body; make the call from the thread that queues the work");
}

}  // namespace ofl
