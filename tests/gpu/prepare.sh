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
# and no nvcc, into .device-host/ (so a dry run never overwrites a .device/ prepared for a GPU); what the dry
# run needs, faster. Maven runs only when target/ is older than the sources: the newest file of java/,
# native/, CMakeLists.txt, pom.xml newer than target/offload.jar, or of tests/java, tests/resources newer than
# the newest file of target/test-classes (a find over a few hundred files: under a second; an up-to-date
# `mvn -o package` takes 11 s here). The JUnit console launcher comes from target/junit-console/ or ~/.m2,
# else from Maven Central (mvn dependency:copy). Fails when .device/ comes to 60 MiB or more (64 MiB travel
# in all, the tree included).
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

newest() { find "$@" -type f -printf '%T@\n' 2>/dev/null | sort -n | tail -1; }
older() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { exit !(a < b) }'; }  # older A B: mtime A < mtime B
if [ ! -f target/offload.jar ] || [ ! -d target/lib ] || [ ! -d target/test-classes ] ||
    older "$(newest target/offload.jar)" "$(newest java native CMakeLists.txt pom.xml)" ||
    older "$(newest target/test-classes)" "$(newest tests/java tests/resources)"; then
    say "building (mvn -DskipTests package test-compile): target/ is missing or older than the sources"
    mvn -q -B -DskipTests package test-compile >&2
else
    say "target/ is up to date with the sources: no build"
fi
junit_jar=target/junit-console/$junit
[ -f "$junit_jar" ] || junit_jar=$HOME/.m2/repository/org/junit/platform/junit-platform-console-standalone/1.13.4/$junit
if [ ! -f "$junit_jar" ]; then
    say "fetching $junit from Maven Central"
    mvn -q -B dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.13.4 -DoutputDirectory=target/junit-console >&2
    junit_jar=target/junit-console/$junit
fi
say "jar and tests built"

dev=.device
((host_only)) && dev=.device-host
rm -rf "$dev" && mkdir -p "$dev"
if ((host_only)); then
    ln -s "$jdk" "$dev/jre"  # the dry run: this machine's JDK
else
    "$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files --compress=zip-9 --output "$dev"/jre
    # The runtime's own native symbol tables are read only for crash reports: about 5 MiB.
    if command -v strip >/dev/null; then find "$dev"/jre -name '*.so' -exec chmod u+w {} + -exec strip --strip-unneeded {} +; fi
    "$dev"/jre/bin/java -version >/dev/null 2>&1 || { echo "prepare: the jlink'd runtime does not start" >&2; exit 1; }
    say "runtime linked ($modules)"
fi
cp target/offload.jar "$dev"/
cp -r target/lib "$dev"/lib
cp -r target/test-classes "$dev"/test-classes
rm -f "$dev"/test-classes/dev/offload/checkpoint/SafetensorsJazzerTest*.class  # Jazzer is tens of MiB; the parser is no GPU's
rm -rf "$dev"/test-classes/dev/offload/bench                                   # JMH benchmarks: not run there
cp "$junit_jar" "$dev"/

if ((!host_only)); then
    if command -v nvcc >/dev/null; then
        nvcc -O2 -cudart static -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
            -gencode arch=compute_90,code=compute_90 -o "$dev"/raw_h2d tests/gpu/raw_h2d.cu
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
        tar -czf "$dev"/diffusers-src.tar.gz -C "$stage" src COMMIT
        say "diffusers $(cat "$stage/COMMIT") packed"
    fi
fi
{
    echo "offload $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$([ -n "$(git status --porcelain 2>/dev/null | grep -v '^??' || true)" ] && echo ' (dirty tree)')"
    echo "prepared $(date -u '+%Y-%m-%d %H:%M UTC') with $("$jdk/bin/java" -version 2>&1 | head -1)$( ((host_only)) && echo ' (--host: no runtime, no raw_h2d)')"
} >"$dev"/SOURCE

du -shL "$dev"/* 2>/dev/null | sort -h >&2
total=$(du -smL "$dev" | cut -f1)
((host_only)) && total=$(du -sm --exclude=jre "$dev" | cut -f1)
tree=$(git ls-files -z | xargs -0 -r du -cm 2>/dev/null | tail -1 | cut -f1)
say "$dev is $total MiB (limit $limit_mib MiB); the tracked tree adds about $tree MiB (64 MiB travel in all)"
((host_only)) || echo 'carry: [".device"]'
if ((total >= limit_mib)); then
    echo "prepare: $dev is too large to carry" >&2
    exit 1
fi
