#!/usr/bin/env bash
# tests/gpu/run.sh: everything a session lent a GPU machine checks and measures, in one device call.
#
#   here:   scripts/device-bundle.sh            (after mvn -DskipTests package test-compile; builds .device/)
#   there:  run(command="bash tests/gpu/run.sh", carry=[".device"], timeout_s=600)
#
# Design notes:
# - The GPU machine has CUDA, CMake, gcc, Python 3 with PyTorch, no JDK and no network. .device/ brings a
#   jlink'd Java runtime, the jar and its dependencies, the compiled tests, the JUnit console launcher,
#   and diffusers' sources (scripts/device-bundle.sh). The native library is
#   built there, so it matches that machine's toolkit and driver.
# - Stages, in order: a versions; b build + ctest; c info; d JUnit (cuda suites, then the rest);
#   e verified CLI runs on cuda, then compute-sanitizer (memcheck, racecheck, synccheck) over the CLI;
#   f bandwidth (runtime vs raw cudaMemcpyAsync) and the pipeline sweep; g peers (tests/gpu/peer_compare.py).
# - No `set -e`: a failed stage is recorded and the run goes on. Every command runs under `timeout`
#   (process group killed, -k 10), with limit min(its own cap, time left before TOTAL_S minus the floors
#   kept for the later stages), so a hang costs its stage, never the stages after it. A command with
#   under 3 s left is recorded as skipped.
# - Results: $OUT/results.md (summary table, acceptance verdicts, then per stage: each command, exit
#   code, wall time, key output, then every JSON line), written progressively so a run killed at the
#   tool's limit still returns what it had; $OUT/runs.tsv (LABEL, exit, wall s, JSON of every CLI run),
#   $OUT/peer.json, $OUT/logs.tar.gz (every full log). The acceptance tables come from tests/gpu/report.py.
#   Each file under $OUT is written to a temporary name in $OUT and moved into place (put, tarball): it is
#   whole or absent, never cut off.
# - If the build fails, the Java stages still run, on the library bundled in the jar (built on the
#   development machine), and results.md says so.
# - Parameters below can be overridden from the environment (DIM=1024 bash tests/gpu/run.sh).
set -uo pipefail

# ------------------------------------------------------------------------------------------ parameters
DIM=${DIM:-2048}                                  # linear checkpoint: hidden size
BLOCKS=${BLOCKS:-24}                              # ... and blocks: 12*DIM^2*2 bytes each (96 MiB at 2048)
BUDGET=${BUDGET:-1GiB}                            # device budget of the offloaded runs
TOKENS=${TOKENS:-"1024 4096 8192 16384"}          # the sweep (ascending); larger ones are dropped when compute-only is too slow
STEPS=${STEPS:-8}                                 # steps per offload run (medians over them)
AUTO_BLOCK_MIB=${AUTO_BLOCK_MIB:-64}              # autobench: block size of its synthetic model (16 blocks)
PEER_STEPS=${PEER_STEPS:-4}                       # timed steps per peer mode and token count (after one warm-up)
TOTAL_S=${TOTAL_S:-530}                           # the whole run (the device tool stops a command at 600 s)
PERF_RUN_S=${PERF_RUN_S:-45}                      # one pipeline run
SAN_RUN_S=${SAN_RUN_S:-60}                        # one compute-sanitizer run
PEER_MODE_S=${PEER_MODE_S:-75}                    # one peer mode, all token counts
OFL_DEVICE=${OFL_DEVICE:-cuda}                    # the CLI's --device; host only to try the script without a GPU
PEER_DEVICE=${PEER_DEVICE:-cuda}                  # the peers' torch device; likewise cpu
SLOW_STEPS_MS=${SLOW_STEPS_MS:-5000}              # no_offload's steps slower than this in all end the sweep
CMAKE_EXTRA=${CMAKE_EXTRA:-}                      # e.g. -DCMAKE_CUDA_ARCHITECTURES=90 for a faster build
BUILD=/tmp/ofl-build
# Floors: seconds kept for the stages after each one, so a slow stage cannot starve them.
F_INFO=15 F_JUNIT=45 F_SAN=45 F_PERF=150 F_PEER=100 F_REPORT=10

