#!/usr/bin/env bash
# One-shot GPU check for kernels/*.cu (issue 5): run on a machine with an NVIDIA GPU, CuPy and
# torch with CUDA, from the repository root:   bash benchmarks/gpu_check.sh [--quick]
#   1. the GPU tests (tests/test_kernels_cuda.py and every "cuda" test in the suite)
#   2. compute-sanitizer memcheck and racecheck over benchmarks/sanitize_kernels.py
#   3. the kernel benchmark (python -m benchmarks --device cuda --suite kernels)
# and prints a short pass/fail table last. Exit status is non-zero when any step failed.
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
QUICK="${1:-}"
declare -A RESULT

step() {  # step NAME COMMAND...
    local name="$1"; shift
    echo "=== $name: $*"
    if "$@"; then RESULT[$name]=PASS; else RESULT[$name]="FAIL($?)"; fi
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
python -c "import cupy; print('cupy', cupy.__version__, 'GPU available:', cupy.is_available())"

step build   python -m pytest -q tests/test_kernels_build.py
step gpu     python -m pytest -q tests/test_kernels_cuda.py
step cuda-k  python -m pytest -q tests -k "cuda" --ignore=tests/test_kernels_cuda.py

SAN="$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)"
if [ -x "$SAN" ]; then
    step memcheck  "$SAN" --tool memcheck --error-exitcode 1 --leak-check no \
                   python benchmarks/sanitize_kernels.py
    step racecheck "$SAN" --tool racecheck --racecheck-report all --error-exitcode 1 \
                   python benchmarks/sanitize_kernels.py
else
    RESULT[memcheck]="SKIP(no compute-sanitizer)"; RESULT[racecheck]="SKIP(no compute-sanitizer)"
fi

if [ "$QUICK" = "--quick" ]; then
    step bench python -m benchmarks --device cuda --suite kernels --quick
else
    step bench python -m benchmarks --device cuda --suite kernels
fi

echo
echo "=== gpu_check summary"
printf '%-10s %s\n' step result
for name in build gpu cuda-k memcheck racecheck bench; do
    printf '%-10s %s\n' "$name" "${RESULT[$name]:-not run}"
done
for name in build gpu cuda-k memcheck racecheck bench; do
    case "${RESULT[$name]:-}" in PASS|SKIP*) ;; *) exit 1 ;; esac
done
