#!/usr/bin/env bash
# Create benchmarks/.venv-peers: a separate virtual environment holding the benchmark's peers,
# Stable-Baselines3 and a JAX stack (jax + flax + optax + gymnax) for bench_jax.py. They are
# benchmark peers only, never dependencies of the course.
#
# The peers' venv reuses the course venv's torch/gymnasium/numpy (through a .pth file), so SB3 runs
# on the very same torch build and every contestant is evaluated by the very same gymnasium.
# SB3 (pure Python) is installed without its dependencies; the JAX stack is pinned to versions
# that work together (gymnax 1.0 changed `step` to return six values; the 0.0.9 line returns five).
#
# Usage:  bash benchmarks/setup_peers.sh            (from the repository root)
#         PEERS_NO_JAX=1 bash benchmarks/setup_peers.sh   (SB3 only)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
course_py="${COURSE_PYTHON:-$root/.venv/bin/python}"
peers="$here/.venv-peers"
if [ ! -x "$peers/bin/python" ]; then
    "$course_py" -m venv "$peers"
fi
course_site="$("$course_py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
peers_site="$("$peers/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$course_site" > "$peers_site/course_site.pth"
pip_install() { "$peers/bin/python" -m pip install --quiet --disable-pip-version-check "$@"; }
if ! "$peers/bin/python" -c 'import stable_baselines3' 2>/dev/null; then
    pip_install --no-deps "stable-baselines3>=2.3,<3" cloudpickle pandas
fi
# The JAX peer's pins (checked together on CPU, Python 3.11): installed once, skipped when present.
JAX_PINS=("jax[cpu]==0.10.2" "jaxlib==0.10.2" "flax==0.12.8" "optax==0.2.8" "gymnax==0.0.9" "six")
if [ -z "${PEERS_NO_JAX:-}" ] && ! "$peers/bin/python" -c 'import jax, flax, optax, gymnax, six' 2>/dev/null; then
    pip_install "${JAX_PINS[@]}"
fi
"$peers/bin/python" -c 'import stable_baselines3, torch, gymnasium; print("stable-baselines3", stable_baselines3.__version__, "torch", torch.__version__, "gymnasium", gymnasium.__version__)'
if [ -z "${PEERS_NO_JAX:-}" ]; then
    "$peers/bin/python" -c 'import importlib.metadata as m; print(*(f"{p} {m.version(p)}" for p in ("jax", "jaxlib", "flax", "optax", "gymnax")))'
fi
