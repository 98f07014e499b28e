#!/usr/bin/env bash
# Issue 8's acceptance benchmark (tests/java/dev/offload/bench/AutoVsFixed.java): AUTO against every
# fixed strategy that fits, on a synthetic model twice the budget with compute and copy balanced.
#   scripts/auto-bench.sh [--device host|cuda] [--block-mib N] [--blocks N] [--steps N] [--repeats N] [--ratio R]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jdk=$(ls -d /usr/lib/jvm/*25* 2>/dev/null | head -1)
[ -n "$jdk" ] || { echo "auto-bench.sh: no JDK 25 under /usr/lib/jvm" >&2; exit 1; }
mvn -q -B -DskipTests test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/bench.classpath >&2
exec "$jdk/bin/java" --enable-native-access=ALL-UNNAMED -cp "target/test-classes:target/classes:$(cat target/bench.classpath)" \
  dev.offload.bench.AutoVsFixed "$@"
