#!/usr/bin/env bash
# Issue 8's acceptance benchmark (./offload autobench, java/dev/offload/cli/AutoBenchCommand.java): AUTO
# against every fixed strategy that fits, on a synthetic model twice the budget with compute and copy
# balanced (--ratio 1) or copies dominating (--ratio 0.5).
#   scripts/auto-bench.sh [--device host|cuda] [--block-mib N] [--blocks N] [--steps N] [--repeats N] [--ratio R]
set -euo pipefail
exec "$(cd "$(dirname "$0")/.." && pwd)/offload" autobench "$@"
