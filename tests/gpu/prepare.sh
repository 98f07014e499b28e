#!/usr/bin/env bash
# tests/gpu/prepare.sh: builds, here, everything the GPU calls of tests/gpu/run.sh carry, into .device/
# (git-ignored), and prints its size and the carry list (docs/GPU.md).
#
#   .device/jre/               a jlink'd Java 25 runtime: only the modules the jar, the tests and the JUnit
#                              console launcher use; debug data and native symbol tables stripped
#   .device/offload.jar, lib/  the jar (its native libraries built here with the CUDA backend: nvcc 13) and gson
#   .device/test-classes/      the compiled tests and their resources (the Jazzer fuzz test left out)
#   .device/junit-platform-console-standalone-1.13.4.jar   from Maven Central through ~/.m2
#   .device/raw_h2d            tests/gpu/raw_h2d.cu built with this machine's nvcc (cudart static, sm_80/sm_90 + PTX)
#   .device/diffusers-src.tar.gz   only with DIFFUSERS_GIT=<a git dir of huggingface/diffusers>: its src/diffusers
#   .device/SOURCE             the commit bundled and when
#
# Usage: tests/gpu/prepare.sh [--host]. --host (the dry run's): no jlink'd runtime (the JDK here runs it)
# and no nvcc; what the dry run needs, faster. Maven runs only when target/ is missing or older than the
# sources. Fails when .device/ comes to 60 MiB or more (64 MiB travel in all, the tree included).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
host_only=0
[ "${1:-}" = --host ] && host_only=1
junit=junit-platform-console-standalone-1.13.4.jar
# jdeps over the jar, gson and the tests says java.base, java.logging, jdk.unsupported (gson), java.management
# (tests' thread checks) and java.desktop (gson's java.beans reference, never loaded: left out); the console
# launcher adds java.scripting-free jdk.zipfs for class-path scanning of jars; jdk.jfr for the JFR events.
modules=java.base,java.logging,jdk.unsupported,jdk.zipfs,java.management,jdk.management,jdk.jfr
limit_mib=60
t0=$(date +%s)
say() { echo "prepare: $* ($(($(date +%s) - t0)) s)" >&2; }

jdk=""
for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*; do
    if [ -z "$candidate" ] || [ ! -x "$candidate/bin/jlink" ] || [ ! -f "$candidate/release" ]; then continue; fi
    major=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$candidate/release")
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then jdk=$candidate; break; fi
done
[ -n "$jdk" ] || { echo "prepare: no JDK 25 or newer with jlink (JAVA_HOME, /usr/lib/jvm)" >&2; exit 1; }

if [ ! -f target/offload.jar ] || [ ! -d target/lib ] || [ ! -d target/test-classes ] ||
    [ -n "$(find java tests/java tests/resources native CMakeLists.txt pom.xml -newer target/offload.jar -print -quit)" ]; then
    say "building (mvn -DskipTests package test-compile)"
    mvn -q -B -DskipTests package test-compile >&2
fi
junit_jar=$HOME/.m2/repository/org/junit/platform/junit-platform-console-standalone/1.13.4/$junit
[ -f "$junit_jar" ] || mvn -q -B dependency:get -Dartifact=org.junit.platform:junit-platform-console-standalone:1.13.4 >&2
say "jar and tests built"

rm -rf .device && mkdir -p .device
if ((host_only)); then
    ln -s "$jdk" .device/jre  # the dry run: this machine's JDK
else
    "$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files --compress=zip-9 --output .device/jre
    # The runtime's own native symbol tables are read only for crash reports: about 5 MiB.
    if command -v strip >/dev/null; then find .device/jre -name '*.so' -exec chmod u+w {} + -exec strip --strip-unneeded {} +; fi
    .device/jre/bin/java -version >/dev/null 2>&1 || { echo "prepare: the jlink'd runtime does not start" >&2; exit 1; }
    say "runtime linked ($modules)"
fi
cp target/offload.jar .device/
cp -r target/lib .device/lib
cp -r target/test-classes .device/test-classes
rm -f .device/test-classes/dev/offload/checkpoint/SafetensorsJazzerTest*.class  # Jazzer is tens of MiB; the parser is no GPU's
rm -rf .device/test-classes/dev/offload/bench                                   # JMH benchmarks: not run there
cp "$junit_jar" .device/

if ((!host_only)); then
    if command -v nvcc >/dev/null; then
        nvcc -O2 -cudart static -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
            -gencode arch=compute_90,code=compute_90 -o .device/raw_h2d tests/gpu/raw_h2d.cu
        say "raw_h2d built ($(nvcc --version | grep -o 'release [0-9.]*'))"
    else
        echo "prepare: no nvcc here: raw_h2d is built on the device by run.sh --call 1" >&2
    fi
    if [ -n "${DIFFUSERS_GIT:-}" ]; then
        stage=$(mktemp -d)
        trap 'rm -rf "$stage"' EXIT
        git --git-dir="$DIFFUSERS_GIT" archive --format=tar HEAD src/diffusers | tar -x -C "$stage"
        find "$stage/src" -type f ! -name '*.py' -size +256k -delete
        git --git-dir="$DIFFUSERS_GIT" rev-parse HEAD >"$stage/COMMIT"
        tar -czf .device/diffusers-src.tar.gz -C "$stage" src COMMIT
        say "diffusers $(cat "$stage/COMMIT") packed"
    fi
fi
{
    echo "offload $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$([ -n "$(git status --porcelain 2>/dev/null | grep -v '^??' || true)" ] && echo ' (dirty tree)')"
    echo "prepared $(date -u '+%Y-%m-%d %H:%M UTC') with $("$jdk/bin/java" -version 2>&1 | head -1)$( ((host_only)) && echo ' (--host: no runtime, no raw_h2d)')"
} >.device/SOURCE

du -shL .device/* 2>/dev/null | sort -h >&2
total=$(du -smL .device | cut -f1)
((host_only)) && total=$(du -sm --exclude=jre .device | cut -f1)
tree=$(git ls-files -z | xargs -0 -r du -cm 2>/dev/null | tail -1 | cut -f1)
say ".device is $total MiB (limit $limit_mib MiB); the tracked tree adds about $tree MiB (64 MiB travel in all)"
echo 'carry: [".device"]'
if ((total >= limit_mib)); then
    echo "prepare: .device is too large to carry" >&2
    exit 1
fi
