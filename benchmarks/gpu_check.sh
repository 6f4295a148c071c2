#!/usr/bin/env bash
# Staged check of kernels/*.cu on a machine with an NVIDIA GPU, CuPy and torch with CUDA:
#     bash benchmarks/gpu_check.sh OUTDIR [--quick]
# Stage 0  environment: GPU, driver, python3 / CuPy / NVRTC / torch versions, the CUDA include
#          directory the loader picks and whether it has crt/mma.h         -> stage0_env.txt
# Stage 1  every kernel instance built through the loader on the GPU, tests/test_kernels_cuda.py,
#          tests/test_nvrtc.py, tests/test_cuda_step.py, the suite's "cuda" tests
#                                                                          -> stage1.log
# Stage 2  compute-sanitizer memcheck (CuPy's pool off), racecheck, initcheck and synccheck over
#          benchmarks/sanitize_kernels.py                                  -> stage2_sanitizer.log
# Stage 3  python3 -m benchmarks --device cuda --suite kernels, --quick when asked or when less
#          than BENCH_FULL_S seconds are left                              -> stage3_bench.log,
#                                                                             kernels.json
# Then a stage table on stdout and summary.json: six files in OUTDIR, nothing else.
# The whole run stays within BUDGET_S (9 minutes); every step runs under `timeout`.
# Exit status: 0 every stage passed; 1 a stage failed or timed out; 2 no GPU (stages 1-3
# skipped); 3 nothing failed but a stage was skipped (no compute-sanitizer).
set -u

usage() {
    echo "usage: bash benchmarks/gpu_check.sh OUTDIR [--quick]" >&2
    exit 64
}
[ $# -ge 1 ] || usage
case "$1" in -*) usage ;; esac
OUT="$1"
shift
QUICK=0
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=1 ;;
        *) usage ;;
    esac
done
mkdir -p "$OUT" || exit 1
OUT="$(cd "$OUT" && pwd)"
cd "$(dirname "$0")/.." || exit 1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1

BUDGET_S=${GPU_CHECK_BUDGET_S:-540}   # 9 minutes for everything (override for dry runs)
RESERVE_S=20          # kept back for timeout's kill grace and the summary
STAGE1_CAP_S=170      # under 3 minutes
STAGE2_CAP_S=200
BENCH_FULL_S=240      # the full benchmark needs about this much; below it, --quick
START=$SECONDS
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
PYTEST=(python3 -m pytest -q -rs -p no:cacheprovider -p no:randomly)

STAGE_NAMES=(environment "build+tests" sanitizer benchmark)
STAGE_LOGS=(stage0_env.txt stage1.log stage2_sanitizer.log stage3_bench.log)
STAGE_RESULT=("not run" "not run" "not run" "not run")
STAGE_SECS=(0 0 0 0)
STEP_STAGE=()
STEP_NAME=()
STEP_RESULT=()
STEP_SECS=()

left() {  # seconds of the budget still usable
    echo $((BUDGET_S - RESERVE_S - (SECONDS - START)))
}

min() {
    if [ "$1" -lt "$2" ]; then echo "$1"; else echo "$2"; fi
}

# step STAGE NAME CAP_S LOG COMMAND...: run COMMAND under `timeout`, its output appended to LOG
# (and kept in $TMP/step.out for a look afterwards); the result goes into the STEP_* tables.
step() {
    local stage="$1" name="$2" cap="$3" log="$4" t0=$SECONDS rc result cmd
    shift 4
    cmd="$*"
    cmd="${cmd//$'\n'/ }"
    [ ${#cmd} -le 200 ] || cmd="${cmd:0:197}..."
    if [ "$cap" -lt 5 ]; then
        result="TIMEOUT(no time left)"
        rc=124
        echo "=== [stage $stage] $name: not started, no time left" >>"$log"
    else
        echo "=== [stage $stage] $name (timeout ${cap}s): $cmd" >>"$log"
        timeout -k 10 "$cap" "$@" >"$TMP/step.out" 2>&1
        rc=$?
        cat "$TMP/step.out" >>"$log"
        case $rc in
            0) result=PASS ;;
            124 | 137) result="TIMEOUT(${cap}s)" ;;
            *) result="FAIL(rc=$rc)" ;;
        esac
    fi
    STEP_STAGE+=("$stage")
    STEP_NAME+=("$name")
    STEP_RESULT+=("$result")
    STEP_SECS+=($((SECONDS - t0)))
    echo "=== [stage $stage] $name: $result in $((SECONDS - t0)) s" | tee -a "$log"
    return $rc
}