# ------------------------------------------------------------------------------------------ setup
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
OUT=${OUT:-/tmp/offload-gpu-out}
LOG=/tmp/ofl-logs
rm -rf "$LOG" && mkdir -p "$LOG" "$OUT"
BODY=$LOG/body.md SUMMARY=$LOG/summary.tsv RUNS=$LOG/runs.tsv CHECKS=$LOG/checks.tsv
: >"$BODY"; : >"$SUMMARY"; : >"$RUNS"; : >"$CHECKS"
for d in /usr/local/cuda/bin /usr/local/cuda/compute-sanitizer; do [ -d "$d" ] && PATH=$PATH:$d; done
[ -d /usr/local/cuda/lib64 ] && export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}/usr/local/cuda/lib64
export PATH PYTHONUNBUFFERED=1
T_START=$(date +%s)
DEV=$ROOT/.device
JAVA=$DEV/jre/bin/java
HAVE_JAVA=1; [ -x "$JAVA" ] || HAVE_JAVA=0
LIB=$BUILD/liboffload.so WLIB=$BUILD/liboffload_workload.so LIB_NOTE=""
# cuBLAS for the linear workload: the CLI searches the toolkit's folders itself (docs/WORKLOAD.md); where
# they hold none, point it at PyTorch's wheel (nvidia/cublas/lib or, for CUDA 13 wheels, nvidia/cu13/lib).
CUBLAS=""
if ! ls /usr/local/cuda/lib64/libcublas.so* /usr/local/cuda/targets/x86_64-linux/lib/libcublas.so* >/dev/null 2>&1; then
    CUBLAS=$(python3 -c 'import glob, site, sys
dirs = site.getsitepackages() + [site.getusersitepackages()]
hits = [p for d in dirs for p in sorted(glob.glob(d + "/nvidia/*/lib/libcublas.so*")) if "Lt" not in p]
print(hits[0] if hits else "")' 2>/dev/null)
fi

left() { echo $((TOTAL_S - ($(date +%s) - T_START))); }
# limit CAP RESERVE: seconds a command may take now
limit() { local l=$(($(left) - $2)); ((l > $1)) && l=$1; ((l < 0)) && l=0; echo "$l"; }
md() { printf '%s\n' "$@" >>"$BODY"; }
# put SRC DEST: DEST appears whole or not at all (a temporary in DEST's folder, then mv), so a run
# killed at the tool's limit or a full disk never leaves a cut-off results file under its real name.
put() { local tmp; tmp="$(dirname "$2")/.$(basename "$2").tmp.$$"; if cp "$1" "$tmp" 2>/dev/null; then mv -f "$tmp" "$2"; else rm -f "$tmp"; return 1; fi; }
# tarball DEST: logs.tar.gz of the log folder, the same way.
tarball() { local tmp; tmp="$(dirname "$1")/.$(basename "$1").tmp.$$"; if tar -czf "$tmp" -C /tmp ofl-logs 2>/dev/null; then mv -f "$tmp" "$1"; else rm -f "$tmp"; return 1; fi; }
publish() { put "$BODY" "$OUT/results.md"; tarball "$OUT/logs.tar.gz"; }

STAGE=""
stage() {  # stage ID TITLE
    STAGE=$1
    md "" "## $1. $2" ""
    echo "== $1. $2 ($(left) s left)" >&2
}

# cmd NAME LIMIT DISPLAY -- COMMAND...: runs it under timeout, logs to $LOG/STAGE-NAME.log, records it.
LAST_RC=0 LAST_LOG=/dev/null
cmd() {
    local name=$1 lim=$2 display=$3
    shift 4
    LAST_LOG="$LOG/$STAGE-$name.log"
    if ((lim < 3)); then
        LAST_RC=skip
        printf '%s\t%s\t%s\t%s\t%s\n' "$STAGE" "$name" "-" "-" "skipped: out of time" >>"$SUMMARY"
        md "#### $name" "" "skipped: out of time ($(left) s left)" ""
        : >"$LAST_LOG"
        return 0
    fi
    local t0 t1 rc status
    t0=$(date +%s.%N)
    timeout -k 10 "$lim" "$@" >"$LAST_LOG" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    local wall
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    case $rc in
        0) status=ok ;;
        124 | 137) status="TIMEOUT (limit ${lim} s)" ;;
        *) status="FAIL (exit $rc)" ;;
    esac
    LAST_RC=$rc
    printf '%s\t%s\t%s\t%s\t%s\n' "$STAGE" "$name" "$rc" "$wall" "$status" >>"$SUMMARY"
    md "#### $name" "" '```' "\$ $display" '```' "exit $rc, $wall s (limit $lim s): $status" ""
    echo "   $name: $status, $wall s" >&2
    publish
}

