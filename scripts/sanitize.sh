#!/usr/bin/env bash
# Builds the native core host-only with AddressSanitizer + UndefinedBehaviorSanitizer, then with
# ThreadSanitizer, and runs the native tests under each (in /tmp, outside the Maven build).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
for kind in "address,undefined" "thread"; do
  dir=/tmp/offload-sanitize-${kind%%,*}
  flags="-fsanitize=$kind -fno-omit-frame-pointer"
  cmake -S "$root" -B "$dir" -DOFL_WITH_CUDA=OFF -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="$flags" >/dev/null
  cmake --build "$dir" --parallel 2 >/dev/null
  echo "== -fsanitize=$kind"
  ASAN_OPTIONS=detect_leaks=1 TSAN_OPTIONS=halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1 \
    ctest --test-dir "$dir" --output-on-failure | tail -3
done