# finish_stage STAGE T0: the stage passes when all of its steps did
finish_stage() {
    local stage="$1" t0="$2" i bad=""
    for i in "${!STEP_STAGE[@]}"; do
        if [ "${STEP_STAGE[$i]}" = "$stage" ] && [ "${STEP_RESULT[$i]}" != PASS ]; then
            bad="${bad:+$bad, }${STEP_NAME[$i]}"
        fi
    done
    STAGE_RESULT[stage]="${bad:+FAIL($bad)}"
    STAGE_RESULT[stage]="${STAGE_RESULT[$stage]:-PASS}"
    STAGE_SECS[stage]=$((SECONDS - t0))
}

skip_stage() {  # skip_stage STAGE REASON
    STAGE_RESULT[$1]="SKIP($2)"
    echo "=== [stage $1] ${STAGE_NAMES[$1]}: skipped: $2" | tee -a "$OUT/${STAGE_LOGS[$1]}"
}

: >"$OUT/stage0_env.txt"
: >"$OUT/stage1.log"
: >"$OUT/stage2_sanitizer.log"
: >"$OUT/stage3_bench.log"
rm -f "$OUT/kernels.json" "$OUT/summary.json"

# -- stage 0: environment ----------------------------------------------------------------------
IFS= read -r -d '' ENV_PY <<'EOF'
import platform, sys
print("python3", sys.version.split()[0], platform.platform())
try:
    import numpy
    print("numpy", numpy.__version__)
except ImportError as e:
    print("numpy: not importable:", e)
try:
    import cupy
    print("cupy", cupy.__version__, "available:", cupy.is_available())
    print("cupy CUDA path:", cupy.cuda.get_cuda_path())
    try:
        rt = cupy.cuda.runtime
        print("CUDA runtime", rt.runtimeGetVersion(), "driver", rt.driverGetVersion())
    except Exception as e:
        print("CUDA runtime/driver: unavailable:", e)
except ImportError as e:
    print("cupy: not importable:", e)
try:
    import torch
    print("torch", torch.__version__, "CUDA", torch.version.cuda,
          "available:", torch.cuda.is_available())
except ImportError as e:
    print("torch: not importable:", e)
from tinygrad_lite.backend import kernels
print("nvrtc major:", kernels._nvrtc_major())
for how, inc in kernels.cuda_include_candidates():
    print(f"  candidate {inc} ({how}): crt/mma.h {(inc / kernels.CRT_HEADER).is_file()}")
try:
    inc = kernels.find_crt_include(kernels._nvrtc_major())
except RuntimeError as e:
    print(e)
    sys.exit(1)
print("loader include dir:", inc, "has crt/mma.h:", (inc / kernels.CRT_HEADER).is_file())
for f in kernels.SOURCES:
    print(f"compile options {f}:", " ".join(kernels.compile_options(f)))
EOF

t0=$SECONDS
LOG0="$OUT/stage0_env.txt"
{
    echo "gpu_check $(date -u +%Y-%m-%dT%H:%M:%SZ) in $PWD, quick=$QUICK"
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv
    else
        echo "nvidia-smi: not on PATH"
    fi
    command -v nvcc >/dev/null && nvcc --version | tail -n 2
} >>"$LOG0" 2>&1
step 0 versions 30 "$LOG0" python3 -c "$ENV_PY"
finish_stage 0 "$t0"

IFS= read -r -d '' GPU_PY <<'EOF'
import sys
from tinygrad_lite.backend import get_cupy
try:
    get_cupy()
except RuntimeError as e:
    sys.exit(str(e))
EOF
if NO_GPU="$(timeout 30 python3 -c "$GPU_PY" 2>&1 >/dev/null)"; then
    HAVE_GPU=1
