#!/usr/bin/env bash
# tests/gpu/run.sh: what a session lent a GPU runs, in two device calls of at most 5 minutes each (docs/GPU.md).
#
#   here:   tests/gpu/prepare.sh                                  (builds .device/: jar, tests, runtime, raw_h2d)
#   there:  run(command="bash tests/gpu/run.sh --call 1", carry=[".device"], timeout_s=330)
#           run(command="bash tests/gpu/run.sh --call 2", carry=[".device"], timeout_s=330)
#   here, without a GPU:  bash tests/gpu/run.sh --dry-run    (both calls on the host backend; runs prepare.sh --host
#                         first, into .device-host/, which rebuilds target/ only when it is older than the sources)
#
# Design notes:
# - Most valuable first. Call 1: versions and info; the driver check (a driver too old for the CUDA 13
#   libraries built here: the library is built on the device first, and results.md says so); raw
#   cudaMemcpyAsync against the runtime's H2D; the sweep at balance for block, leaf and layerwise (host
#   time per group from its leaf line); the JUnit classes with a cuda case (junit_gpu_classes). Call 2:
#   the rest of the sweep, the disk source against dd, the peers, one compute-sanitizer memcheck run,
#   AUTO. When call 1 builds on the device (up to 250 s of its 280), its JUnit stage moves to the head of
#   call 2, and results.md says so. Nothing CI covers (no ctest, no host-only JUnit class).
# - The jar's own cuda libraries are used unless a device build ran and its configure reported the cuda
#   backend enabled (then -Doffload.library points at that build).
# - Time-boxed: the call keeps to TOTAL_S (280 s) by itself: every command runs under `timeout` with the
#   smaller of its cap and the time left; a failed or timed-out command is recorded and the call goes on.
# - Saved as it goes: $OUT (./gpu-results when OUT is unset) gets runs.tsv, checks.tsv, notes.tsv,
#   summary.tsv, body.md, raw_h2d.jsonl, peer.json and logs/ after every command, and results.md is
#   remade from them by report.py each time (whole or absent: written to a temporary and renamed).
# - A tool this machine lacks (a GPU, compute-sanitizer, PyTorch) gets a host stand-in (raw memcpy for
#   raw_h2d, the host conformance and engine suites for the cuda ones) or a line under "Not run here",
#   outside the verdict table. The dry run exits 0 when every stage ran, FAIL verdicts included.
set -uo pipefail

CALLS="" DRY=0
while [ $# -gt 0 ]; do
    case $1 in
        --call) CALLS=$2; shift 2 ;;
        --dry-run) DRY=1; shift ;;
        *) echo "usage: run.sh --call 1|2 [--dry-run] | --dry-run" >&2; exit 2 ;;
    esac
done
[ -z "$CALLS" ] && { [ $DRY = 1 ] && CALLS="1 2" || { echo "usage: run.sh --call 1|2 [--dry-run] | --dry-run" >&2; exit 2; }; }

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
OUT=${OUT:-$ROOT/gpu-results}
# Each run starts its results afresh (a GPU call's $OUT is empty anyway; a dry run reuses ./gpu-results).
rm -rf "$OUT/logs" && mkdir -p "$OUT/logs"
rm -f "$OUT"/{runs,checks,notes,moved,summary}.tsv "$OUT"/{body,header,results}.md "$OUT/raw_h2d.jsonl" "$OUT/peer.json"
DEV=$ROOT/.device
BUILD=${OFL_DEVICE_BUILD:-/tmp/ofl-build}  # the device build (an old driver), kept for call 2 on the same warm machine
if [ $DRY = 1 ]; then
    DEV=$ROOT/.device-host  # never a .device/ prepared for a GPU
    BUILD=${OFL_DEVICE_BUILD:-$ROOT/target/device-build-dry}
    DEVICE=host DIM=${DIM:-256} BLOCKS=${BLOCKS:-4} BUDGET=${BUDGET:-64MiB} COUNTS=${COUNTS:-3} STEPS=${STEPS:-4} PROBE=${PROBE:-8} REPEATS=3 NOVERIFY=()
    AUTO_ARGS="--block-mib 2 --steps 8 --repeats 2"
    # Always: it rebuilds target/ only when older than the sources (a find, under a second), so no dry run tests stale code.
    T_PREPARE=$(date +%s)
    bash tests/gpu/prepare.sh --host >"$OUT/logs/prepare.log" 2>&1 || { echo "prepare failed: $OUT/logs/prepare.log" >&2; exit 1; }
    T_PREPARE=$(($(date +%s) - T_PREPARE))
    echo "== prepare.sh --host: $T_PREPARE s ($(grep -c -- 'building (mvn' "$OUT/logs/prepare.log") Maven build)" >&2
