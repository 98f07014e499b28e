#!/usr/bin/env bash
# scripts/device-bundle.sh [DIFFUSERS_GIT]: prepares .device/ (git-ignored) for the one device call that
# runs tests/gpu/run.sh on a GPU machine (docs/GPU.md). That machine has CUDA, CMake, gcc and Python with
# PyTorch, but no JDK and no network, and at most 64 MiB travel to it (working tree included), so:
#
#   .device/jre/                        a jlink'd Java runtime (the modules the code and its tests use, plus
#                                       jdk.jfr and the management modules); native symbol tables stripped
#   .device/offload.jar, lib/           the jar and its runtime dependencies (gson)
#   .device/test-classes/               the compiled tests and their resources (the safetensors samples)
#   .device/junit-platform-console-standalone-1.13.4.jar
#   .device/diffusers-src.tar.gz        diffusers' src/diffusers at the mirror's HEAD, plus COMMIT (compressed:
#                                       ~25 MiB of sources would not fit beside the runtime; run.sh unpacks it)
#   .device/SOURCE                      the commit (and whether the tree was dirty) the bundle was built from
#
# DIFFUSERS_GIT (argument or environment) is a git directory of huggingface/diffusers, e.g. what the
# session's `fetch github:huggingface/diffusers` returned (/work/.mirror/huggingface+diffusers/repo).
# Without it the bundle has no diffusers and the peer rows say "unavailable".
#
# Builds with Maven (-DskipTests package test-compile) only when target/ lacks the jar or the test
# classes, or the sources are newer. Fails if .device/ comes to 60 MiB or more.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
diffusers_git=${1:-${DIFFUSERS_GIT:-}}
junit="junit-platform-console-standalone-1.13.4.jar"
modules=java.base,java.logging,java.sql,jdk.unsupported,jdk.zipfs,java.management,jdk.management,jdk.jfr
limit_mib=60

jdk=""
for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/* /opt/java/* /opt/jdk* "$HOME"/.jdks/*; do
    if [ -z "$candidate" ] || [ ! -x "$candidate/bin/jlink" ] || [ ! -f "$candidate/release" ]; then continue; fi
    major=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$candidate/release")
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then jdk=$candidate; break; fi
done
[ -n "$jdk" ] || { echo "device-bundle: no JDK 25 or newer with jlink (JAVA_HOME, /usr/lib/jvm, /opt, ~/.jdks)" >&2; exit 1; }

if [ ! -f target/offload.jar ] || [ ! -d target/lib ] || [ ! -d target/test-classes ] || \
   [ -n "$(find java tests/java native CMakeLists.txt pom.xml -newer target/offload.jar -print -quit)" ]; then
    echo "device-bundle: building (mvn -DskipTests package test-compile)" >&2
    mvn -q -B -DskipTests package test-compile >&2
fi
junit_jar=$HOME/.m2/repository/org/junit/platform/junit-platform-console-standalone/1.13.4/$junit
[ -f "$junit_jar" ] || mvn -q -B dependency:get -Dartifact=org.junit.platform:junit-platform-console-standalone:1.13.4 >&2

rm -rf .device && mkdir -p .device
"$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files --compress=zip-9 \
    --output .device/jre
# The symbol tables of the runtime's own native libraries are only read for crash reports: ~5 MiB.
if command -v strip >/dev/null; then
    find .device/jre -name '*.so' -exec chmod u+w {} + -exec strip --strip-unneeded {} +
fi
.device/jre/bin/java -version >/dev/null 2>&1 || { echo "device-bundle: the jlink'd runtime does not start" >&2; exit 1; }
cp target/offload.jar .device/
cp -r target/lib .device/lib
cp -r target/test-classes .device/test-classes
# The Jazzer fuzz test needs Jazzer (tens of MiB) and fuzzes the parser, which no GPU changes: left out.
rm -f .device/test-classes/dev/offload/checkpoint/SafetensorsJazzerTest*.class
cp "$junit_jar" .device/

if [ -n "$diffusers_git" ]; then
    commit=$(git --git-dir="$diffusers_git" rev-parse HEAD)
    stage=$(mktemp -d)
    trap 'rm -rf "$stage"' EXIT
    git --git-dir="$diffusers_git" archive --format=tar HEAD src/diffusers | tar -x -C "$stage"
    # Keep every source file; drop large non-code files (none today: a few READMEs).
    find "$stage/src" -type f ! -name '*.py' -size +256k -print -delete >&2
    echo "$commit" >"$stage/COMMIT"
    tar -czf .device/diffusers-src.tar.gz -C "$stage" src COMMIT
    echo "device-bundle: diffusers $commit ($(du -sh "$stage/src" | cut -f1) of sources, $(du -h .device/diffusers-src.tar.gz | cut -f1) compressed)" >&2
else
    echo "device-bundle: no DIFFUSERS_GIT given: the bundle has no diffusers (peer rows will say unavailable)" >&2
fi

{
    echo "offload $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$( [ -n "$(git status --porcelain 2>/dev/null | grep -v '^??' || true)" ] && echo ' (dirty tree)')"
    echo "bundled $(date -u '+%Y-%m-%d %H:%M UTC') with $("$jdk/bin/java" -version 2>&1 | head -1)"
} >.device/SOURCE

du -sh .device/* | sort -h
total=$(du -sm .device | cut -f1)
tree=$(git ls-files -z | xargs -0 -r du -cm 2>/dev/null | tail -1 | cut -f1)
echo "device-bundle: .device is $total MiB (limit $limit_mib MiB); tracked files add about $tree MiB to what travels (64 MiB in all)"
if [ "$total" -ge "$limit_mib" ]; then
    echo "device-bundle: .device is too large to carry" >&2
    exit 1
fi
