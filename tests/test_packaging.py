"""The install story: pyproject and environment.yml agree, CI runs the README's commands."""

import re
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", req.strip())
    assert m, req
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(data["dependencies"])
    for extra in ("course", "dev"):
        reqs += data["optional-dependencies"][extra]
    return dict(_split(r) for r in reqs)


def environment_yml_requirements() -> tuple[dict[str, str], list[str]]:
    conda, pip = {}, []
    in_pip = False
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("\ndependencies:\n", 1)[1].splitlines():
        if re.match(r"^\s{2}- pip:\s*$", line):
            in_pip = True
            continue
        m = re.match(r"^(\s*)- (.+)$", line)
        if not m:
            continue
        if in_pip and len(m.group(1)) > 2:
            pip.append(m.group(2).strip())
            continue
        in_pip = False
        name, spec = _split(m.group(2).replace("=", "==", 1) if re.match(r"^python=\d", m.group(2)) else m.group(2))
        conda[CONDA_NAMES.get(name, name)] = spec
    return conda, pip


def test_environment_yml_names_the_same_packages_as_pyproject():
    py = pyproject_requirements()
    conda, pip = environment_yml_requirements()
    conda.pop("python"), conda.pop("pip")
    assert conda == py, f"drift: only in pyproject {set(py) - set(conda)}, only in environment.yml {set(conda) - set(py)}"
    assert pip == ["-e .[course,dev]"]


def test_torch_range_admits_the_pinned_cpu_build():
    spec = pyproject_requirements()["torch"]
    lo = re.search(r">=([\d.]+)", spec).group(1)
    hi = re.search(r"<([\d.]+)", spec).group(1)
    v = (2, 13, 0)
    assert tuple(map(int, lo.split("."))) <= v < tuple(map(int, hi.split(".")))
    assert 'TORCH_VERSION="2.13.0"' in (ROOT / "course.sh").read_text()


def test_ci_runs_the_readme_commands():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    setup, test = blocks[0].strip(), blocks[1].strip()
    assert setup == "./course.sh"
    assert test == ".venv/bin/python -m pytest"
    assert "./course.sh --setup-only" in ci
    assert re.search(r"^\.venv/bin/python -m pytest$", ci, flags=re.M), "CI must run exactly the README's test command"


def test_course_script_is_valid_bash_and_has_help():
    subprocess.run(["bash", "-n", str(ROOT / "course.sh")], check=True)
    out = subprocess.run(["bash", str(ROOT / "course.sh"), "--help"], capture_output=True, text=True, check=True)
    assert "--setup-only" in out.stdout


def test_cli_check_env_runs():
    out = subprocess.run([sys.executable, "-m", "ppo_edu", "check-env"], capture_output=True, text=True, check=True)
    assert "torch" in out.stdout and "device" in out.stdout
