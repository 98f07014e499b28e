#!/usr/bin/env bash
# Runs the JMH benchmarks (tests/java/dev/offload/bench) with a JDK 25 found as ./offload finds one.
#   scripts/bench.sh [JMH options, e.g. -p strategy=LAYERWISE -p tokens=1,2,3]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jdk=$(ls -d /usr/lib/jvm/*25* 2>/dev/null | head -1)
[ -n "$jdk" ] || { echo "bench.sh: no JDK 25 under /usr/lib/jvm" >&2; exit 1; }
mvn -q -B -DskipTests test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/bench.classpath >&2
exec "$jdk/bin/java" --enable-native-access=ALL-UNNAMED -cp "target/test-classes:target/classes:$(cat target/bench.classpath)" \
  org.openjdk.jmh.Main "$@"
