#!/usr/bin/env bash
# The whole benchmark in one command (from the repository root):  bash benchmarks/run.sh [run.py options]
set -euo pipefail
cd "$(dirname "$0")/.."
bash benchmarks/setup_peers.sh
.venv/bin/python benchmarks/run.py "$@"