else
    HAVE_GPU=0
    echo "gpu_check: no GPU: ${NO_GPU:-CuPy check timed out}; stages 1-3 skipped" |
        tee -a "$LOG0"
fi

# -- stage 1: build every instance on the GPU, then the GPU tests ------------------------------
IFS= read -r -d '' COMPILE_PY <<'EOF'
import time
from tinygrad_lite.backend import kernels
total = 0
for f in kernels.SOURCES:
    start = time.perf_counter()
    mod = kernels.module(f)
    names = kernels._name_expressions(f)
    for name in names:
        mod.get_function(name)
    total += len(names)
    print(f"{f}: {len(names)} instances loaded in {time.perf_counter() - start:.1f} s")
    print("  options:", " ".join(kernels.compile_options(f)))
print(f"{total} kernel instances built and loaded")
EOF

stage_left() {  # stage_left T0 CAP: seconds left of this stage's cap and of the whole budget
    min $(($2 - (SECONDS - $1))) "$(left)"
}

if [ $HAVE_GPU = 1 ]; then
    t0=$SECONDS
    LOG1="$OUT/stage1.log"
    step 1 compile "$(min 60 "$(stage_left "$t0" $STAGE1_CAP_S)")" "$LOG1" \
        python3 -c "$COMPILE_PY"
    step 1 kernel-tests "$(min 60 "$(stage_left "$t0" $STAGE1_CAP_S)")" "$LOG1" \
        "${PYTEST[@]}" tests/test_kernels_cuda.py
    step 1 nvrtc-test "$(min 45 "$(stage_left "$t0" $STAGE1_CAP_S)")" "$LOG1" \
        "${PYTEST[@]}" tests/test_nvrtc.py
    last=$((${#STEP_RESULT[@]} - 1))
    if [ "${STEP_RESULT[$last]}" = PASS ] && grep -q "SKIPPED.*nvrtc:" "$TMP/step.out"; then
        STEP_RESULT[last]="FAIL(skipped)"          # NVRTC must load where CuPy runs
    fi
    # one training step per seed model and an SDPA block on "cuda" against the same on "cpu"
    step 1 cuda-step "$(min 45 "$(stage_left "$t0" $STAGE1_CAP_S)")" "$LOG1" \
        "${PYTEST[@]}" tests/test_cuda_step.py
    # the suite's "cuda" half, as long as the stage's time lasts (-x: the first failure is enough)
    step 1 cuda-tests "$(stage_left "$t0" $STAGE1_CAP_S)" "$LOG1" \
        "${PYTEST[@]}" -x --devices cuda -k cuda tests --ignore=tests/test_kernels_cuda.py \
        --ignore=tests/test_nvrtc.py --ignore=tests/test_cuda_step.py
    finish_stage 1 "$t0"
else
    skip_stage 1 "no GPU"
fi

# -- stage 2: compute-sanitizer ----------------------------------------------------------------
find_sanitizer() {
    local d nvcc_dir=""
    if command -v compute-sanitizer; then return 0; fi
    if command -v nvcc >/dev/null; then nvcc_dir="$(dirname "$(command -v nvcc)")/.."; fi
    for d in "${CUDA_PATH:-}" "${CUDA_HOME:-}" /usr/local/cuda "$nvcc_dir"; do
        if [ -n "$d" ] && [ -x "$d/bin/compute-sanitizer" ]; then
            echo "$d/bin/compute-sanitizer"
            return 0
        fi
    done
    return 1
}

if [ $HAVE_GPU = 0 ]; then
    skip_stage 2 "no GPU"
elif ! SAN="$(find_sanitizer)"; then
    skip_stage 2 "no compute-sanitizer"
else
    t0=$SECONDS
    LOG2="$OUT/stage2_sanitizer.log"
    "$SAN" --version 2>&1 | tail -n 1 >>"$LOG2"
    TOOLS=(memcheck racecheck initcheck synccheck)
    for i in "${!TOOLS[@]}"; do
        tool="${TOOLS[$i]}"
        # what is left of the stage, shared evenly by the tools still to run
        cap=$(($(stage_left "$t0" $STAGE2_CAP_S) / (${#TOOLS[@]} - i)))
        extra=()
        case "$tool" in
            memcheck) extra=(--leak-check no) ;;
            racecheck) extra=(--racecheck-report all) ;;
        esac
        step 2 "$tool" "$cap" "$LOG2" "$SAN" --tool "$tool" ${extra[@]+"${extra[@]}"} \
            --error-exitcode 1 --print-limit 50 python3 benchmarks/sanitize_kernels.py
    done
    finish_stage 2 "$t0"
fi

# -- stage 3: the kernel benchmark -------------------------------------------------------------
if [ $HAVE_GPU = 1 ]; then
    t0=$SECONDS
    LOG3="$OUT/stage3_bench.log"
    BENCH=(python3 -m benchmarks --device cuda --suite kernels --no-memory --out "$TMP/bench")
    if [ $QUICK = 1 ] || [ "$(left)" -lt $BENCH_FULL_S ]; then
        BENCH+=(--quick)
        [ $QUICK = 1 ] || echo "gpu_check: $(left) s left, under $BENCH_FULL_S: --quick" |
            tee -a "$LOG3"
    fi
    step 3 benchmark "$(left)" "$LOG3" "${BENCH[@]}"
    if [ -f "$TMP/bench/results.json" ]; then
        cp "$TMP/bench/results.json" "$OUT/kernels.json"
    fi
    finish_stage 3 "$t0"
else
    skip_stage 3 "no GPU"
fi

# -- summary -----------------------------------------------------------------------------------
STATUS=0
for r in "${STAGE_RESULT[@]}"; do
    case "$r" in
        PASS) ;;
        "SKIP(no GPU)") [ $STATUS = 1 ] || STATUS=2 ;;
        SKIP*) [ $STATUS -ne 0 ] || STATUS=3 ;;
        *) STATUS=1 ;;
    esac
done
[ $HAVE_GPU = 1 ] || [ $STATUS = 1 ] || STATUS=2

echo
echo "=== gpu_check summary: $((SECONDS - START)) s of $BUDGET_S, exit $STATUS, logs in $OUT"
printf '%-22s %-48s %8s\n' stage result seconds
for s in 0 1 2 3; do
    printf '%-22s %-48s %8s\n' "$s ${STAGE_NAMES[$s]}" "${STAGE_RESULT[$s]}" "${STAGE_SECS[$s]}"
    for i in "${!STEP_STAGE[@]}"; do
        if [ "${STEP_STAGE[$i]}" = "$s" ]; then
            printf '%-22s %-48s %8s\n' "    ${STEP_NAME[$i]}" "${STEP_RESULT[$i]}" \
                "${STEP_SECS[$i]}"
        fi
    done
done

{
    printf '{\n  "budget_s": %d, "elapsed_s": %d, "quick": %s, "gpu": %s, "exit": %d,\n' \
        $BUDGET_S $((SECONDS - START)) "$([ $QUICK = 1 ] && echo true || echo false)" \
        "$([ $HAVE_GPU = 1 ] && echo true || echo false)" $STATUS
    printf '  "stages": [\n'
    for s in 0 1 2 3; do
        printf '    {"stage": %d, "name": "%s", "result": "%s", "seconds": %d, "log": "%s",\n' \
            "$s" "${STAGE_NAMES[$s]}" "${STAGE_RESULT[$s]}" "${STAGE_SECS[$s]}" \
            "${STAGE_LOGS[$s]}"
        printf '     "steps": ['
        sep=""
        for i in "${!STEP_STAGE[@]}"; do
            if [ "${STEP_STAGE[$i]}" = "$s" ]; then
                printf '%s{"name": "%s", "result": "%s", "seconds": %d}' "$sep" \
                    "${STEP_NAME[$i]}" "${STEP_RESULT[$i]}" "${STEP_SECS[$i]}"
                sep=", "
            fi
        done
        printf ']}%s\n' "$([ $s = 3 ] || echo ,)"
    done
    printf '  ]\n}\n'
} >"$OUT/summary.json"
exit $STATUS
