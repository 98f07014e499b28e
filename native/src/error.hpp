// error.hpp: the one error vocabulary of the native core.
//
// Code inside the core throws ofl::Error (a status plus a message that names what failed and its
// numbers). Only api.cpp catches: every exported function turns an exception into a status and the
// thread-local last-error message. Destructors never throw; they use the non-throwing checks of
// their backend and ignore failures that come from runtime shutdown.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include "offload.h"

namespace ofl {

class Error : public std::runtime_error {
public:
    Error(ofl_status status, std::string message) : std::runtime_error(std::move(message)), status_(status) {}
    ofl_status status() const noexcept { return status_; }

private:
    ofl_status status_;
};

template <typename... Parts>
std::string concat(Parts&&... parts) {
    std::ostringstream out;
    (out << ... << std::forward<Parts>(parts));
    return out.str();
}

template <typename... Parts>
[[noreturn]] void fail(ofl_status status, Parts&&... parts) {
    throw Error(status, concat(std::forward<Parts>(parts)...));
}

// Sets and reads the calling thread's last-error message (api.cpp).
void set_last_error(const std::string& message) noexcept;
const char* last_error() noexcept;

}  // namespace ofl

// Checks a condition; on failure throws ofl::Error with the status and the message parts.
#define OFL_EXPECT(condition, status, ...)                 \
    do {                                                   \
        if (!(condition)) ::ofl::fail((status), __VA_ARGS__); \
    } while (0)