# key [PATTERN [MAX]]: the key lines of the last command's log (all of them up to MAX when no pattern).
key() {
    local pattern=${1:-} max=${2:-40}
    {
        echo '```'
        local lines
        if [ -n "$pattern" ]; then lines=$(grep -E -a -- "$pattern" "$LAST_LOG" | head -n "$max"); else lines=$(head -n "$max" "$LAST_LOG"); fi
        if [ -z "$lines" ] && [ "$LAST_RC" != 0 ]; then lines=$(tail -n 8 "$LAST_LOG"); fi
        printf '%s\n' "${lines:-(no output${pattern:+ matching /$pattern/})}"
        echo '```'
        echo
    } >>"$BODY"
}
tailkey() { { echo '```'; tail -n "${1:-10}" "$LAST_LOG"; echo '```'; echo; } >>"$BODY"; }
# check NAME PASS|FAIL|n/a VALUE: one correctness verdict for the acceptance table (report.py --checks).
check() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$CHECKS"; }
passfail() { if "$@"; then echo PASS; else echo FAIL; fi; }

# The CLI, shown in results.md as <java>.
cli_cmd() {
    local props=()
    [ -n "$LIB" ] && props+=("-Doffload.library=$LIB")
    [ -n "$WLIB" ] && props+=("-Doffload.workload.library=$WLIB")
    [ -n "$CUBLAS" ] && props+=("-Doffload.cublas=$CUBLAS")
    # shellcheck disable=SC2016 # the $s are java.util.Formatter's, not the shell's
    JCLI=("$JAVA" --enable-native-access=ALL-UNNAMED '-Djava.util.logging.SimpleFormatter.format=offload: %4$s: %5$s%n'
        "${props[@]}" -cp "$DEV/offload.jar:$DEV/lib/*" dev.offload.cli.Main)
}
# jcmd NAME LIMIT ARGS...: one CLI command.
jcmd() {
    local name=$1 lim=$2
    shift 2
    cli_cmd
    cmd "$name" "$lim" "<java> $*" -- "${JCLI[@]}" "$@"
}
# jrun LABEL LIMIT ARGS...: one CLI command whose last JSON line goes to runs.tsv under LABEL.
jrun() {
    local label=$1 lim=$2
    shift 2
    jcmd "${label//\//_}" "$lim" "$@"
    local json
    json=$(grep -a '^{' "$LAST_LOG" | tail -n 1)
    printf '%s\t%s\t%s\t%s\n' "$label" "$LAST_RC" "$(awk -F'\t' 'END { print $4 }' "$SUMMARY")" "${json:-null}" >>"$RUNS"
    if [ -n "$json" ]; then key '^\{' 1; else tailkey 5; fi
}
variant_args() {
    case $1 in
        no_offload) echo "--strategy no_offload" ;;
        group_block) echo "--strategy group_offload --blocks-per-group 1 --budget $BUDGET" ;;
        group_leaf) echo "--strategy group_offload --leaf --budget $BUDGET" ;;
        layerwise_w3) echo "--strategy layerwise --window 3 --budget $BUDGET" ;;
    esac
}
nojava() { md "skipped: no $JAVA (run scripts/device-bundle.sh here and carry .device)"; }

# ------------------------------------------------------------------------------------------ a. versions
stage a "versions"
R=$((F_INFO + F_JUNIT + F_SAN + F_PERF + F_PEER + F_REPORT + 60))
cmd nvidia-smi "$(limit 15 $R)" "nvidia-smi --query-gpu=... --format=csv" -- nvidia-smi \
    --query-gpu=name,driver_version,memory.total,memory.used,pcie.link.gen.current,pcie.link.gen.max,pcie.link.width.current,clocks.sm,clocks.max.sm,power.limit \
    --format=csv
key "" 5
GPU_NAME=$(sed -n 2p "$LAST_LOG" | cut -d, -f1)
cmd nvcc "$(limit 10 $R)" "nvcc --version" -- nvcc --version
key "release" 2
cmd gcc "$(limit 10 $R)" "gcc --version" -- gcc --version
key "" 1
cmd cmake "$(limit 10 $R)" "cmake --version" -- cmake --version
key "" 1
cmd torch "$(limit 40 $R)" "python3 -c 'torch version, cuda'" -- python3 -c \
    "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
