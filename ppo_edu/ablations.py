"""Ablations of PPO's implementation details on CartPole: runs over seeds, summaries, intervals.

An ablation changes one setting of a base :class:`~ppo_edu.train.PPOConfig` and trains every
variant as one population of P seeds (one process, each member updated exactly as if alone),
except KL early stopping, whose stop would be shared by a population: its P seeds are P runs.
Each run is summarised per seed by

* **steps to 475**: the first iteration's environment-step count from which the mean return of
  the training episodes stays ≥ 475 to the end of training (:func:`steps_to_threshold`), and
* **final return**: the mean return of greedy evaluation episodes on gymnasium's CartPole-v1,

and each summary is reported as its mean (or median) over seeds with a percentile bootstrap
confidence interval over the seeds (:func:`bootstrap_ci`).

Shapes: P seeds (population members), K iterations, E evaluation episodes per seed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import math
import os
import pickle
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import train
from .train import PPOConfig

#: The settings compared, each as (label, changes to the base config); the first label of
#: every group marked "(ours)" is the base itself. Notebook 11 and figures/11_* run these.
ABLATIONS: dict[str, tuple[tuple[str, dict[str, Any]], ...]] = {
    "GAE λ": (("λ = 0", {"lam": 0.0}), ("λ = 0.8", {"lam": 0.8}), ("λ = 0.95 (ours)", {}), ("λ = 1", {"lam": 1.0})),
    "truncation": (("bootstrapped (ours)", {}), ("as termination", {"bug": "truncation_as_termination"})),
    "advantage normalisation": (("on (ours)", {}), ("off", {"norm_adv": False})),
    "value clipping": (("off (ours)", {}), ("on, 0.2", {"clip_value": 0.2})),
    "reward scale": (("0.1 (ours)", {}), ("1 (unscaled)", {"reward_scale": 1.0})),
    "epochs": (("1", {"epochs": 1}), ("4 (ours)", {}), ("10", {"epochs": 10})),
    "clip ε": (("0.1", {"clip_eps": 0.1}), ("0.2 (ours)", {}), ("0.3", {"clip_eps": 0.3})),
    "KL early stopping": (("off (ours)", {}), ("target_kl = 0.01", {"target_kl": 0.01})),
}  # fmt: skip

#: The groups run in quick mode (CI): one, to show the machinery.
QUICK_GROUPS: tuple[str, ...] = ("advantage normalisation",)


def base_config(quick: bool = False) -> PPOConfig:
    """The base of every ablation: the course's CartPole defaults, 8 seeds as one population (CPU).

    Quick mode (CI) trains 4 seeds for 4 096 steps (4 iterations) instead of 8 seeds for 50 000.
    """
    if quick:
        return PPOConfig(total_steps=4_096, population=4, device="cpu", seed=0)
    return PPOConfig(total_steps=50_000, population=8, device="cpu", seed=0)


def steps_to_threshold(env_steps: np.ndarray, returns: np.ndarray, threshold: float = 475.0) -> np.ndarray:
    """Per seed, the env steps of the first iteration k from which every finite return[k:] ≥ threshold.

    NaN entries (iterations in which no training episode ended) neither break nor start a run of
    success; a seed whose last finite return is below ``threshold`` (or that has none) gets ``inf``.

    Shapes: env_steps (K,), returns (P, K) or (K,) → (P,) or ().
    """
    env_steps, r = np.asarray(env_steps), np.asarray(returns, dtype=float)
    if r.shape[-1:] != env_steps.shape:
        raise ValueError(f"returns: expected last axis of length {env_steps.shape[0]} (env_steps), got shape {r.shape}")
    flat = np.atleast_2d(r)
    out = np.full(flat.shape[0], np.inf)
    for p, row in enumerate(flat):
        bad = np.flatnonzero(np.isfinite(row) & (row < threshold))
        first = bad[-1] + 1 if len(bad) else 0  # first index after the last failure
        finite_after = np.flatnonzero(np.isfinite(row[first:]))
        if len(finite_after):
            out[p] = env_steps[first + finite_after[0]]
    return out if r.ndim == 2 else out[0]


def fill_forward(returns: np.ndarray) -> np.ndarray:
    """Each seed's learning curve with NaN (no episode ended) replaced by the last finite value.

    Leading NaNs stay NaN. Used to draw curves and bands over seeds, never for the summaries.

    Shapes: (P, K) → (P, K).
    """
    r = np.array(returns, dtype=float, ndmin=2)
    for row in r:
        for k in range(1, len(row)):
            if np.isnan(row[k]):
                row[k] = row[k - 1]
    return r


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray] = np.mean,
    level: float = 0.95,
    n_boot: int = 10_000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(statistic(values), lower, upper): the percentile bootstrap interval over the values.

    Resample the n values with replacement ``n_boot`` times, compute the statistic of each
    resample, and take its (1 − level)/2 and (1 + level)/2 empirical quantiles (the smallest
    resampled value with at least that share of resamples at or below it: ``inverted_cdf``).
    ``statistic`` must reduce along ``axis=-1`` (np.mean, np.median, ...).

    Shapes: values (n,) → three floats.
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or len(x) == 0:
        raise ValueError(f"values: expected a non-empty 1-D sequence, got shape {x.shape}")
    if np.isnan(x).any():
        raise ValueError("values: contains NaN (drop or replace missing seeds first)")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level: expected a number in (0, 1), got {level!r}")
    rng = np.random.default_rng(seed)
    boots = statistic(x[rng.integers(0, len(x), size=(n_boot, len(x)))], axis=-1)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(boots, [alpha, 1.0 - alpha], method="inverted_cdf")
    return float(statistic(x)), float(lo), float(hi)


@dataclass
class Run:
    """One setting trained as a population. Shapes: env_steps (K,), returns (P, K), final (P,)."""

    label: str
    config: PPOConfig
    env_steps: np.ndarray
    returns: np.ndarray
    final: np.ndarray
    steps_to_475: np.ndarray
    metrics: dict[str, np.ndarray]


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one CPU thread inside the block (restored after).

    The course's networks are tiny: splitting their matrix products over threads costs more in
    synchronisation than it gains, and on a busy machine far more (measured: 12× slower with two
    threads on two loaded cores). Results are the same either way.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_setting(config: PPOConfig, label: str = "", eval_episodes: int = 10) -> Run:
    """Train ``config`` (a population), then evaluate each member greedily for ``eval_episodes``.

    With KL early stopping the P seeds cannot share one trainer (the stop would be the same for
    all: :func:`~ppo_edu.train.check_independent`), so they are P single-agent runs, one after
    the other, with seeds ``config.seed + 3p`` (:data:`~ppo_edu.train.SEED_STREAMS` apart, so that
    no two share a random stream), reported in the same shapes.

    Shapes: see :class:`Run`; ``final`` is each member's mean evaluation return.
    """
    if config.target_kl is not None and config.population > 1:
        return _separate_runs(config, label, eval_episodes)
    with one_thread():
        trainer = train.Trainer(config)
        trainer.train(progress=False)
        final = train.evaluate(trainer.agent, episodes=eval_episodes).reshape(config.population, -1).mean(1)
    steps, returns = trainer.learning_curves()
    return Run(label, config, steps, returns, final, steps_to_threshold(steps, returns), trainer.metrics())


def _separate_runs(config: PPOConfig, label: str, eval_episodes: int) -> Run:
    """``config``'s P seeds as P single-agent runs, stacked as if one population had trained them:
    returns (P, K), final (P,), and each diagnostic the mean over the runs, as a population reports it."""
    singles = [run_setting(single, label, eval_episodes) for single in train.single_runs(config)]
    steps, returns = singles[0].env_steps, np.concatenate([r.returns for r in singles])
    metrics: dict[str, np.ndarray] = {"env_steps": steps, "return": returns}
    for key in train.DIAGNOSTICS:
        stacked = np.stack([r.metrics[key] for r in singles])  # (P, K)
        with warnings.catch_warnings():  # explained variance: NaN where no run's targets varied
            warnings.simplefilter("ignore", RuntimeWarning)
            metrics[key] = np.nanmean(stacked, axis=0) if key == "explained_variance" else stacked.mean(axis=0)
    final = np.concatenate([r.final for r in singles])
    return Run(label, config, steps, returns, final, steps_to_threshold(steps, returns), metrics)


def run_ablations(
    base: PPOConfig,
    groups: Sequence[str] | None = None,
    eval_episodes: int = 10,
    runner: Callable[[PPOConfig, str, int], Run] = run_setting,
) -> dict[str, list[Run]]:
    """Every setting of the named :data:`ABLATIONS` groups (all by default), as {group: [Run, ...]}.

    A config that appears in several groups (the base does in every one) is trained once.
    """
    names = list(ABLATIONS) if groups is None else list(groups)
    unknown = [g for g in names if g not in ABLATIONS]
    if unknown:
        raise ValueError(f"groups: unknown {unknown}; known: {list(ABLATIONS)}")
    cache: dict[PPOConfig, Run] = {}
    out: dict[str, list[Run]] = {}
    for group in names:
        out[group] = []
        for label, changes in ABLATIONS[group]:
            cfg = base.replace(**changes)
            if cfg not in cache:
                cache[cfg] = runner(cfg, label, eval_episodes)
            run = cache[cfg]
            out[group].append(Run(label, cfg, run.env_steps, run.returns, run.final, run.steps_to_475, run.metrics))
    return out


#: Environment variable naming a folder where :func:`study` keeps finished runs (unset: no cache).
CACHE_ENV = "PPO_EDU_CACHE"

#: The modules whose source decides a run's result: a cached run is used only if they are unchanged.
_RUN_SOURCES = ("train.py", "agents.py", "envs.py", "advantages.py", "losses.py", "ablations.py")


def run_key(config: PPOConfig, eval_episodes: int) -> str:
    """A name for one run's result: a hash of its config, its evaluation and the trainer's source code."""
    root = Path(__file__).parent
    h = hashlib.sha256(repr((config, eval_episodes)).encode())
    for name in _RUN_SOURCES:
        h.update((root / name).read_bytes())
    return h.hexdigest()[:24]


def cached(runner: Callable[[PPOConfig, str, int], Run], cache_dir: str | Path) -> Callable[[PPOConfig, str, int], Run]:
    """``runner`` that first looks for the run in ``cache_dir`` (by :func:`run_key`) and stores what it trains."""
    folder = Path(cache_dir)

    def run(config: PPOConfig, label: str, eval_episodes: int) -> Run:
        path = folder / f"run-{run_key(config, eval_episodes)}.pkl"
        if path.exists():
            with path.open("rb") as f:
                stored = pickle.load(f)
            return dataclasses.replace(stored, label=label)
        result = runner(config, label, eval_episodes)
        folder.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            pickle.dump(result, f)
        return result

    return run


def study(quick: bool = False, cache_dir: str | Path | None = None) -> dict[str, list[Run]]:
    """Notebook 11's ablation study (the figures/11_ablation_* recipes run the same): every group
    on :func:`base_config` (full), or only :data:`QUICK_GROUPS` on the quick base.

    With ``cache_dir`` (default: the folder in ``$PPO_EDU_CACHE``, if set) finished runs are kept
    there and reused while the config and the trainer's source are unchanged (:func:`run_key`), so
    the notebook and the figures share one computation of the full study.
    """
    cache_dir = cache_dir if cache_dir is not None else os.environ.get(CACHE_ENV) or None
    runner = run_setting if cache_dir is None else cached(run_setting, cache_dir)
    return run_ablations(base_config(quick), QUICK_GROUPS if quick else None, runner=runner)


def _budget(run: Run) -> float:
    """The env steps ``run`` trained: ``total_steps`` rounded up to whole iterations."""
    return float(run.env_steps[-1]) if len(run.env_steps) else float(run.config.total_steps)


def _censored_steps(run: Run) -> np.ndarray:
    """Each seed's steps to 475, a seed that never stays there counted at the budget. Shapes: (P,)."""
    return np.minimum(run.steps_to_475, _budget(run))


