#!/usr/bin/env bash
# The GPU check, prepared to run in one call on a lent NVIDIA GPU (H100/H200: well under 8 minutes),
# writing everything to one folder:
#
#   bash benchmarks/gpu_check.sh                      # device cuda, full sizes, results in artifacts/gpu_check/
#   bash benchmarks/gpu_check.sh --device cpu --tiny  # the same steps at tiny sizes on the CPU (the test suite runs this)
#
# Steps (each under its own timeout, so one failure cannot eat the machine's time):
#   1. machine.txt         nvidia-smi -L and `python -m ppo_edu check-env`
#   2. 10_cartpole_gpu.ipynb  notebook 10 executed on the device, outputs saved
#   3. single_agent.jsonl  benchmarks/bench_ours.py time-to-solve, seeds 0-4 (protocol of benchmarks/README.md)
#   4. population.txt      benchmarks/gpu_population.py at P = 1024 and 4096 (64 envs x 32 steps each)
#   5. profile_*.json      benchmarks/profile_iteration.py: torch ops and host syncs per step, single agent and P = 1024
#   6. compile.jsonl       benchmarks/compile_check.py: what torch.compile with CUDA graphs (mode reduce-overhead)
#                          buys the update's minibatch step, single agent, and what its cold compile costs
#   7. SUMMARY.txt         all of the above in one page
set -uo pipefail
cd "$(dirname "$0")/.."
DEVICE=cuda
TINY=0
OUT=artifacts/gpu_check
while [[ $# -gt 0 ]]; do
  case "$1" in
    --device) DEVICE="$2"; shift 2 ;;
    --tiny) TINY=1; shift ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "gpu_check.sh: unknown option $1 (expected --device D, --tiny, --out DIR)" >&2; exit 2 ;;
  esac
done
PY="${PYTHON:-.venv/bin/python}"
mkdir -p "$OUT"
if [[ "$TINY" == 1 ]]; then
  POPULATIONS="4 8"; SEEDS="0"; MAX_STEPS=2048; ITERATIONS=2; QUICK=1; NUM_ENVS=8
  COMPILE_ARGS="--backend aot_eager --repeats 3"  # tracing only: inductor's cold compile takes half a minute on 2 cores
else
  POPULATIONS="1024 4096"; SEEDS="0 1 2 3 4"; MAX_STEPS=100000; ITERATIONS=10; QUICK=""; NUM_ENVS=64
  COMPILE_ARGS="--mode reduce-overhead --repeats 100"
fi
status=0
step() {  # step NAME TIMEOUT_S COMMAND...: run, log, remember a failure, go on
  local name="$1" limit="$2"; shift 2
  local t0=$(date +%s)
  timeout "$limit" "$@"
  local rc=$?
  echo "[gpu_check] $name: exit $rc after $(( $(date +%s) - t0 )) s" | tee -a "$OUT/steps.log"
  [[ $rc == 0 ]] || status=1
}
: > "$OUT/steps.log"
step machine 60 bash -c "{ nvidia-smi -L 2>&1 || echo 'nvidia-smi: not available'; $PY -m ppo_edu check-env; } > '$OUT/machine.txt'"
# --allow-errors: a failing cell must not cost the cells after it (the GPU population); errors are counted next
step notebook10 240 env PPO_EDU_QUICK="$QUICK" "$PY" -m jupyter nbconvert --to notebook --execute --allow-errors \
  --ExecutePreprocessor.timeout=220 --output-dir "$OUT" notebooks/10_cartpole_gpu.ipynb
step "notebook10 without errors" 30 "$PY" -c "import json, sys; nb = json.load(open(sys.argv[1])); \
errors = [o['ename'] + ': ' + o['evalue'] for c in nb['cells'] for o in c.get('outputs', []) if o.get('output_type') == 'error']; \
print('\n'.join(errors) or 'no cell raised'); sys.exit(1 if errors else 0)" "$OUT/10_cartpole_gpu.ipynb"
: > "$OUT/single_agent.jsonl"
for seed in $SEEDS; do
  step "single_agent seed $seed" 90 bash -c "'$PY' benchmarks/bench_ours.py --seed $seed --device $DEVICE --max-steps $MAX_STEPS >> '$OUT/single_agent.jsonl'"
done
: > "$OUT/population.txt"
for p in $POPULATIONS; do
  step "population $p" 120 bash -c "'$PY' benchmarks/gpu_population.py --population $p --num-envs $NUM_ENVS --iterations $ITERATIONS --device $DEVICE >> '$OUT/population.txt'"
done
step "profile single agent" 90 bash -c "'$PY' benchmarks/profile_iteration.py --device $DEVICE > '$OUT/profile_single.json'"
first_p="${POPULATIONS%% *}"
step "profile population $first_p" 90 bash -c "'$PY' benchmarks/profile_iteration.py --device $DEVICE --config '{\"population\": $first_p, \"num_envs\": $NUM_ENVS}' > '$OUT/profile_population.json'"
# last, so that a slow compile cannot take time from the steps above
step "compile single agent" 150 bash -c "'$PY' benchmarks/compile_check.py --device $DEVICE $COMPILE_ARGS > '$OUT/compile.jsonl'"
{
  echo "# GPU check ($(date -u +%Y-%m-%dT%H:%MZ), device $DEVICE, tiny=$TINY)"
  for f in machine.txt steps.log single_agent.jsonl population.txt profile_single.json profile_population.json compile.jsonl; do
    echo; echo "## $f"; cat "$OUT/$f" 2>/dev/null || echo "(missing)"
  done
} > "$OUT/SUMMARY.txt"
echo "[gpu_check] results in $OUT (SUMMARY.txt); overall exit $status"
exit $status
