#!/usr/bin/env bash
# Builds the native core host-only (Debug, -DOFL_WITH_CUDA=OFF) with sanitizers and runs the native
# tests under them, in target/sanitize-*, apart from the Maven build. Fails on the first sanitizer report.
#   scripts/sanitize.sh            AddressSanitizer (+ LeakSanitizer) with UBSan, then ThreadSanitizer
#   scripts/sanitize.sh address    ASan + LSan + UBSan only (what .ci/run runs)
#   scripts/sanitize.sh thread     TSan only
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
case "${1:-all}" in
  all) kinds=("address,undefined" "thread") ;;
  address) kinds=("address,undefined") ;;
  thread) kinds=("thread") ;;
  *) echo "usage: $0 [all|address|thread]" >&2; exit 2 ;;
esac
tests=()
for source in "$root"/tests/native/test_*.cpp; do tests+=("$(basename "$source" .cpp)"); done
for kind in "${kinds[@]}"; do
  dir=$root/target/sanitize-${kind%%,*}  # per checkout: two worktrees never share a build
  flags="-fsanitize=$kind -fno-sanitize-recover=all -fno-omit-frame-pointer"
  cmake -S "$root" -B "$dir" -DOFL_WITH_CUDA=OFF -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="$flags" >/dev/null
  cmake --build "$dir" --parallel 2 --target "${tests[@]}" >/dev/null  # the tests only: no benchmarks
  echo "== -fsanitize=$kind"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 TSAN_OPTIONS=halt_on_error=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ctest --test-dir "$dir" --output-on-failure | tail -3
done
