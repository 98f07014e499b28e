#!/usr/bin/env bash
# Runs on the GPU machine, in the repository root, with .device/ carried (scripts/device-bundle.sh):
# builds liboffload there with CMake (CUDA found), runs the native tests, the JUnit suites against
# that library (the cuda conformance suite included), compute-sanitizer on the native tests if
# present, then `info` and `demo` on cuda. Logs go to $OUT when set.
set -uo pipefail
out=${OUT:-/tmp/offload-device}
mkdir -p "$out"
java=.device/jre/bin/java
cmake -S . -B /tmp/ofl-build -DCMAKE_BUILD_TYPE=Release >"$out/cmake.log" 2>&1 && \
  cmake --build /tmp/ofl-build --parallel 16 >>"$out/cmake.log" 2>&1 || { tail -30 "$out/cmake.log"; exit 1; }
lib=$(ls /tmp/ofl-build/liboffload.so)
ctest --test-dir /tmp/ofl-build --output-on-failure 2>&1 | tee "$out/ctest.log" | tail -5
if command -v compute-sanitizer >/dev/null; then
  compute-sanitizer --tool memcheck /tmp/ofl-build/test_engine 2>&1 | tail -5 | tee "$out/sanitizer.log"
fi
cp_="$(pwd)/.device/test-classes:$(pwd)/.device/offload.jar:$(ls "$(pwd)"/.device/lib/*.jar | tr '\n' ':')"
# On the class path (not -jar), so tests that start a second JVM hand it the same class path.
"$java" --enable-native-access=ALL-UNNAMED -Doffload.library="$lib" -Doffload.basedir="$(pwd)" \
  -Doffload.fixtures="$(pwd)/../shared/fixtures" -cp "$cp_:$(pwd)/.device/junit-platform-console-standalone-1.11.4.jar" \
  org.junit.platform.console.ConsoleLauncher execute --scan-class-path "$(pwd)/.device/test-classes" --details=summary \
  2>&1 | tee "$out/junit.log" | tail -25
run() { "$java" --enable-native-access=ALL-UNNAMED -Doffload.library="$lib" -cp "$cp_" dev.offload.cli.Main "$@"; }
run info --device cuda --json | tee "$out/info.json"
run demo --device cuda --tokens 8 2>&1 | tee "$out/demo.txt"
run demo --device cuda --tokens 8 --json > "$out/demo.json" 2>/dev/null