else
    DEVICE=cuda DIM=${DIM:-2048} BLOCKS=${BLOCKS:-24} BUDGET=${BUDGET:-1GiB} COUNTS=${COUNTS:-3} STEPS=${STEPS:-6} PROBE=${PROBE:-1024} REPEATS=10
    NOVERIFY=(--no-verify)  # the Java reference of a 2.25 GiB model at thousands of tokens would take hours: call 2 verifies a small one
    AUTO_ARGS="--block-mib 64 --steps 20 --repeats 3"
fi
TOTAL_S=${TOTAL_S:-280}
WORK=/tmp
[ $DRY = 1 ] && WORK=$ROOT/target/gpu-dry && mkdir -p "$WORK"  # this worktree's own: no other checkout's dry run shares it
CK=$WORK/ofl-lin-$DIM-$BLOCKS.safetensors SMALL=$WORK/ofl-small.safetensors
for d in /usr/local/cuda/bin /usr/local/cuda/compute-sanitizer; do [ -d "$d" ] && PATH=$PATH:$d; done
export PATH PYTHONUNBUFFERED=1
JAVA=$DEV/jre/bin/java
LIBPROPS=()
[ -f "$BUILD/cuda-enabled" ] && [ $DRY = 0 ] && LIBPROPS=(-Doffload.library="$BUILD/liboffload.so" -Doffload.workload.library="$BUILD/liboffload_workload.so")
# shellcheck disable=SC2016 # java.util.Formatter's $s
JCLI=("$JAVA" --enable-native-access=ALL-UNNAMED '-Djava.util.logging.SimpleFormatter.format=offload: %4$s: %5$s%n')

CALL=0 STAGE="" T_START=0 STAGES_RUN=0
left() { echo $((TOTAL_S - ($(date +%s) - T_START))); }
md() { printf '%s\n' "$@" >>"$OUT/body.md"; }
note() { printf '%s\t%s\t%s\n' "$CALL" "$1" "$2" >>"$OUT/notes.tsv"; md "not run here: $2" ""; }
moved() { printf '%s\t%s\t%s\n' "$CALL" "$1" "$2" >>"$OUT/moved.tsv"; md "**$1: $2**" ""; }
check() { printf '%s\t%s\t%s\t%s\n' "$CALL" "$1" "$2" "$3" >>"$OUT/checks.tsv"; }
report() {
    local calls
    calls=$(echo "$CALLS" | tr ' ' ',')
    python3 tests/gpu/report.py --dir "$OUT" --calls "$calls" --out "$OUT/results.md" 2>"$OUT/logs/report.err" || cp "$OUT/body.md" "$OUT/results.md"
}
stage() { STAGE=$1; md "" "## call $CALL: $1" ""; echo "== call $CALL: $1 ($(left) s left)" >&2; }