def summarize(run: Run, n_boot: int = 10_000) -> dict[str, Any]:
    """The table row of one run: final return (mean over seeds, 95 % CI), steps to 475 (median, 95 % CI).

    Seeds that never stay ≥ 475 count as the steps the run trained (censored: "≥ budget"), so the
    median and its interval are lower bounds where they equal the budget. The budget is the last
    iteration's env steps, ``total_steps`` rounded up to whole iterations (50 176 for 50 000 at
    1 024 steps per iteration): a seed that first stays ≥ 475 there is not cut back below it.
    """
    budget = _budget(run)
    censored = _censored_steps(run)
    return {
        "label": run.label,
        "seeds": int(len(run.final)),
        "solved": int(np.isfinite(run.steps_to_475).sum()),
        "final": bootstrap_ci(run.final, np.mean, n_boot=n_boot),
        "steps_to_475": bootstrap_ci(censored, np.median, n_boot=n_boot),
        "budget": budget,
    }


def summary_rows(results: dict[str, list[Run]], n_boot: int = 10_000) -> list[dict[str, Any]]:
    """:func:`summarize` for every run, each row with its ``group`` (what the summary figure draws)."""
    return [{"group": group, **summarize(run, n_boot)} for group, runs in results.items() for run in runs]


def curves(results: dict[str, list[Run]]) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """{group: {label: (env_steps (K,), filled returns (P, K))}} for the learning-curve figure."""
    return {g: {r.label: (r.env_steps, fill_forward(r.returns)) for r in runs} for g, runs in results.items()}