key "" 3
cmd compute-sanitizer "$(limit 10 $R)" "compute-sanitizer --version" -- compute-sanitizer --version
key "Version|version" 2
if ((HAVE_JAVA)); then
    cmd java "$(limit 10 $R)" "<jre>/bin/java -version" -- "$JAVA" -version
    key "" 3
fi
# shellcheck disable=SC2016 # expanded by the inner bash
cmd host "$(limit 10 $R)" "uname, nproc, free, lscpu, ldconfig (cudart, cublas), bundle source" -- bash -c \
    'uname -r; echo "cpus $(nproc)"; free -g | head -2; lscpu | grep -E "Model name|NUMA node|Socket"; ldconfig -p | grep -E "libcublas(Lt)?\.so|libcudart\.so" | head -6; ls /usr/local/cuda/lib64/libcublas.so* 2>&1 | head -3; cat .device/SOURCE 2>/dev/null'
key "" 20
md "cuBLAS for the linear workload: ${CUBLAS:-found by the CLI in the toolkit folders}" ""

# ------------------------------------------------------------------------------------------ b. build
stage b "native build and ctest"
R=$((F_INFO + F_JUNIT + F_SAN + F_PERF + F_PEER + F_REPORT))
# A build folder configured from another source tree (a warm machine, another checkout) is started afresh.
if [ -f "$BUILD/CMakeCache.txt" ] && ! grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$ROOT" "$BUILD/CMakeCache.txt"; then
    rm -rf "$BUILD"
fi
rm -f "$BUILD/liboffload.so" "$BUILD/liboffload_workload.so"  # only what this run links counts
# shellcheck disable=SC2086 # CMAKE_EXTRA is a list of words
cmd configure "$(limit 90 $R)" "cmake -S . -B $BUILD -DCMAKE_BUILD_TYPE=Release -DOFL_WERROR=OFF $CMAKE_EXTRA" -- \
    cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DOFL_WERROR=OFF $CMAKE_EXTRA
key "offload:|CUDA|Error|error" 15
if [ "$LAST_RC" = 0 ]; then
    cmd build "$(limit 240 $R)" "cmake --build $BUILD --parallel 16" -- cmake --build "$BUILD" --parallel 16
    key "error|warning|Error" 30
    tailkey 3
fi
if [ -f "$BUILD/liboffload.so" ] && [ -f "$BUILD/liboffload_workload.so" ]; then
    cmd ctest "$(limit 90 $R)" "ctest --test-dir $BUILD --output-on-failure --timeout 60" -- \
        ctest --test-dir "$BUILD" --output-on-failure --timeout 60
    key "tests passed|tests failed|Failed|\*\*\*|Test +#" 30
    check "ctest (native tests)" "$(passfail [ "$LAST_RC" = 0 ])" "$(grep -a -m1 'tests passed' "$LAST_LOG" || echo "exit $LAST_RC")"
    cmd ldd "$(limit 10 $R)" "ldd liboffload.so liboffload_workload.so" -- ldd "$BUILD/liboffload.so" "$BUILD/liboffload_workload.so"
    key "" 30
else
    LIB="" WLIB=""
    LIB_NOTE="the build produced no liboffload.so / liboffload_workload.so: the Java stages use the libraries bundled in the jar (built on the development machine)"
    md "**$LIB_NOTE**" ""
fi

# ------------------------------------------------------------------------------------------ c. info
stage c "info on cuda"
R=$((F_JUNIT + F_SAN + F_PERF + F_PEER + F_REPORT))
if ((HAVE_JAVA)); then
    [ -n "$LIB_NOTE" ] && md "$LIB_NOTE" ""
    jrun info/default "$(limit 60 $R)" info --device "$OFL_DEVICE" --json
else nojava; fi