# cmd NAME CAP DISPLAY -- COMMAND...: runs it under timeout (the smaller of CAP and the time left), logs, records, saves.
LAST_RC=0 LAST_LOG=/dev/null LAST_WALL=0
cmd() {
    local name=$1 cap=$2 display=$3
    shift 4
    local lim
    lim=$(left)
    ((lim > cap)) && lim=$cap
    LAST_LOG="$OUT/logs/$CALL-$name.log"
    if ((lim < 2)); then
        LAST_RC=timeout
        printf '%s\t%s\t%s\t-\t-\tout of time\n' "$CALL" "$STAGE" "$name" >>"$OUT/summary.tsv"
        md "#### $name" "" "out of time before it started" ""
        : >"$LAST_LOG"
        return 0
    fi
    local t0 rc status
    t0=$(date +%s.%N)
    timeout -k 5 "$lim" "$@" >"$LAST_LOG" 2>&1
    rc=$?
    LAST_WALL=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    case $rc in 0) status=ok ;; 124 | 137) status="TIMEOUT (limit $lim s)" ;; *) status="exit $rc" ;; esac
    LAST_RC=$rc
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$CALL" "$STAGE" "$name" "$rc" "$LAST_WALL" "$status" >>"$OUT/summary.tsv"
    md "#### $name" "" '```' "\$ $display" '```' "exit $rc, $LAST_WALL s (limit $lim s): $status" ""
    echo "   $name: $status, $LAST_WALL s" >&2
}
key() {  # key [PATTERN [MAX]]: the key lines of the last command's log into body.md
    local pattern=${1:-} max=${2:-20} text
    if [ -n "$pattern" ]; then text=$(grep -E -a -- "$pattern" "$LAST_LOG" | head -n "$max"); else text=$(head -n "$max" "$LAST_LOG"); fi
    [ -z "$text" ] && text=$(tail -n 6 "$LAST_LOG")
    { echo '```'; printf '%s\n' "${text:-(no output)}"; echo '```'; echo; } >>"$OUT/body.md"
    report
}
jcmd() {  # jcmd NAME CAP ARGS...: one CLI command
    local name=$1 cap=$2
    shift 2
    cmd "$name" "$cap" "<java> $*" -- "${JCLI[@]}" "${LIBPROPS[@]}" -cp "$DEV/offload.jar:$DEV/lib/*" dev.offload.cli.Main "$@"
}
record() {  # record LABEL: the last command's last JSON line into runs.tsv
    printf '%s\t%s\t%s\t%s\n' "$1" "$LAST_RC" "$LAST_WALL" "$(grep -a '^{' "$LAST_LOG" | tail -n 1 || true)" >>"$OUT/runs.tsv"
}
sweep() {  # sweep NAME CAP CHECKPOINT LABEL ARGS...: one sweep; each JSON line into runs.tsv as LABEL/<variant>/<tokens>
    local name=$1 cap=$2 ck=$3 label=$4
    shift 4
    jcmd "$name" "$cap" sweep "$ck" --workload linear --device "$DEVICE" --budget "$BUDGET" --steps "$STEPS" --json "$@"
    grep -a '^{' "$LAST_LOG" | LABEL="$label" RC="$LAST_RC" WALL="$LAST_WALL" python3 -c 'import json, os, sys
for line in sys.stdin:
    j = json.loads(line)
    print("%s/%s/%s\t%s\t%s\t%s" % (os.environ["LABEL"], j["variant"], j["tokens"], os.environ["RC"], os.environ["WALL"], line.strip()))' >>"$OUT/runs.tsv"
    key "^\{" 3
}
synth() {
    if [ ! -f "$CK" ]; then
        jcmd synth-linear 120 synth "$CK" --workload linear --dim "$DIM" --blocks "$BLOCKS"
        key "wrote"
    fi
}
# Skips by assumption that are no failure: "MESSAGE REGEX<TAB>why", matched against the message. On the dry run
# (no GPU) the cuda cases' "no CUDA device" skips join them.
ALLOWED_SKIPS=$'cuBLAS (not found|at .* could not be loaded)\tfor want of cuBLAS
a second CUDA device is needed\ta second CUDA device is needed (CudaTwoDevicesTest; the lent machines have one GPU)
on cuda such a read is a SIGSEGV\tby design: that host-read case is for the host backend; on cuda test_strict_host checks it in a child'
[ $DRY = 1 ] && ALLOWED_SKIPS+=$'\nno CUDA device|cuda backend not compiled in\tno GPU here (dry run): the cuda cases skip'
junit_verdict() {  # junit_verdict NAME: no failure, and no test skipped by assumption but for the reasons ALLOWED_SKIPS names
    local found ok failed aborted allowed why
    n() { grep -a -m1 -E "tests $1 " "$LAST_LOG" | grep -oE '[0-9]+' | head -1; }
    found=$(n found) ok=$(n successful) failed=$(n failed) aborted=$(n aborted)
    # One line per "Assumption failed:" (the tree's ■ lines): the first allowed reason that matches, else "other".
    why=$(grep -a -o 'Assumption failed: .*' "$LAST_LOG" | ALLOWED="$ALLOWED_SKIPS" awk '
        BEGIN { k = split(ENVIRON["ALLOWED"], rows, "\n"); for (i = 1; i <= k; i++) { split(rows[i], f, "\t"); re[i] = f[1]; name[i] = f[2] } }
        { for (i = 1; i <= k; i++) if ($0 ~ re[i]) { count[i]++; allowed++; next } other++ }
        END { for (i = 1; i <= k; i++) if (count[i]) printf "%s%d %s", (sep++ ? "; " : ""), count[i], name[i]
              printf "\t%d\t%d\n", allowed, other }')
    allowed=$(cut -f2 <<<"$why")
    local other=$((${aborted:-0} - ${allowed:-0}))
    ((other < $(cut -f3 <<<"$why"))) && other=$(cut -f3 <<<"$why")
    local v=FAIL
    [ "$LAST_RC" = 0 ] && [ "${failed:-1}" = 0 ] && [ "${ok:-0}" -gt 0 ] && [ -n "$aborted" ] && ((other <= 0)) && v=PASS
    check "$1" "$v" "found ${found:--}, successful ${ok:--}, failed ${failed:--}, skipped by assumption ${aborted:--}: ${allowed:-0} allowed ($(cut -f1 <<<"$why" | sed 's/^$/none/')), $other counted as failures; exit $LAST_RC"
    { echo '```'; grep -a -E 'tests (found|successful|failed|aborted)|✘' "$LAST_LOG" | head -20
      echo "skipped by assumption:"; grep -a '■' "$LAST_LOG" | sed 's/^[│├└─ ]*//' | cut -c1-220 | head -40; echo '```'; echo; } >>"$OUT/body.md"
    report
}
# The test classes with a cuda case: every Cuda*Test, and each class that asks TestBackends whether cuda answers
# (their class files name cudaUnavailableBecause: StrictBackendTest, SharedHostTest, DiskSourceTest, ...; their
# host cases run too, about 8 s here). Read from the carried classes, so a new test with a cuda case is never left out.
junit_gpu_classes() {
    (cd "$DEV/test-classes" && grep -rlF --include='*.class' cudaUnavailableBecause . | sed 's#^\./##; s#\$.*##; s#\.class$##; s#/#.#g' |
        grep -v '\.TestBackends$' | sort -u)
}
junit_stage() {
    stage "JUnit: the classes with a cuda case"
    local classes regex
    classes=$(junit_gpu_classes)
    regex='.*\.Cuda.*Test'$(printf '|%s' $classes | sed 's/\./\\./g')
    md "classes: $(echo $classes | sed 's/dev\.offload\.//g')" ""
    local junit=("$JAVA" --enable-native-access=ALL-UNNAMED -Xmx4g -Doffload.basedir="$ROOT" "${LIBPROPS[@]}"
        -cp "$DEV/test-classes:$DEV/offload.jar:$DEV/lib/*:$DEV/junit-platform-console-standalone-1.13.4.jar"
        org.junit.platform.console.ConsoleLauncher execute --scan-class-path "$DEV/test-classes" --details=tree --disable-banner --disable-ansi-colors)
    if [ $DRY = 1 ]; then
        note "JUnit cuda cases" "no GPU: the same classes run their host cases, with the host conformance and engine suites (HostConformanceTest, HostOffloaderTest) standing in for the cuda ones"
        cmd junit-host 120 "<junit> --include-classname '.*\.Host(Conformance|Offloader)Test|.*\.Cuda.*Test|<the classes above>'" -- \
            "${junit[@]}" --include-classname ".*\.Host(Conformance|Offloader)Test|$regex"
        junit_verdict "JUnit: the classes with a cuda case (host cases) and the host stand-ins"
    else
        cmd junit-cuda 120 "<junit> --include-classname '.*\.Cuda.*Test|<the classes above>'" -- "${junit[@]}" --include-classname "$regex"
        junit_verdict "JUnit: the classes with a cuda case, no failure, skips only as allowed"
    fi
}
# The CUDA version the driver supports ("" without a GPU); OFL_DRIVER_CUDA overrides it (to try an old driver's path).
driver_cuda() {
    if [ -n "${OFL_DRIVER_CUDA:-}" ]; then echo "$OFL_DRIVER_CUDA"; return; fi
    [ $DRY = 1 ] || nvidia-smi 2>/dev/null | grep -o 'CUDA Version: [0-9.]*' | grep -o '[0-9.]*$'
}
driver_too_old() { local v; v=$(driver_cuda); [ -n "$v" ] && [ "${v%%.*}" -lt 13 ]; }
# device_build: the libraries and raw_h2d built with the device's own CUDA (the driver is too old for CUDA 13).
device_build() {
    local t0
    t0=$(date +%s)
    md "**The driver supports CUDA $(driver_cuda), older than the CUDA 13 libraries built here: building on the device first.**" ""
    cmd configure 60 "cmake -S . -B $BUILD -DCMAKE_BUILD_TYPE=Release -DOFL_WERROR=OFF -DCMAKE_CUDA_ARCHITECTURES=native" -- \
        cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DOFL_WERROR=OFF -DCMAKE_CUDA_ARCHITECTURES=native
    key "offload:|Error"
    if grep -q "CUDA backend ENABLED" "$LAST_LOG"; then
        cmd build 150 "cmake --build $BUILD --target offload offload_workload --parallel 16" -- \
            cmake --build "$BUILD" --target offload offload_workload --parallel 16
        key "error|Error"
        if [ $DRY = 0 ] && command -v nvcc >/dev/null; then cmd raw-h2d-build 40 "nvcc -O2 -o .device/raw_h2d tests/gpu/raw_h2d.cu" -- nvcc -O2 -o "$DEV/raw_h2d" tests/gpu/raw_h2d.cu; fi
        if [ -f "$BUILD/liboffload.so" ] && [ $DRY = 0 ]; then
            touch "$BUILD/cuda-enabled"  # call 2, on the same warm machine, uses it too
            LIBPROPS=(-Doffload.library="$BUILD/liboffload.so" -Doffload.workload.library="$BUILD/liboffload_workload.so")
            md "The Java stages use the device build's libraries (its configure reported the cuda backend enabled)." ""
        fi
        touch "$BUILD/junit-in-call-2"  # whichever call builds: the JUnit stage is call 2's
        [ "$CALL" = 1 ] && moved "JUnit moved to call 2" "the device build took $(($(date +%s) - t0)) s of call 1's $TOTAL_S s; the JUnit stage runs first in call 2"
    else
        md "The device build's configure did not report the cuda backend enabled: the jar's libraries stay." ""
    fi
    report
}

call1() {
    stage "versions and info"
    if command -v nvidia-smi >/dev/null; then
        cmd nvidia-smi 15 "nvidia-smi --query-gpu=... ; nvidia-smi | grep 'CUDA Version'" -- bash -c \
            'nvidia-smi --query-gpu=name,driver_version,memory.total,pcie.link.gen.current,pcie.link.width.current,clocks.max.sm --format=csv; nvidia-smi | grep -o "CUDA Version: [0-9.]*"'
        key
    else
        note versions "no GPU (nvidia-smi absent): the cuda stages run on the host backend"
    fi
    cmd versions 20 "nvcc, java, python3 (torch), compute-sanitizer, host" -- bash -c \
        "nvcc --version 2>&1 | grep release; '$JAVA' -version 2>&1 | head -1; python3 -c 'import torch; print(\"torch\", torch.__version__, torch.version.cuda)' 2>&1 | tail -1; compute-sanitizer --version 2>&1 | grep -i version | head -1; uname -r; echo cpus \$(nproc); free -g | head -2; cat '$DEV/SOURCE'"
    key

    stage "driver check"
    if [ -z "$(driver_cuda)" ]; then
        note "driver check" "no GPU driver to check (the dry run uses the host backend)"
    elif driver_too_old; then
        device_build
    else
        md "The driver supports CUDA $(driver_cuda): the jar's libraries (CUDA 13, built here) are used." ""
    fi
    jcmd info 30 info --device "$DEVICE" --json
    record info/default
    key '^\{'

    stage "H2D: the runtime against raw cudaMemcpyAsync"
    if [ $DRY = 0 ] && [ -x "$DEV/raw_h2d" ]; then
        cmd raw-h2d 40 ".device/raw_h2d 67108864 268435456" -- "$DEV/raw_h2d" 67108864 268435456
    else
        [ $DRY = 1 ] && note "raw_h2d" "no GPU: a raw memcpy of the same sizes in python3 stands in for raw cudaMemcpyAsync"
        cmd raw-memcpy 40 "python3: memcpy of 64 and 256 MiB, median of 5 (the host stand-in)" -- python3 -c 'import json, time
for n in (64 << 20, 256 << 20):
    for memory in ("pinned", "pageable"):
        src, dst = bytearray(b"\x5a" * n), bytearray(n)
        ts = []
        for _ in range(6):
            t = time.perf_counter(); dst[:] = src; ts.append(time.perf_counter() - t)
        ts = sorted(ts[1:])
        print(json.dumps({"memory": memory, "bytes": n, "repeats": 5, "gbps": round(n / ts[2] / 1e9, 3), "stand_in": "memcpy"}))'
    fi
    grep -a '^{' "$LAST_LOG" >>"$OUT/raw_h2d.jsonl"
    key
    for size in 64MiB 256MiB; do
        jcmd "info-$size" 30 info --device "$DEVICE" --json --bytes "$size" --repeats "$REPEATS"
        record "info/$size"
        key '^\{'
    done

    stage "sweep at balance: block, leaf, layerwise"
    synth
    sweep sweep-balance 120 "$CK" sweep1 --variants block,leaf,layerwise --counts 1 --probe-tokens "$PROBE" "${NOVERIFY[@]}"

    if [ -f "$BUILD/junit-in-call-2" ]; then
        md "JUnit: moved to call 2 (the device build ran in this call)." ""
    else
        junit_stage
    fi
}

call2() {
    if driver_too_old; then
        # Call 1 built on the device; on a fresh machine (call 1's given back) that build is gone: build again.
        if [ ! -d "$BUILD" ]; then stage "device build again (a fresh machine: call 1's build is gone)"; device_build; fi
        [ -f "$BUILD/junit-in-call-2" ] && junit_stage  # the build ran (here or in call 1): call 1 left JUnit to this call
    fi
    stage "the rest of the sweep"
    synth
    sweep sweep-all 150 "$CK" sweep2 --counts "$COUNTS" --probe-tokens "$PROBE" "${NOVERIFY[@]}"
    if [ ${#NOVERIFY[@]} -gt 0 ]; then
        md "The sweeps above are not verified (the Java reference would take hours at this size): every variant of a small" \
            "checkpoint's sweep is, on the same device." ""
        [ -f "$WORK/ofl-lin-small.safetensors" ] || { jcmd synth-linear-small 30 synth "$WORK/ofl-lin-small.safetensors" --workload linear --dim 256 --blocks 4; key wrote; }
        sweep sweep-verified 60 "$WORK/ofl-lin-small.safetensors" sweepv2 --counts 1 --probe-tokens 16
    fi

    stage "disk source against dd"
    cmd dd-warm 30 "dd if=CK of=/dev/null bs=8M" -- dd if="$CK" of=/dev/null bs=8M
    cmd dd 30 "dd if=CK of=/dev/null bs=1M" -- dd if="$CK" of=/dev/null bs=1M
    key "copied"
    local dd_gbps disk_gbps h2d
    dd_gbps=$(awk '/copied/ { for (i = 1; i <= NF; i++) if ($i ~ /^s,?$/) s = $(i - 1); if (s > 0) printf "%.3f", $1 / s / 1e9 }' "$LAST_LOG")
    jcmd disk-none 45 run "$CK" --device "$DEVICE" --workload none --source disk --strategy group_offload --budget "$BUDGET" --steps 8 --json
    record disk/none
    key '^\{'
    disk_gbps=$(grep -a '^{' "$LAST_LOG" | tail -1 | python3 -c 'import json, sys
try:
    j = json.load(sys.stdin); print(round(j["model_bytes"] / j["wall_ms_per_step"] / 1e6, 3))
except Exception: print("")')
    h2d=$(awk -F'\t' '$1 == "info/256MiB" { print $4 }' "$OUT/runs.tsv" | python3 -c 'import json, sys
try: print(json.load(sys.stdin)["h2d_pinned_gbps"])
except Exception: print("")')
    if [ -n "$disk_gbps" ] && [ -n "$dd_gbps" ]; then
        local bound v
        bound=$(python3 -c "print(min(x for x in ($dd_gbps, ${h2d:-$dd_gbps}) if x))")
        v=$(python3 -c "print('PASS' if $disk_gbps >= 0.9 * $bound else 'FAIL')")
        check "disk source end to end >= 0.9 x min(dd, H2D) (page cache warm, no compute)" "$v" "disk $disk_gbps GB/s, dd bs=1M $dd_gbps GB/s, H2D ${h2d:--} GB/s"
    else
        check "disk source end to end >= 0.9 x min(dd, H2D) (page cache warm, no compute)" FAIL "no figure (disk ${disk_gbps:--}, dd ${dd_gbps:--})"
    fi
    report

    stage "peers"
    if python3 -c 'import torch' >/dev/null 2>&1; then
        local src=${DIFFUSERS_SRC:-}
        if [ -z "$src" ] && [ -f "$DEV/diffusers-src.tar.gz" ]; then
            mkdir -p /tmp/ofl-diffusers && tar -xzf "$DEV/diffusers-src.tar.gz" -C /tmp/ofl-diffusers && src=/tmp/ofl-diffusers
        fi
        [ -z "$src" ] && md "no DIFFUSERS_SRC and no .device/diffusers-src.tar.gz: the diffusers rows say unavailable" ""
        local tokens
        tokens=$(awk -F'\t' '$1 ~ /^sweep2\/block\// { split($1, p, "/"); printf " %s", p[3] }' "$OUT/runs.tsv")
        # shellcheck disable=SC2086 # a list of token counts
        cmd peers 100 "python3 tests/gpu/peer_compare.py --checkpoint CK --tokens$tokens --diffusers-src ${src:-none}" -- \
            python3 tests/gpu/peer_compare.py --checkpoint "$CK" --tokens ${tokens:-1024} --steps 3 ${src:+--diffusers-src "$src"} \
            --json-out "$OUT/peer.json" --work-dir "$OUT/logs/peer" --deadline-s 90 --mode-timeout-s 30 --device "$([ $DRY = 1 ] && echo cpu || echo cuda)"
        key "^system|^torch|^diffusers|^naive" 30
    else
        note peers "no PyTorch (python3 cannot import torch): peer_compare.py needs it"
        report
    fi

    stage "compute-sanitizer memcheck"
    if [ ! -f "$SMALL" ]; then jcmd synth-small 30 synth "$SMALL" --dim 256 --blocks 4 --single-blocks 2; fi
    if command -v compute-sanitizer >/dev/null && [ $DRY = 0 ]; then
        cmd memcheck 60 "compute-sanitizer --tool memcheck --leak-check full <java> run small --workload mix --strategy group_offload --steps 3 --verify" -- \
            compute-sanitizer --tool memcheck --leak-check full --target-processes all --error-exitcode 99 --print-limit 30 \
            "${JCLI[@]}" "${LIBPROPS[@]}" -cp "$DEV/offload.jar:$DEV/lib/*" dev.offload.cli.Main run "$SMALL" --device cuda --workload mix \
            --strategy group_offload --steps 3 --verify --json
        local v=FAIL
        [ "$LAST_RC" = 0 ] && grep -q "ERROR SUMMARY: 0 errors" "$LAST_LOG" && v=PASS
        check "compute-sanitizer memcheck (a verified group_offload run)" "$v" "$(grep -a -m1 'ERROR SUMMARY' "$LAST_LOG" | sed 's/^=* *//'), exit $LAST_RC"
        key "ERROR SUMMARY|LEAK SUMMARY|Invalid|^\{"
    else
        note "compute-sanitizer" "$([ $DRY = 1 ] && echo 'no GPU, no compute-sanitizer' || echo 'no compute-sanitizer on the PATH')"
        report
    fi

    stage "AUTO against every fixed strategy"
    # shellcheck disable=SC2086 # AUTO_ARGS is a list of words
    jcmd autobench 90 autobench --device "$DEVICE" $AUTO_ARGS
    check "AUTO within the noise of the best fixed strategy, prediction within 25 % (autobench exit 0)" \
        "$([ "$LAST_RC" = 0 ] && echo PASS || echo FAIL)" "$(grep -a 'AUTO chose' "$LAST_LOG" | head -1 | cut -c1-400), exit $LAST_RC"
    key "^\||AUTO chose|measurement noise" 20
}

for CALL in $CALLS; do
    T_START=$(date +%s)
    if [ "$CALL" = 1 ] && [ ! -s "$OUT/header.md" ]; then
        { echo "# offload GPU run$([ $DRY = 1 ] && echo ' (dry run: host backend)')"; echo
          echo "- date $(date -u '+%Y-%m-%d %H:%M UTC'); $(tr '\n' ' ' <"$DEV/SOURCE" 2>/dev/null)"
          echo "- device $DEVICE; checkpoint: linear, dim $DIM, $BLOCKS blocks; budget $BUDGET; sweep --steps $STEPS --probe-tokens $PROBE, call 2 --counts $COUNTS"
          echo "- \`<java>\` = \`.device/jre/bin/java --enable-native-access=ALL-UNNAMED ${LIBPROPS[*]} -cp .device/offload.jar:.device/lib/* dev.offload.cli.Main\`"; } >"$OUT/header.md"
    fi
    case $CALL in 1) call1 ;; 2) call2 ;; *) echo "run.sh: --call takes 1 or 2" >&2; exit 2 ;; esac
    STAGES_RUN=$((STAGES_RUN + 1))
    printf '%s\t%s\t%s\t-\t%s\tcall wall time\n' "$CALL" total "call $CALL" "$(($(date +%s) - T_START))" >>"$OUT/summary.tsv"
    report
done
awk '/^## Verdicts/ { on = 1 } /^## Commands/ { on = 0 } on' "$OUT/results.md"
echo "results: $OUT/results.md"
# Exit 0 when every stage ran (FAIL verdicts included); 1 when a command ran out of time or was killed.
if grep -q -P '\t(124|137|timeout)\t|out of time' "$OUT/summary.tsv"; then exit 1; fi
exit 0
