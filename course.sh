#!/usr/bin/env bash
# Set up the PPO course in ./.venv (idempotent) and open it in JupyterLab.
#
#   ./course.sh                 set up (first run: a few minutes) and open JupyterLab on the course
#   ./course.sh --setup-only    set up and check the environment, but do not start JupyterLab
#   ./course.sh -- --port 8899  anything after "--" is passed to `jupyter lab`
#
# Torch: on a machine with an NVIDIA GPU (nvidia-smi works) it installs PyPI's torch 2.13.0,
# which on Linux is the CUDA build. Without a GPU it only ever installs a CPU build: a local
# CPU wheel if pip finds one, otherwise PyTorch's CPU wheel index (TORCH_CPU_INDEX_URL).
# Set PYTHON to choose the interpreter (default python3, needs >= 3.10).
set -euo pipefail
cd "$(dirname "$0")"

TORCH_VERSION="2.13.0"
TORCH_CPU_INDEX_URL="${TORCH_CPU_INDEX_URL:-https://download.pytorch.org/whl/cpu}"
PYTHON="${PYTHON:-python3}"
LAUNCH=1
LAB_ARGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --setup-only) LAUNCH=0 ;;
    --) shift; LAB_ARGS=("$@"); break ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "course.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { printf '\033[1m[course]\033[0m %s\n' "$*"; }

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
  || { echo "course.sh: Python >= 3.10 is needed; set PYTHON=/path/to/python3.x" >&2; exit 1; }

if [[ ! -x .venv/bin/python ]]; then
  say "creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip)

has_gpu() { command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; }

install_torch() {
  if .venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
    say "torch $(.venv/bin/python -c 'import torch; print(torch.__version__)') already installed"
    return
  fi
  if has_gpu; then
    say "NVIDIA GPU found: installing torch==$TORCH_VERSION with CUDA"
    "${PIP[@]}" install "torch==$TORCH_VERSION"
    return
  fi
  # No GPU: find out which wheel pip would pick, without downloading it.
  local report
  report="$(mktemp)"
  "${PIP[@]}" install --dry-run --no-deps --quiet --ignore-installed --report "$report" "torch==$TORCH_VERSION" >/dev/null 2>&1 || true
  if grep -q '"version": "[^"]*+cpu"' "$report" 2>/dev/null || [[ "$(uname -s)" == "Darwin" ]]; then
    say "no GPU: installing the CPU build of torch==$TORCH_VERSION"
    "${PIP[@]}" install "torch==$TORCH_VERSION"
  else
    say "no GPU: installing torch==$TORCH_VERSION from the CPU wheel index $TORCH_CPU_INDEX_URL"
    "${PIP[@]}" install "torch==$TORCH_VERSION" --index-url "$TORCH_CPU_INDEX_URL"
  fi
  rm -f "$report"
}

install_torch
STAMP=.venv/.ppo_edu-installed
if [[ ! -f "$STAMP" || pyproject.toml -nt "$STAMP" ]] || ! .venv/bin/python -c "import ppo_edu" 2>/dev/null; then
  say "installing ppo_edu (editable) with the course and development extras"
  "${PIP[@]}" install --quiet -e ".[course,dev]"
  touch "$STAMP"
fi
.venv/bin/python -m ppo_edu check-env

if [[ "$LAUNCH" == 1 ]]; then
  say "opening JupyterLab on notebooks/ (stop it with Ctrl-C)"
  ROOT_ARGS=()
  [[ "$(id -u)" == 0 ]] && ROOT_ARGS=(--allow-root)  # containers often run as root
  cd notebooks
  exec ../.venv/bin/jupyter lab 00_start_here.ipynb "${ROOT_ARGS[@]}" "${LAB_ARGS[@]}"
fi
say "setup done. Open the course with ./course.sh, run the tests with .venv/bin/python -m pytest"