# ------------------------------------------------------------------------------------------ d. JUnit
stage d "JUnit on cuda"
R=$((F_SAN + F_PERF + F_PEER + F_REPORT))
if ((HAVE_JAVA)); then
    props=(-Doffload.basedir="$ROOT")
    [ -n "$LIB" ] && props+=("-Doffload.library=$LIB" "-Doffload.workload.library=$WLIB")
    [ -n "$CUBLAS" ] && props+=("-Doffload.cublas=$CUBLAS")
    JUNIT=("$JAVA" --enable-native-access=ALL-UNNAMED -Xmx4g "${props[@]}"
        -cp "$DEV/test-classes:$DEV/offload.jar:$DEV/lib/*:$DEV/junit-platform-console-standalone-1.13.4.jar"
        org.junit.platform.console.ConsoleLauncher execute --scan-class-path "$DEV/test-classes"
        --details=summary --disable-banner --disable-ansi-colors)
    md "<junit> = \`${JUNIT[*]}\`" ""
    junit_key() {  # junit_key SUITE STRICT: STRICT=1 when a test skipped by assumption (aborted) is a failure
        key "tests (found|successful|skipped|aborted|failed)|containers failed" 8
        if grep -q '^Failures (' "$LAST_LOG"; then
            { echo '```'; awk '/^Failures \(/ { on = 1 } on && n++ < 60' "$LAST_LOG"; echo '```'; echo; } >>"$BODY"
        fi
        local found ok failed aborted
        count() { grep -a -m1 -E "tests $1 " "$LAST_LOG" | grep -oE '[0-9]+' | head -1; }
        found=$(count found) ok=$(count successful) failed=$(count failed) aborted=$(count aborted)
        local v=FAIL
        if [ "$LAST_RC" = 0 ] && [ "${failed:-1}" = 0 ] && [ "${ok:-0}" -gt 0 ] && { [ "$2" = 0 ] || [ "${aborted:-1}" = 0 ]; }; then v=PASS; fi
        [ "$LAST_RC" = skip ] && v=n/a
        check "JUnit $1" "$v" "found ${found:--}, successful ${ok:--}, failed ${failed:--}, aborted (skipped by assumption) ${aborted:--}, exit $LAST_RC"
    }
    cmd junit-cuda "$(limit 120 $R)" "<junit> --include-classname '.*Cuda.*' --exclude-classname '.*jmh.*'" -- \
        "${JUNIT[@]}" --include-classname '.*Cuda.*' --exclude-classname '.*jmh.*'
    junit_key "cuda suites (none may be skipped)" 1
    cmd junit-rest "$(limit 180 $R)" "<junit> --exclude-classname '.*Cuda.*' --exclude-classname '.*jmh.*'" -- \
        "${JUNIT[@]}" --exclude-classname '.*Cuda.*' --exclude-classname '.*jmh.*'
    junit_key "other suites" 0
else nojava; fi

# ------------------------------------------------------------------------------------------ e. verified runs, compute-sanitizer
stage e "verified runs on cuda; compute-sanitizer over the CLI"
R=$((F_PERF + F_PEER + F_REPORT))
if ((HAVE_JAVA)); then
    jcmd synth-small "$(limit 30 $R)" synth /tmp/small.safetensors --dim 256 --blocks 4 --single-blocks 2
    tailkey 2
    jcmd synth-small-linear "$(limit 30 $R)" synth /tmp/small-lin.safetensors --workload linear --dim 256 --blocks 2
    tailkey 2
    md "Every strategy, both workloads, every step checked against the unoffloaded Java reference (mix: bit" \
        "for bit; linear: within its tolerance, docs/WORKLOAD.md)." ""
    for w in mix linear; do
        ck=/tmp/small.safetensors; [ $w = linear ] && ck=/tmp/small-lin.safetensors
        for v in no_offload group_block group_leaf layerwise_w3; do
            # shellcheck disable=SC2046 # variant_args is a list of words
            jrun "verify/$w/$v" "$(limit 30 $R)" run "$ck" --device "$OFL_DEVICE" --workload $w --tokens 16 --steps 3 --verify --json \
                $(variant_args $v | sed "s/--budget $BUDGET//")
        done
    done
    n_verify=$(grep -c '^verify/' "$RUNS")
    n_ok=$(grep '^verify/' "$RUNS" | awk -F'\t' '$2 == 0 && $4 ~ /"verified": *true/' | wc -l)
    v=FAIL; [ "$n_verify" -gt 0 ] && [ "$n_ok" = "$n_verify" ] && v=PASS
    check "verified CLI runs on cuda (mix and linear x 4 strategies; vs the Java reference)" "$v" "$n_ok of $n_verify verified"
    SAN=(compute-sanitizer --target-processes all --error-exitcode 99 --print-limit 30)
    cli_cmd
    san() {  # san TOOL WORKLOAD [extra tool options]
        local tool=$1 w=$2 ck=/tmp/small.safetensors
        shift 2
        [ "$w" = linear ] && ck=/tmp/small-lin.safetensors
        cmd "$tool-$w" "$(limit "$SAN_RUN_S" $R)" \
            "compute-sanitizer --tool $tool $* --target-processes all <java> run $ck --device $OFL_DEVICE --workload $w --strategy group_offload --steps 3 --verify --json" -- \
            "${SAN[@]}" --tool "$tool" "$@" "${JCLI[@]}" run "$ck" --device "$OFL_DEVICE" --workload "$w" --strategy group_offload \
            --steps 3 --verify --json
        key "ERROR SUMMARY|LEAK SUMMARY|RACECHECK SUMMARY|Invalid|Program hit|Race reported|Barrier|Error:|^\{" 25
        local summary v=FAIL
        summary=$(grep -a -m1 "ERROR SUMMARY" "$LAST_LOG" | sed 's/^=* *//')
        if [ "$LAST_RC" = 0 ] && grep -q "ERROR SUMMARY: 0 errors" "$LAST_LOG"; then v=PASS; fi
        [ "$LAST_RC" = skip ] && v=n/a
        check "compute-sanitizer $tool, $w workload (verified run)" "$v" "${summary:-no summary}, exit $LAST_RC"
    }
    san memcheck mix --leak-check full
    san memcheck linear --leak-check full
    san racecheck mix
    san synccheck mix
    san racecheck linear
    san synccheck linear
