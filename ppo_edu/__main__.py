"""Command line: ``python -m ppo_edu {figures,check-env,site,...} ...``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {}


def command(name: str, help_text: str, configure: Callable[[argparse.ArgumentParser], None] = lambda p: None):
    """Register a sub-command ``name`` whose function takes the parsed args and returns an exit code."""

    def register(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        COMMANDS[name] = (help_text, configure, fn)
        return fn

    return register


def _figures_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="figures", help="output folder (default: figures)")
    p.add_argument("--only", nargs="*", help="names of the figures to make (default: all)")
    p.add_argument("--list", action="store_true", help="list the figure names and exit")


@command("figures", "regenerate every course figure into figures/", _figures_args)
def _figures(args: argparse.Namespace) -> int:
    from . import figures

    if args.list:
        print("\n".join(figures.RECIPES))
        return 0
    for path in figures.save_all(args.out, args.only):
        print(f"wrote {path}")
    return 0


@command("check-env", "print versions and the compute device the course will use")
def _check_env(args: argparse.Namespace) -> int:
    from .runtime import environment_report

    report = environment_report()
    report["executable"] = sys.executable  # which Python: useful in a terminal, noise in a notebook
    width = max(map(len, report))
    for key, value in report.items():
        print(f"{key:<{width}}  {value}")
    return 0


# --- classroom (student notebooks, instructor tools) ------------------------------------------


def _student_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--src", help="folder of the solved course notebooks (default: ./notebooks, else the course's own)")
    p.add_argument("--out", default="student", help="folder to write the student notebooks to (default: student)")
    p.add_argument("--only", nargs="*", help="notebook name prefixes, e.g. 05 07 (default: all)")
    p.add_argument("--nbgrader", action="store_true",
                   help="instead, write nbgrader source notebooks: solutions marked, hidden autograder tests")  # fmt: skip


@command("student-notebooks", "write student copies of the notebooks: solutions blanked, solution() withheld",
         _student_args)  # fmt: skip
def _student_notebooks(args: argparse.Namespace) -> int:
    import os

    from . import classroom

    write = classroom.write_nbgrader_source if args.nbgrader else classroom.write_student_set
    written = write(args.src or classroom.course_folder(), args.out, args.only)
    for path in written:
        print(f"wrote {path}")
    if not args.nbgrader:
        root = " --allow-root" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""  # JupyterLab refuses root without it
        print(f"open them with: cd {args.out} && {sys.executable} -m jupyter lab {written[0].name}{root}")
    return 0


def _grade_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("notebooks", nargs="+", help="handed-in notebooks (.ipynb)")
    p.add_argument("--csv", help="also write the grades to this CSV file, one row per exercise (written as it goes)")
    p.add_argument("--full", action="store_true", help="run with the full budget (default: quick mode)")
    p.add_argument("--timeout", type=int, default=600,
                   help="seconds per cell and per check; a longer cell is interrupted, a longer check is an error "
                        "(default: 600)")  # fmt: skip
    p.add_argument("--accept-package", action="store_true",
                   help="accept answers that call the package's own implementation (default: reported as failed)")
    p.add_argument("--course", help="folder of the solved course notebooks, whose exercises each submission of the same "
                   "name must have (default: ./notebooks, else the course's own)")  # fmt: skip


CSV_COLUMNS = ["notebook", "exercise", "function", "status", "mistake", "points", "message"]


@command("grade", "run handed-in notebooks and report what each exercise's check says", _grade_args)
def _grade(args: argparse.Namespace) -> int:
    import contextlib
    import csv

    from . import classroom

    with contextlib.ExitStack() as stack:
        writer = None
        if args.csv:
            f = stack.enter_context(open(args.csv, "w", newline="", encoding="utf-8"))
            writer = csv.writer(f)
            writer.writerow(CSV_COLUMNS)
            f.flush()

        def report(i: int, n: int, notebook: str, grades: list, seconds: float) -> None:
            errors = sum(g.status == "error" for g in grades)
            extra = f", {errors} error" + ("s" if errors != 1 else "") if errors else ""
            print(f"[{i}/{n}] {notebook}: {sum(g.points for g in grades)}/{len(grades)} passed{extra} ({seconds:.1f} s)")
            for g in grades:
                mistake = f" [{g.mistake}]" if g.mistake else ""
                reason = f": {g.message.splitlines()[0]}" if g.status == "error" else ""
                print(f"    {g.exercise:<26} {g.status}{mistake}{reason}")
                if writer is not None:
                    writer.writerow([g.notebook, g.exercise, g.function, g.status, g.mistake or "", g.points, g.message])
            if writer is not None:
                f.flush()
            sys.stdout.flush()

        classroom.grade(args.notebooks, timeout=args.timeout, quick=not args.full, accept_package=args.accept_package,
                        course=args.course or classroom.course_folder(), on_notebook=report)  # fmt: skip
    if args.csv:
        print(f"wrote {args.csv}")
    return 0


# --- training (capstone) -----------------------------------------------------------------------
def _train_args(p: argparse.ArgumentParser) -> None:
    from .train import PPOConfig

    d = PPOConfig()
    # The run's settings default to None so that --resume can refuse them: a resumed run keeps its own.
    p.add_argument("--total-steps", type=int, help=f"env steps per member (default {d.total_steps})")
    p.add_argument("--num-envs", type=int, help=f"environments per member (default {d.num_envs})")
    p.add_argument("--population", type=int, help="agents trained side by side (default 1)")
    p.add_argument("--seed", type=int, help="seed of the run (default 0)")
    p.add_argument("--device", default="auto", help="auto (cuda if present), cpu, cuda, ... (default auto)")
    p.add_argument("--env-backend", choices=("torch", "gymnasium"), help="rollout environments (default torch)")
    p.add_argument("--eval-episodes", type=int, default=10, help="evaluation episodes on gymnasium CartPole-v1")
    p.add_argument("--save", help="write a checkpoint here at the end")
    p.add_argument("--resume", help="continue the run saved in this checkpoint")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


@command("train", "train PPO on CartPole-v1 (batched torch env), then evaluate on gymnasium's", _train_args)
def _train(args: argparse.Namespace) -> int:
    import time

    from .train import PPOConfig, Trainer, evaluate

    run_settings = {"total_steps": args.total_steps, "num_envs": args.num_envs, "population": args.population,
                    "seed": args.seed, "env_backend": args.env_backend}  # fmt: skip
    given = {k: v for k, v in run_settings.items() if v is not None}
    if args.resume:
        if given:
            flags = ", ".join("--" + k.replace("_", "-") for k in given)
            raise ValueError(f"{flags}: a resumed run keeps the settings saved in its checkpoint; drop these options")
        trainer = Trainer.load(args.resume, device=None if args.device == "auto" else args.device)
    else:
        trainer = Trainer(PPOConfig(device=args.device, **given))
    cfg = trainer.config
    print(f"device: {trainer.device}, population: {cfg.population}, env steps per member: {cfg.total_steps}")
    before, start = trainer.iterations_done, time.perf_counter()
    trainer.train(progress=not args.no_progress)
    seconds = time.perf_counter() - start
    steps = trainer.config.population * trainer.env_steps
    print(f"trained {trainer.iterations_done - before} iterations in {seconds:.1f} s "
          f"(iteration {trainer.iterations_done} of {cfg.num_iterations})")  # fmt: skip
    returns = evaluate(trainer.agent, episodes=args.eval_episodes)
    for p, r in enumerate(returns):
        print(f"member {p}: mean return {r.mean():.1f} over {args.eval_episodes} episodes (deterministic policy)")
    if args.save:
        print(f"wrote {trainer.save(args.save)}")
    print(f"{steps} env steps in total")
    return 0


# --- the course as a website -------------------------------------------------------------------
def _site_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="build/site", help="folder to write the site to, replaced (default: build/site)")
    p.add_argument("--src", default=None, help="folder of the executed notebooks (default: the course's notebooks/)")


@command("site", "build the course as a static website from the committed notebooks (needs the site extra)", _site_args)
def _site(args: argparse.Namespace) -> int:
    from . import site

    missing = site.missing_site_packages()
    if missing:
        print(f"error: the site builder needs {', '.join(missing)}, in the site extra. Install it with\n"
              f"    {site.INSTALL_HINT}", file=sys.stderr)  # fmt: skip
        return 3
    result = site.build(args.out, src=args.src)
    for warning in result["warnings"]:
        print(warning, file=sys.stderr)
    print(f"built {len(result['pages'])} notebook pages + home in {result['seconds']:.1f} s")
    print(f"open {result['index']}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ppo_edu", description="ppo_edu: the PPO course's tools")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, configure, _) in COMMANDS.items():
        configure(sub.add_parser(name, help=help_text, description=help_text))
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command][2](args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
