#!/usr/bin/env bash
# Create benchmarks/.venv-peers: a separate virtual environment holding Stable-Baselines3 for the
# benchmark. SB3 is a benchmark peer only, never a dependency of the course.
#
# The peers' venv reuses the course venv's torch/gymnasium/numpy (through a .pth file), so both
# sides of the benchmark run on the very same torch build and thread settings; only SB3 itself
# (pure Python) is installed here, without its dependencies.
#
# Usage:  bash benchmarks/setup_peers.sh            (from the repository root)
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
"$peers/bin/python" -m pip install --quiet --no-deps "stable-baselines3>=2.3,<3" cloudpickle pandas
"$peers/bin/python" -c 'import stable_baselines3, torch, gymnasium; print("stable-baselines3", stable_baselines3.__version__, "torch", torch.__version__, "gymnasium", gymnasium.__version__)'