else nojava; fi

# ------------------------------------------------------------------------------------------ f. bandwidth, pipeline
stage f "bandwidth and pipeline figures"
R=$((F_PEER + F_REPORT))
PERF_TOKENS="" LEAF_REFUSED=0
if ((HAVE_JAVA)); then
    jcmd synth-linear "$(limit 120 $R)" synth /tmp/lin.safetensors --workload linear --dim "$DIM" --blocks "$BLOCKS"
    tailkey 2
fi
cmd raw-h2d-build "$(limit 90 $R)" "nvcc -O2 -o /tmp/raw_h2d tests/gpu/raw_h2d.cu" -- nvcc -O2 -o /tmp/raw_h2d tests/gpu/raw_h2d.cu
tailkey 3
if [ -x /tmp/raw_h2d ]; then
    cmd raw-h2d "$(limit 60 $R)" "/tmp/raw_h2d 67108864 268435456" -- /tmp/raw_h2d 67108864 268435456
    key "" 10
    grep -a '^{' "$LAST_LOG" >"$LOG/raw_h2d.jsonl"
fi
if ((HAVE_JAVA)); then
    jrun info/64MiB "$(limit 60 $R)" info --device "$OFL_DEVICE" --json --bytes 64MiB --repeats 10
    jrun info/256MiB "$(limit 60 $R)" info --device "$OFL_DEVICE" --json --bytes 256MiB --repeats 10
    md "AUTO against every fixed strategy (issue 8; docs/PLANS.md): a model twice the budget, compute equal to the copy, then half." ""
    jcmd autobench-balanced "$(limit 150 $R)" autobench --device "$OFL_DEVICE" --block-mib "$AUTO_BLOCK_MIB" --steps 20 --repeats 5
    tailkey 16
    jcmd autobench-half "$(limit 150 $R)" autobench --device "$OFL_DEVICE" --block-mib "$AUTO_BLOCK_MIB" --steps 20 --repeats 5 --ratio 0.5
    tailkey 16
    md "Copy-only: each streaming variant with \`--workload none\` (copies, no compute)." ""
    for v in group_block group_leaf layerwise_w3; do
        # shellcheck disable=SC2046
        jrun "copy_only/$v" "$(limit "$PERF_RUN_S" $R)" run /tmp/lin.safetensors --device "$OFL_DEVICE" --workload none \
            --steps "$STEPS" --json $(variant_args $v)
    done
    md "Disk streaming (issue 9): the same checkpoint from its file, no compute, page cache warm, against a" \
        "sequential read of it with 1 MiB buffers (dd) just before: end to end should be at least 0.9x." ""
    cmd dd-warm "$(limit 60 $R)" "dd if=/tmp/lin.safetensors of=/dev/null bs=8M" -- dd if=/tmp/lin.safetensors of=/dev/null bs=8M
    cmd dd-sequential "$(limit 60 $R)" "dd if=/tmp/lin.safetensors of=/dev/null bs=1M" -- dd if=/tmp/lin.safetensors of=/dev/null bs=1M
    tailkey 1
    DD_GBPS=$(awk 'END { if ($(NF-3) > 0) printf "%.3f", $1 / $(NF-3) / 1e9 }' "$LAST_LOG")
    for d in default:"" readers1:"--readers 1" direct:"--disk-io direct"; do
        # shellcheck disable=SC2086
        jrun "disk/${d%%:*}" "$(limit "$PERF_RUN_S" $R)" run /tmp/lin.safetensors --device "$OFL_DEVICE" --workload none \
            --steps "$STEPS" --json --source disk --strategy group_offload --budget "$BUDGET" ${d#*:}
    done
    DISK_GBPS=$(awk -F'\t' '$1 == "disk/default" { print $4 }' "$RUNS" | python3 -c "import json, sys
try:
    j = json.load(sys.stdin); print(round(j['model_bytes'] / j['wall_ms_per_step'] / 1e6, 3))
except Exception: print('')" 2>/dev/null)
    if [ -n "$DISK_GBPS" ] && [ -n "$DD_GBPS" ]; then
        check "disk streaming >= 0.9x a sequential read (page cache warm, no compute)" \
            "$(passfail python3 -c "import sys; sys.exit(0 if $DISK_GBPS >= 0.9 * $DD_GBPS else 1)")" \
            "disk $DISK_GBPS GB/s end to end, dd bs=1M $DD_GBPS GB/s"
    else
        check "disk streaming >= 0.9x a sequential read (page cache warm, no compute)" n/a "no figure (disk ${DISK_GBPS:--}, dd ${DD_GBPS:--})"
    fi
    md "The sweep: no_offload (the compute-only figure) first at each token count; a token count whose" \
        "no_offload run fails or times out ends the sweep." ""
    for t in $TOKENS; do
        if (($(limit "$PERF_RUN_S" $R) < 10)); then
            md "tokens $t and above: skipped, out of time" ""
            break
        fi
        jrun "perf/no_offload/$t" "$(limit "$PERF_RUN_S" $R)" run /tmp/lin.safetensors --device "$OFL_DEVICE" --workload linear \
            --tokens "$t" --steps "$STEPS" --json --strategy no_offload
        if [ "$LAST_RC" != 0 ]; then
            md "tokens $t: no_offload did not finish (exit $LAST_RC): the sweep stops here" ""
            break
        fi
        PERF_TOKENS="$PERF_TOKENS $t"
        # A compute-only step this slow makes every larger token count too slow for the time left.
        slow=$(tail -n 1 "$RUNS" | cut -f4 | python3 -c "import json, sys
try: ms = json.load(sys.stdin).get('step_ms_median') or 0
except Exception: ms = 0
print(1 if ms * $STEPS > $SLOW_STEPS_MS else 0)" 2>/dev/null || echo 0)
        for v in group_block group_leaf layerwise_w3; do
            [ $v = group_leaf ] && [ "$LEAF_REFUSED" = 1 ] && continue
            # shellcheck disable=SC2046
            jrun "perf/$v/$t" "$(limit "$PERF_RUN_S" $R)" run /tmp/lin.safetensors --device "$OFL_DEVICE" --workload linear \
                --tokens "$t" --steps "$STEPS" --json $(variant_args $v)
            case $v:$LAST_RC in
                group_leaf:0 | group_leaf:124 | group_leaf:137 | group_leaf:skip) ;;
                group_leaf:*)
                    LEAF_REFUSED=1
                    md "group_leaf failed (exit $LAST_RC): no more leaf runs with compute; the leaf figures come from" \
                        "copy_only/group_leaf" ""
                    ;;
            esac
        done
        if [ "$slow" = 1 ]; then
            md "tokens $t: no_offload's $STEPS steps took over $SLOW_STEPS_MS ms: larger token counts skipped" ""
            break
        fi
    done
else nojava; fi

# ------------------------------------------------------------------------------------------ g. peers
stage g "peers: PyTorch, diffusers group offloading, naive offloading"
R=$F_REPORT
PEER_TOKENS=${PERF_TOKENS:-$TOKENS}
if [ -f /tmp/lin.safetensors ]; then
    DSRC=""
    if [ -f "$DEV/diffusers-src.tar.gz" ]; then
        rm -rf /tmp/diffusers-src && mkdir -p /tmp/diffusers-src
        cmd diffusers-extract "$(limit 30 $R)" "tar -xzf .device/diffusers-src.tar.gz -C /tmp/diffusers-src" -- \
            tar -xzf "$DEV/diffusers-src.tar.gz" -C /tmp/diffusers-src
        [ "$LAST_RC" = 0 ] && DSRC=/tmp/diffusers-src
    elif [ -d "$DEV/diffusers-src" ]; then
        DSRC=$DEV/diffusers-src
    else
        md "no .device/diffusers-src(.tar.gz): the diffusers rows will say unavailable" ""
    fi
    L=$(limit 400 $R)
    # shellcheck disable=SC2086 # PEER_TOKENS is a list
    cmd peer "$L" "python3 tests/gpu/peer_compare.py --checkpoint /tmp/lin.safetensors --tokens$PEER_TOKENS --steps $PEER_STEPS --diffusers-src ${DSRC:-none} --json-out peer.json" -- \
        python3 tests/gpu/peer_compare.py --checkpoint /tmp/lin.safetensors --tokens $PEER_TOKENS --steps "$PEER_STEPS" \
        ${DSRC:+--diffusers-src "$DSRC"} --json-out "$LOG/peer.json" --work-dir "$LOG/peer" \
        --deadline-s $((L > 20 ? L - 10 : 10)) --mode-timeout-s "$PEER_MODE_S" --device "$PEER_DEVICE"
    awk '/^system +mode/ { on = 1 } on' "$LAST_LOG" >"$LOG/peer-table.txt"
    { echo '```'; cat "$LOG/peer-table.txt"; echo '```'; echo; } >>"$BODY"
else
    md "skipped: no /tmp/lin.safetensors (stage f did not write it)" ""
fi

# ------------------------------------------------------------------------------------------ report
ACC=$LOG/acceptance.md
if python3 tests/gpu/report.py --runs "$RUNS" --raw-h2d "$LOG/raw_h2d.jsonl" --peer "$LOG/peer.json" --checks "$CHECKS" --out "$ACC" 2>"$LOG/report.err"; then :; else
    { echo "## Acceptance"; echo; echo "report.py failed:"; echo '```'; cat "$LOG/report.err"; echo '```'; } >"$ACC"
fi
{
    echo "# offload GPU run"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); GPU: ${GPU_NAME:-unknown}; bundle: $(tr '\n' ' ' <"$DEV/SOURCE" 2>/dev/null || echo unknown)"
    echo "- parameters: DIM=$DIM BLOCKS=$BLOCKS BUDGET=$BUDGET TOKENS='$TOKENS' (measured:${PERF_TOKENS:- none}) STEPS=$STEPS PEER_STEPS=$PEER_STEPS TOTAL_S=$TOTAL_S; total wall $(($(date +%s) - T_START)) s"
    echo "- \`<java>\` = \`.device/jre/bin/java --enable-native-access=ALL-UNNAMED${LIB:+ -Doffload.library=$LIB -Doffload.workload.library=$WLIB} -cp .device/offload.jar:.device/lib/* dev.offload.cli.Main\`"
    [ -n "$LIB_NOTE" ] && echo "- **$LIB_NOTE**"
    echo
    echo "## Summary"
    echo
    echo "| stage | step | exit | wall s | status |"
    echo "| --- | --- | --- | --- | --- |"
    awk -F'\t' '{ printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5 }' "$SUMMARY"
    echo
    cat "$ACC"
    cat "$BODY"
    echo
    echo "## Every JSON line"
    echo
    echo "CLI runs (label, exit, wall s, JSON):"
    echo
    echo '```'
    cat "$RUNS"
    echo '```'
    echo
    echo "raw_h2d:"
    echo
    echo '```'
    cat "$LOG/raw_h2d.jsonl" 2>/dev/null
    echo '```'
    if [ -f "$LOG/peer.json" ]; then
        echo
        echo "peer rows (step_ms_all left out; all in peer.json):"
        echo
        echo '```'
        python3 -c 'import json,sys
for r in json.load(open(sys.argv[1]))["rows"]:
    r.pop("step_ms_all", None); print(json.dumps(r))' "$LOG/peer.json" 2>&1
        echo '```'
    fi
} >"$LOG/results.md.part" && mv -f "$LOG/results.md.part" "$LOG/results.md"
put "$LOG/results.md" "$OUT/results.md"
put "$RUNS" "$OUT/runs.tsv"
[ -f "$LOG/peer.json" ] && put "$LOG/peer.json" "$OUT/peer.json"
tarball "$OUT/logs.tar.gz"

# The end of stdout is what the device tool's reply shows: the summary and the verdicts.
awk '/^## Summary/ { on = 1 } /^### / { on = 0 } on' "$LOG/results.md"
echo "total wall $(($(date +%s) - T_START)) s; full results in \$OUT/results.md"
