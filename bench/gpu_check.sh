#!/usr/bin/env bash
# The GPU check: what only a CUDA machine can show, in one command that prints one line per check.
#
#   pip install -e '.[test]'      # once, in the repository, on the GPU machine
#   bash bench/gpu_check.sh       # each step is time-limited, all of them together to under 8 minutes
#
# Needs no network and nothing but the repository: the models are built by code with random weights
# (tests/tiny_models.py, bench/gpu_check_inputs.py) and the clips are generated. Checks, in order:
#   1. the GPU-marked tests (pytest -m gpu)
#   2. bfloat16 batched == unbatched for every transformers adapter (from the same pytest run)
#   3. --batch-size auto finding a size and backing off on a real CUDA out-of-memory
#   4. end-to-end over model-only time with a real CUDA generate (goal <= 1.10)
#   5. the decoding rate against the GPU's generate rate
# Without a GPU it prints one line saying so and exits 0. Exit 1 when a check failed, 2 when it cannot run.
# PYTHON picks the interpreter (default: python); the work folder (logs) is kept when a check fails, or with
# GPU_CHECK_KEEP=1.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
python=${PYTHON:-python}
export OMP_WAIT_POLICY=PASSIVE TOKENIZERS_PARALLELISM=false FECBENCH_OFFLINE=1
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1

"$python" bench/gpu_check.py probe
case $? in
  0) ;;
  3) exit 0 ;;
  *) exit 2 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/fecbench-gpu-check.XXXXXX")
export FECBENCH_CACHE_DIR="$work/cache" HF_HOME="$work/hf"
if [[ ${GPU_CHECK_KEEP:-0} != 1 ]]; then
  trap 'rm -rf "$work"' EXIT
fi
started=$SECONDS
failed=0

# run_check NAME LIMIT_S COMMAND...: run a step that prints PASS/FAIL lines on stdout, within LIMIT_S seconds.
run_check() {
  local name=$1 limit=$2 rc
  shift 2
  timeout "$limit" "$@" >"$work/$name.out" 2>"$work/$name.log"
  rc=$?
  if [[ $rc -eq 124 ]]; then
    echo "FAIL $name: timed out after $limit s (log: $work/$name.log)" >>"$work/$name.out"
  elif [[ $rc -ne 0 ]]; then
    echo "FAIL $name: exited $rc: $(tail -n 1 "$work/$name.log") (log: $work/$name.log)" >>"$work/$name.out"
  fi
  grep -E '^(PASS|FAIL) ' "$work/$name.out"
  if grep -q '^FAIL ' "$work/$name.out"; then
    failed=$((failed + $(grep -c '^FAIL ' "$work/$name.out")))
  fi
}

if ! timeout 60 "$python" bench/gpu_check.py build "$work" --device cuda >"$work/build.log" 2>&1; then
  echo "gpu-check: cannot build the model and clips (log: $work/build.log):"
  tail -n 5 "$work/build.log"
  GPU_CHECK_KEEP=1
  trap - EXIT
  exit 2
fi

timeout 150 "$python" -m pytest -m gpu -q -p no:cacheprovider --junitxml "$work/gpu-tests.xml" tests \
  >"$work/gpu-tests.log" 2>&1
tests_rc=$?
run_check gpu-tests 10 "$python" bench/gpu_check.py test-lines "$work/gpu-tests.xml" "$tests_rc"
run_check auto-batch 70 "$python" bench/gpu_check.py auto-batch "$work"
run_check overlap 140 "$python" bench/gpu_check.py overlap "$work" --device cuda

if [[ $failed -gt 0 ]]; then
  trap - EXIT  # keep the logs of what failed
  GPU_CHECK_KEEP=1
fi
echo "gpu-check: $failed failed, in $((SECONDS - started)) s (work folder: $work$([[ ${GPU_CHECK_KEEP:-0} == 1 ]] || echo ', removed'))"
[[ $failed -eq 0 ]]