def intervals_overlap(a: tuple[float, float, float], b: tuple[float, float, float]) -> bool:
    """Whether two (estimate, lower, upper) intervals share any value."""
    return not (a[2] < b[1] or b[2] < a[1])


def difference_ci(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray] = np.mean,
    level: float = 0.95,
    n_boot: int = 10_000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(statistic(a) − statistic(b), lower, upper): a percentile bootstrap interval of the difference,
    each group resampled on its own (unpaired), as in :func:`bootstrap_ci`.

    Shapes: a (n,), b (m,) → three floats.
    """
    x, y = (np.asarray(v, dtype=float) for v in (a, b))
    for name, v in (("a", x), ("b", y)):
        if v.ndim != 1 or len(v) == 0 or np.isnan(v).any():
            raise ValueError(f"{name}: expected a non-empty 1-D sequence without NaN, got shape {v.shape}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level: expected a number in (0, 1), got {level!r}")
    rng = np.random.default_rng(seed)
    diffs = statistic(x[rng.integers(0, len(x), size=(n_boot, len(x)))], axis=-1) - statistic(
        y[rng.integers(0, len(y), size=(n_boot, len(y)))], axis=-1)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(diffs, [alpha, 1.0 - alpha], method="inverted_cdf")
    return float(statistic(x) - statistic(y)), float(lo), float(hi)


def permutation_p_value(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray] = np.mean,
    n_perm: int = 20_000,
    seed: int = 0,
) -> float:
    """Two-sided p-value of |statistic(a) − statistic(b)| under relabelling (the two groups exchangeable).

    Every split of the pooled values into groups of len(a) and len(b) is enumerated when there are
    at most ``n_perm`` of them (8 against 8: 12 870, so the p-value is exact); otherwise ``n_perm``
    random relabellings (with the observed one counted). Ties in the statistic count as extreme.

    Shapes: a (n,), b (m,) → a float in (0, 1].
    """
    x, y = (np.asarray(v, dtype=float) for v in (a, b))
    if x.ndim != 1 or y.ndim != 1 or not len(x) or not len(y) or np.isnan(x).any() or np.isnan(y).any():
        raise ValueError("a, b: expected non-empty 1-D sequences without NaN")
    pooled, n = np.concatenate([x, y]), len(x)
    observed = abs(float(statistic(x) - statistic(y)))
    if math.comb(len(pooled), n) <= n_perm:
        in_a = np.zeros((math.comb(len(pooled), n), len(pooled)), dtype=bool)
        for row, chosen in enumerate(itertools.combinations(range(len(pooled)), n)):  # every split, once
            in_a[row, list(chosen)] = True
        order = np.argsort(~in_a, axis=1, kind="stable")  # each row: group a's indices, then group b's
        extra = 0
    else:
        order = np.argsort(np.random.default_rng(seed).random((n_perm, len(pooled))), axis=1)
        extra = 1  # the observed labelling is one of the equally likely ones
    diffs = statistic(pooled[order[:, :n]], axis=-1) - statistic(pooled[order[:, n:]], axis=-1)
    extreme = np.abs(diffs) >= observed - 1e-9 * max(1.0, observed)
    return float((extreme.sum() + extra) / (len(order) + extra))


def rank_sum_p_value(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """The Wilcoxon–Mann–Whitney rank-sum test, exact by permutation: two-sided p-value of the
    difference of the two groups' mean ranks in the pooled sample (ties share their average rank).

    Ranks suit steps-to-475: they use every seed's order, not just the middle two, and seeds
    censored at the budget tie at the top, which is all that is known of them.

    Shapes: a (n,), b (m,) → a float in (0, 1].
    """
    x, y = (np.asarray(v, dtype=float) for v in (a, b))
    pooled = np.concatenate([x, y])
    if x.ndim != 1 or y.ndim != 1 or np.isnan(pooled).any():
        raise ValueError("a, b: expected non-empty 1-D sequences without NaN")
    order = np.argsort(pooled, kind="stable")
    ranks = np.empty(len(pooled))
    ranks[order] = np.arange(1, len(pooled) + 1)
    for value in np.unique(pooled):  # ties: their average rank
        tied = pooled == value
        ranks[tied] = ranks[tied].mean()
    return permutation_p_value(ranks[: len(x)], ranks[len(x) :], np.mean)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment: adjusted p-values whose "< α" controls the chance of any false
    verdict among all of them at α (the family-wise error), however the tests depend on each other.

    Shapes: (m,) → (m,).
    """
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1 or ((p < 0) | (p > 1)).any() or np.isnan(p).any():
        raise ValueError("p_values: expected a 1-D sequence of probabilities")
    order = np.argsort(p, kind="stable")
    scaled = np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order])
    out = np.empty_like(p)
    out[order] = np.minimum(scaled, 1.0)
    return out


