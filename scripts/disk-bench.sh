#!/usr/bin/env bash
# The disk and low-memory sources' throughput next to a sequential read of the same file, in one run
# (docs/BENCHMARKS.md). Writes a synthetic checkpoint to a temporary folder and, page cache warm,
# alternates `dd bs=1M` (a sequential read whose buffer stays in the CPU cache: the fastest a reader
# can go) with `run --source disk --workload none` (no compute: reading and copying are the
# bottleneck), N times each; prints each pair, the medians and their ratio; then two such reads at
# once (what each of two memory streams gets on this machine: on the host backend the copy stage is a
# CPU memcpy beside the reader, on cuda it is DMA). Then one run each of
# lowmem, pinned and disk with O_DIRECT, and, where this user may drop the page cache
# (/proc/sys/vm/drop_caches), a cold buffered and a cold direct run (what AUTO's probe weighs).
#   scripts/disk-bench.sh [--dim N] [--steps N] [--repeats N] [--device NAME] [--readers N]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dim=1024 steps=10 repeats=5 device=host readers=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dim) dim=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --readers) readers="--readers $2"; shift 2 ;;
    *) echo "usage: $0 [--dim N] [--steps N] [--repeats N] [--device NAME] [--readers N]" >&2; exit 2 ;;
  esac
done
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/offload-disk-bench.XXXXXX")  # not tmpfs where /var/tmp is a disk: O_DIRECT works
trap 'rm -rf "$dir"' EXIT
file=$dir/model.safetensors
"$root/offload" synth "$file" --dim "$dim" --blocks 8 --single-blocks 12 >/dev/null
bytes=$(stat -c %s "$file")
echo "date: $(date -u +%Y-%m-%dT%H:%MZ); machine: $(nproc) CPUs, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r); file: $bytes bytes on $(df -T "$dir" | awk 'NR==2 {print $2}')"
dd if="$file" of=/dev/null bs=8M 2>/dev/null  # warms the page cache

dd_gbps() { dd if="$file" of=/dev/null bs=1M 2>&1 | tail -1 | awk -v b="$bytes" '{print b / $(NF-3) / 1e9}'; }
run_json() {  # run_json SOURCE [more run flags]: one run's JSON
  local source=$1; shift
  # shellcheck disable=SC2086
  "$root/offload" run "$file" --device "$device" --budget 160MiB --source "$source" --workload none --timing step \
    --steps "$steps" $readers "$@" --json
}
end_to_end() { jq -r --argjson bytes "$bytes" '$bytes / .wall_ms_per_step / 1e6'; }
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

seq_all="" disk_all=""
for i in $(seq "$repeats"); do
  s=$(dd_gbps)
  json=$(run_json disk)
  d=$(echo "$json" | end_to_end)
  seq_all="$seq_all $s" disk_all="$disk_all $d"
  echo "$json" | jq -r --arg s "$s" --arg d "$d" --arg i "$i" \
    '"pair \($i): dd bs=1M \($s) GB/s; run --source disk \($d) GB/s end to end (readers \(.disk_gbps) GB/s, \(.disk_io), \(.reader_threads) thread(s), staging \(.staging_bytes) B in \(.staging_unit_bytes) B units, peak pinned \(.peak_host_bytes) B)"'
done
ms=$(echo "$seq_all" | tr ' ' '\n' | grep . | median)
md=$(echo "$disk_all" | tr ' ' '\n' | grep . | median)
echo "median: dd bs=1M $ms GB/s, disk $md GB/s end to end: $(awk -v d="$md" -v s="$ms" 'BEGIN {printf "%.3f", d / s}')x"
# On the host backend the copy stage is a CPU memcpy beside the reader: two memory streams at once.
# Two sequential reads at once (this file and a copy of it) show what each gets when two share the machine.
cp "$file" "$dir/copy.safetensors" && dd if="$dir/copy.safetensors" of=/dev/null bs=8M 2>/dev/null
two_all=""
for i in $(seq "$repeats"); do
  a=$(mktemp "$dir/dd.XXXX")
  dd if="$dir/copy.safetensors" of=/dev/null bs=1M 2>&1 | tail -1 | awk -v b="$bytes" '{print b / $(NF-3) / 1e9}' >"$a" &
  one=$(dd_gbps)
  wait
  two_all="$two_all $(awk -v x="$one" '{print (x + $1) / 2}' "$a")"
done
mt=$(echo "$two_all" | tr ' ' '\n' | grep . | median)
echo "two dd bs=1M at once: $mt GB/s each (median of $repeats); disk against it: $(awk -v d="$md" -v s="$mt" 'BEGIN {printf "%.3f", d / s}')x"
rm -f "$dir/copy.safetensors"
for extra in "lowmem" "pinned" "disk --disk-io direct"; do
  # shellcheck disable=SC2086
  run_json $extra | jq -r --argjson bytes "$bytes" --arg what "$extra" \
    '"run --source \($what): \($bytes / .wall_ms_per_step / 1e6) GB/s end to end, readers \(.disk_gbps // "-") GB/s (\(.disk_io)), peak pinned \(.peak_host_bytes) B"'
done
if [ -w /proc/sys/vm/drop_caches ]; then
  for io in buffered direct; do
    sync; echo 3 > /proc/sys/vm/drop_caches
    run_json disk --disk-io "$io" --steps 1 | jq -r --arg io "$io" \
      '"cold page cache, --disk-io \($io): one step read at \(.disk_gbps) GB/s (\(.disk_read_ms) ms in reads)"'
  done
  sync; echo 3 > /proc/sys/vm/drop_caches
  run_json disk --disk-io probe --steps 1 | jq -r '"cold page cache, --disk-io probe: chose \(.disk_io) (probe: \(.disk_probe_gbps))"'
else
  echo "cold-cache runs skipped: /proc/sys/vm/drop_caches is not writable here"
fi
