"""Notebook 11's debugging lab: broken PPO runs on CartPole and the symptoms that give each away.

Each lab run is the course's CartPole config with one deliberate bug from
:data:`ppo_edu.train.BUGS` switched on, trained as a population of seeds so that a symptom is
never one lucky run. The learner sees only the diagnostics (:data:`ppo_edu.train.DIAGNOSTICS`)
and the learning curve, next to a healthy run, and names the bug.

:func:`symptoms` reads each signature off a run's metrics; the notebook and the tests assert
that every run shows its own signature and no other (the healthy run none).

Shapes: K iterations; metrics arrays (K,), ``return`` (P, K) for P seeds.
"""

from __future__ import annotations

import numpy as np

from . import train
from .ablations import one_thread
from .train import PPOConfig

#: The runs the learner diagnoses, under neutral names, and the bug each one has.
LAB_RUNS: dict[str, str] = {
    "run A": "value_loss_sign",
    "run B": "logp_old_recomputed",
    "run C": "large_rewards_unnormalised",
    "run D": "wrong_action",
}

#: The signature of each lab bug: the key of :func:`symptoms` that must be True for its run.
SIGNATURES: dict[str, str] = {
    "logp_old_recomputed": "kl_and_clip_exactly_zero",
    "wrong_action": "ratio_off_before_any_step",
    "value_loss_sign": "critic_moves_away",
    "large_rewards_unnormalised": "huge_targets_and_gradients",
}


def lab_config(bug: str | None, quick: bool = False) -> PPOConfig:
    """A lab run: the course defaults with ``bug`` on; 8 seeds × 16 iterations (quick: 4 × 4).

    Every iteration is B = 32·32 = 1024 steps per seed; the symptoms show from the first iterations.
    """
    iterations, seeds = (4, 4) if quick else (16, 8)
    return PPOConfig(total_steps=iterations * 1024, population=seeds, device="cpu", seed=0, bug=bug)


def run_lab(quick: bool = False) -> dict[str, dict[str, np.ndarray]]:
    """{"healthy": metrics, "run A": metrics, ...}: every lab run trained, as ``Trainer.metrics()``."""
    out = {}
    with one_thread():
        for name, bug in {"healthy": None, **LAB_RUNS}.items():
            trainer = train.Trainer(lab_config(bug, quick))
            trainer.train(progress=False)
            out[name] = trainer.metrics()
    return out


def symptoms(m: dict[str, np.ndarray]) -> dict[str, bool]:
    """Which lab signatures a run's metrics show (each signature True for its bug's run only).

    * ``kl_and_clip_exactly_zero``: approx KL (k1 and k3) and the clip fraction are exactly 0 in
      every iteration, although the policy changes (its entropy ends > 0.05 nats below the
      initial policy's ln 2 ≈ 0.693);
    * ``ratio_off_before_any_step``: |ρ − 1| > 1e-6 on the first minibatch, before any gradient
      step, in every iteration (ρ is 1 there when log π_old belongs to the stored action: exactly on
      the CPU at the lab's shapes, to float rounding, about 1e-7, where kernels differ);
    * ``critic_moves_away``: explained variance below −0.5 in some iteration: V(s) is further
      from the targets than their mean is (a critic that learns is never that bad for long);
    * ``huge_targets_and_gradients``: the return targets' spread is > 100 (CartPole's returns are
      below 1/(1 − γ) = 100 unscaled, below 10 at the course's reward scale 0.1) and the median
      gradient norm is > 100.

    Shapes: metrics arrays (K,) per key of :data:`ppo_edu.train.DIAGNOSTICS`.
    """
    kl = np.concatenate([m["approx_kl_k1"], m["approx_kl_k3"], m["clip_fraction"]])
    return {
        "kl_and_clip_exactly_zero": bool((kl == 0).all() and m["entropy"][-1] < np.log(2) - 0.05),
        "ratio_off_before_any_step": bool((m["first_ratio_max_dev"] > 1e-6).all()),
        "critic_moves_away": bool(np.nanmin(m["explained_variance"]) < -0.5),
        "huge_targets_and_gradients": bool(np.median(m["return_std"]) > 100 and np.median(m["grad_norm"]) > 100),
    }


def symptom_table(runs: dict[str, dict[str, np.ndarray]]) -> str:
    """The numbers behind :func:`symptoms`, one row per run (what the lab's text quotes)."""
    head = f"{'run':8s} {'max KL k3':>10s} {'max clip':>9s} {'entropy first→last':>19s} {'min |ρ−1| 1st mb':>17s} " \
           f"{'min EV':>7s} {'median R std':>12s} {'median grad':>11s}"  # fmt: skip
    rows = [head]
    for name, m in runs.items():
        rows.append(
            f"{name:8s} {m['approx_kl_k3'].max():10.4f} {m['clip_fraction'].max():9.3f} "
            f"{m['entropy'][0]:8.3f} → {m['entropy'][-1]:6.3f} {m['first_ratio_max_dev'].min():17.4f} "
            f"{np.nanmin(m['explained_variance']):7.2f} {np.median(m['return_std']):12.1f} {np.median(m['grad_norm']):11.1f}"
        )
    return "\n".join(rows)