def compare(run: Run, base: Run, n_boot: int = 10_000) -> dict[str, Any]:
    """One setting against the base, seed values treated as two independent groups.

    ``final`` and ``steps``: (difference, lower, upper), the setting minus the base, of the mean
    final return and of the median steps to 475 (censored at each run's budget, :func:`summarize`),
    with a 95 % bootstrap interval (:func:`difference_ci`); ``p_final``: the exact permutation
    p-value of the difference of means (:func:`permutation_p_value`); ``p_steps``: the exact
    rank-sum p-value (:func:`rank_sum_p_value`; a median of 8 moves only with its middle two).
    """
    finals, steps = (run.final, base.final), (_censored_steps(run), _censored_steps(base))
    return {
        "final": difference_ci(*finals, np.mean, n_boot=n_boot),
        "steps": difference_ci(*steps, np.median, n_boot=n_boot),
        "p_final": permutation_p_value(*finals, np.mean),
        "p_steps": rank_sum_p_value(*steps),
    }


def verdicts(results: dict[str, list[Run]], n_boot: int = 10_000, alpha: float = 0.05) -> list[dict[str, Any]]:
    """Every setting against its group's base ("(ours)"): the differences, their tests, and words.

    For each metric the permutation p-values of all settings are adjusted together (:func:`holm`),
    so that the chance of even one false verdict in the whole table stays below ``alpha``. Final
    return: "higher" / "lower" where the adjusted p-value is below ``alpha``, else "no clear
    difference"; steps to 475 likewise "slower" / "faster". Each row also carries the
    :func:`compare` numbers and the adjusted p-values (``p_final_holm``, ``p_steps_holm``).
    """
    rows = []
    for group, runs in results.items():
        base = next(r for r in runs if "(ours)" in r.label)
        rows += [{"group": group, "label": run.label, **compare(run, base, n_boot)} for run in runs if run is not base]
    if not rows:
        return rows
    for key, up, down in (("final", "higher", "lower"), ("steps", "slower", "faster")):
        adjusted = holm([r[f"p_{key}"] for r in rows])
        for r, p in zip(rows, adjusted, strict=True):
            r[f"p_{key}_holm"] = float(p)
            r[f"{key}_words"] = (up if r[key][0] > 0 else down) if p < alpha else "no clear difference"
    return [{**r, "final_diff": r.pop("final"), "steps_diff": r.pop("steps"),
             "final": r.pop("final_words"), "steps": r.pop("steps_words")} for r in rows]  # fmt: skip


