// check.hpp: the few assertions the native tests need. A failed CHECK prints where and why and
// makes the test exit 1; ctest reads the exit code.
#pragma once

#include <cstdio>
#include <cstdlib>

#include "offload.h"

static int g_failures = 0;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            ++g_failures;                                                               \
        }                                                                               \
    } while (0)

#define CHECK_STATUS(call, expected)                                                              \
    do {                                                                                          \
        ofl_status s_ = (call);                                                                   \
        if (s_ != (expected)) {                                                                   \
            std::fprintf(stderr, "%s:%d: %s returned %s, expected %s (last error: %s)\n", __FILE__, \
                         __LINE__, #call, ofl_status_name(s_), ofl_status_name(expected), ofl_last_error()); \
            ++g_failures;                                                                         \
        }                                                                                         \
    } while (0)

#define CHECK_OK(call) CHECK_STATUS(call, OFL_OK)

inline int finish(const char* name) {
    if (g_failures) {
        std::fprintf(stderr, "%s: %d check(s) failed\n", name, g_failures);
        return 1;
    }
    std::printf("%s: all checks passed\n", name);
    return 0;
}
