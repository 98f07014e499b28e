#!/usr/bin/env bash
# The disk and low-memory sources' throughput next to a sequential read of the same file, page cache
# warm, in one run (docs/BENCHMARKS.md). Writes a synthetic checkpoint to a temporary folder, reads it
# with dd (once to warm the cache, then with buffers of 1 to 64 MiB), then streams it with `run` from each
# source with no compute (--workload none), so the read or copy stage is the bottleneck.
#   scripts/disk-bench.sh [--dim N] [--steps N] [--device NAME]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dim=1024 steps=6 device=host
while [ $# -gt 0 ]; do
  case "$1" in
    --dim) dim=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    *) echo "usage: $0 [--dim N] [--steps N] [--device NAME]" >&2; exit 2 ;;
  esac
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
file=$dir/model.safetensors
"$root/offload" synth "$file" --dim "$dim" --blocks 8 --single-blocks 12 >/dev/null
bytes=$(stat -c %s "$file")
echo "date: $(date -u +%Y-%m-%dT%H:%MZ); machine: $(nproc) CPUs, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r); file: $bytes bytes"
dd if="$file" of=/dev/null bs=8M 2>/dev/null  # warms the page cache
# A small buffer stays in the CPU cache; one the size of a staging slot (a group) does not, as staging does not.
for bs in 1M 8M 32M 64M; do
  echo "dd sequential read, bs=$bs: $(dd if="$file" of=/dev/null bs=$bs 2>&1 | tail -1)"
done
for source in disk lowmem pinned; do
  json=$("$root/offload" run "$file" --device "$device" --budget 160MiB --source "$source" --workload none --timing step \
    --steps "$steps" --json)
  echo "$json" | jq -r --argjson bytes "$bytes" '"run --source \(.source): staging \(.staging_bytes) B, reader \(.disk_gbps // "-") GB/s (\(.disk_read_ms // "-") ms in reads), wall \(.wall_ms_per_step) ms/step = \(($bytes / .wall_ms_per_step / 1e6) * 1000 | round / 1000) GB/s end to end, step \(.step_ms_median) ms, peak pinned \(.peak_host_bytes) B"'
done
