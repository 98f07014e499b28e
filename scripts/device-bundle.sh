#!/usr/bin/env bash
# Prepares .device/ (git-ignored) for a session lent a GPU machine, which has CUDA, CMake and
# Python but no JDK: a jlink'd Java 25 runtime, the jar and its dependencies, the compiled tests and
# the JUnit console launcher. About 55 MiB; carry it with `carry: [".device"]`, then run
# scripts/device-check.sh there. See docs/GPU.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jdk=$(ls -d /usr/lib/jvm/*25* 2>/dev/null | head -1)
[ -n "$jdk" ] || { echo "device-bundle: no JDK 25 under /usr/lib/jvm" >&2; exit 1; }
mvn -q -B -DskipTests package test-compile >&2
mvn -q -B dependency:get -Dartifact=org.junit.platform:junit-platform-console-standalone:1.11.4 >&2
rm -rf .device && mkdir -p .device
"$jdk/bin/jlink" --add-modules java.base,java.logging,java.sql,jdk.unsupported,jdk.zipfs --strip-debug --no-man-pages \
  --no-header-files --compress=zip-6 --output .device/jre
cp target/offload.jar .device/
cp -r target/lib .device/lib
cp -r target/test-classes .device/test-classes
cp ~/.m2/repository/org/junit/platform/junit-platform-console-standalone/1.11.4/junit-platform-console-standalone-1.11.4.jar .device/
du -sh .device