def format_verdicts(rows: Sequence[dict[str, Any]]) -> str:
    """:func:`verdicts` as a plain-text table: each difference with its interval, p and Holm-adjusted p."""
    lines = [f"{'detail':24s} {'setting':18s} {'Δ final return [95% CI]':>26s} {'p (Holm)':>13s}  "
             f"{'Δ median steps [95% CI]':>26s} {'p (Holm)':>13s}  verdict (final; steps)"]
    for r in rows:
        f, t = r["final_diff"], r["steps_diff"]
        final = f"{f[0]:+8.1f} [{f[1]:+6.1f}, {f[2]:+6.1f}]   {r['p_final']:.3f} ({r['p_final_holm']:.3f})"
        steps = f"{t[0] / 1e3:+7.1f}k [{t[1] / 1e3:+5.1f}k, {t[2] / 1e3:+5.1f}k]   {r['p_steps']:.3f} ({r['p_steps_holm']:.3f})"
        lines.append(f"{r['group']:24s} {r['label']:18s} {final}  {steps}  {r['final']}; {r['steps']}")
    return "\n".join(lines)


def format_table(results: dict[str, list[Run]], n_boot: int = 10_000) -> str:
    """A plain-text table: one row per setting, final return and steps to 475 with their intervals."""
    lines = [f"{'detail':24s} {'setting':20s} {'final return [95% CI]':>24s} {'solved':>7s}  "
             f"{'steps to 475, median [95% CI]':>32s}"]
    for group, runs in results.items():
        for i, run in enumerate(runs):
            s = summarize(run, n_boot)
            f, t = s["final"], s["steps_to_475"]
            fmt = lambda v, b=s["budget"]: f"≥{v / 1e3:.0f}k" if v >= b else f"{v / 1e3:.1f}k"  # noqa: E731
            lines.append(
                f"{group if i == 0 else '':24s} {run.label:20s} {f[0]:8.1f} [{f[1]:5.1f}, {f[2]:5.1f}]   "
                f"{s['solved']:>3d}/{s['seeds']:<3d}  {fmt(t[0]):>12s} [{fmt(t[1])}, {fmt(t[2])}]"
            )
    return "\n".join(lines)
