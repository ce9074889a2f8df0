"""PPO for CartPole, end to end: config, rollouts on the device, GAE, the update, evaluation, checkpoints.

One iteration of PPO (the numbers are the notebooks' equations):

1. **Rollout**: run the current policy π_θ_old for T steps in N environments at once, storing
   s_t, a_t, log π_old(a_t|s_t), r_t and the two end flags; (T, N) tensors on the device.
2. **Advantages**: V(s_t) for every stored state, V of the real final observation where an
   episode was truncated (:func:`ppo_edu.advantages.bootstrap_next_values`), then
   GAE(γ, λ) (7.3) with :func:`ppo_edu.advantages.gae`, and returns R_t = Â_t + V(s_t).
3. **Update** (:func:`ppo_update`): ``epochs`` passes over the B = T·N samples in shuffled
   minibatches; each minimises

       L = −L^CLIP (5.2) + c_V · L^V (8.2) − c_H · H[π]                               (10.3)

   with advantages whitened per minibatch, and clips the gradient's global norm.

The loop over time steps is the only Python loop of a rollout: the N environments (and the P
members of a population) advance together as tensors.

A **population** trains P agents at once: P·N environments, weights stacked as (P, in, out)
(:class:`ppo_edu.agents.PopulationActorCritic`); every member gets its own minibatches,
advantage normalisation and gradient clipping, so it is updated exactly as if alone.

Shapes: T steps, N environments per member, P members, O = 4, B = T·N, M minibatch size.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import advantages as adv_mod
from . import losses
from .agents import ActorCritic, PopulationActorCritic, log_neg_log_uniform
from .envs import N_ACTIONS, OBS_DIM, GymVectorCartPole, TorchCartPole, make_cartpole
from .runtime import get_device
from .validate import check_int, check_nonnegative, check_positive, check_unit_interval, trusted

Tensor = torch.Tensor


class TrainingDivergedError(FloatingPointError):
    """A loss or a network output became NaN or infinite: training stops instead of going on silently."""


def _optional(rule: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    return lambda name, v: v if v is None else rule(name, v)


def _one_of(*allowed: Any) -> Callable[[str, Any], Any]:
    def rule(name: str, v: Any) -> Any:
        if v not in allowed:
            raise ValueError(f"{name}: expected one of {', '.join(map(repr, allowed))}, got {v!r}")
        return v

    return rule


#: The deliberate bugs of notebook 11's debugging lab, each a classic of PPO code found in the wild.
BUGS: dict[str, str] = {
    "logp_old_recomputed": "log π_old is recomputed from the current network inside the update",
    "wrong_action": "the ratio uses the log-probability of another sample's action (an off-by-one in the batch)",
    "value_loss_sign": "the value loss enters the total loss with a minus sign",
    "entropy_sign": "the entropy term has the wrong sign (the bonus becomes a penalty on exploration)",
    "truncation_as_termination": "a time-limit truncation is treated as a termination (no bootstrap at step 500)",
    "large_rewards_unnormalised": (
        "rewards reach the update at 100× CartPole's +1 (reward_scale ignored) and the advantages are not normalised"
    ),
}


@dataclass(frozen=True)
class PPOConfig:
    """Everything that defines a PPO run on CartPole (frozen: a run's settings cannot drift)."""

    total_steps: int = 100_000
    """Environment steps to train for, per population member (all N environments counted)."""
    num_envs: int = 32
    """N: environments stepped together per member; more envs = more samples per Python step."""
    num_steps: int = 32
    """T: steps per environment in one rollout; the batch of one iteration is B = T·N."""
    epochs: int = 4
    """Passes over the batch per iteration (PPO reuses each sample this many times)."""
    num_minibatches: int = 4
    """Minibatches per epoch; the minibatch size is M = B / num_minibatches."""
    lr: float = 5e-3
    """Adam's learning rate at the start (benchmarks/ uses 1e-2: fewer steps to 475, tuned for its protocol)."""
    anneal_lr: bool = True
    """Decay the learning rate linearly to 0 over ``total_steps``."""
    gamma: float = 0.99
    """Discount γ in [0, 1]."""
    lam: float = 0.95
    """GAE's λ in [0, 1]: 0 is the one-step TD residual, 1 the Monte-Carlo advantage."""
    clip_eps: float = 0.2
    """ε of the PPO clip (5.2): the ratio may move the objective only inside [1 − ε, 1 + ε]."""
    clip_value: float | None = None
    """ε of the value clip (8.2) around the old values; None = plain squared error."""
    vf_coef: float = 0.5
    """c_V, weight of the value loss in (10.3)."""
    ent_coef: float = 0.0
    """c_H, weight of the entropy bonus in (10.3)."""
    max_grad_norm: float = 0.5
    """Largest allowed global L2 norm of each member's gradient."""
    norm_adv: bool = True
    """Whiten the advantages inside each minibatch."""
    reward_scale: float = 0.1
    """Rewards are multiplied by this before GAE, so that the critic's targets stay small (below 10): CartPole's
    +1 per step gives returns up to 1/(1 − γ) = 100 otherwise, and at 1.0 about half of the critic's tanh
    units end up saturated (notebook 08). Episode returns are reported unscaled."""
    target_kl: float | None = None
    """KL early stopping: no further epoch once an epoch's mean approx KL (k3) exceeds this; None = off.
    Checked after each epoch, like CleanRL's ``target_kl`` (which compares the epoch's *last* minibatch's
    KL; Spinning Up checks after every step, against 1.5 × its target). One agent per :class:`Trainer`
    only (a population's members would all stop together)."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer widths of both the actor and the critic MLPs."""
    population: int = 1
    """P: independent agents trained side by side (different initial weights and random streams)."""
    seed: int = 0
    """Seeds the initial weights, the environments and all sampling: same seed, same run (on CPU).
    Three streams, seeded s, s + 1 and s + 2 (:data:`SEED_STREAMS`): independent runs need seeds at least 3 apart."""
    device: str = "auto"
    """"auto" (cuda if present, else cpu), "cpu", "cuda", ..."""
    env_backend: str = "torch"
    """"torch" (batched :class:`~ppo_edu.envs.TorchCartPole` on the device) or "gymnasium" (CPU vector env)."""
    bug: str | None = None
    """A deliberate bug from :data:`BUGS`, for notebook 11's debugging lab; None in every real run."""

    def __post_init__(self):
        for name, rule in _CONFIG_RULES.items():
            rule(name, getattr(self, name))
        if self.batch_size % self.num_minibatches:
            raise ValueError(
                f"num_minibatches: expected a divisor of the batch size num_envs*num_steps = "
                f"{self.batch_size}, got {self.num_minibatches}"
            )
        object.__setattr__(self, "hidden", tuple(self.hidden))

    @property
    def batch_size(self) -> int:
        """B = T·N samples per member and iteration."""
        return self.num_envs * self.num_steps

    @property
    def num_iterations(self) -> int:
        """Iterations needed for ``total_steps`` (rounded up)."""
        return math.ceil(self.total_steps / self.batch_size)

    def replace(self, **changes: Any) -> PPOConfig:
        """A copy with some fields changed (the config itself is frozen)."""
        return dataclasses.replace(self, **changes)


#: How each field of :class:`PPOConfig` is validated (each rule raises a ValueError naming the field).
_CONFIG_RULES: dict[str, Callable[[str, Any], Any]] = {
    **dict.fromkeys(("total_steps", "num_envs", "num_steps", "epochs", "num_minibatches", "population"), check_int),
    "seed": lambda name, v: check_int(name, v, minimum=0),
    "gamma": check_unit_interval,
    "lam": check_unit_interval,
    **dict.fromkeys(("lr", "clip_eps", "max_grad_norm", "reward_scale"), check_positive),
    **dict.fromkeys(("clip_value", "target_kl"), _optional(check_positive)),
    **dict.fromkeys(("vf_coef", "ent_coef"), check_nonnegative),
    "env_backend": _one_of("torch", "gymnasium"),
    "bug": _one_of(None, *BUGS),
}


# Named runs: a notebook and the figure recipe that draws it train the same config.

NOTEBOOK_08 = PPOConfig(
    total_steps=40_000, num_envs=8, num_steps=128, epochs=4, num_minibatches=4, lr=2.5e-3, reward_scale=0.1,
    env_backend="gymnasium", device="cpu", seed=0,
)  # fmt: skip
"""Notebook 08's CartPole run: gymnasium's vector env on the CPU, a few seconds (figures/08_*.png)."""

NOTEBOOK_10 = PPOConfig(total_steps=100_000, population=4, seed=0)
"""Notebook 10's population run, the course defaults with 4 seeds at once (figures/10_*.png)."""


# ---------------------------------------------------------------------------------------------
# rollout storage and advantages


@dataclass
class Rollout:
    """What one rollout stores, time-major, on the device. Column e = p·N + n is env n of member p.

    Shapes: obs, final_obs (T, P·N, O);  everything else (T, P·N).
    """

    obs: Tensor
    actions: Tensor
    logp: Tensor
    rewards: Tensor
    terminated: Tensor
    truncated: Tensor
    final_obs: Tensor

    @classmethod
    def empty(cls, num_steps: int, num_envs: int, obs_dim: int, device: torch.device) -> Rollout:
        z = lambda *s, dtype=torch.float32: torch.zeros(*s, dtype=dtype, device=device)  # noqa: E731
        return cls(
            obs=z(num_steps, num_envs, obs_dim),
            actions=z(num_steps, num_envs, dtype=torch.int64),
            logp=z(num_steps, num_envs),
            rewards=z(num_steps, num_envs),
            terminated=z(num_steps, num_envs, dtype=torch.bool),
            truncated=z(num_steps, num_envs, dtype=torch.bool),
            final_obs=z(num_steps, num_envs, obs_dim),
        )


@dataclass
class Batch:
    """The samples one PPO update learns from, grouped per member.

    Shapes: obs (P, B, O), the rest (P, B) (for a single :class:`ActorCritic` the leading P may
    be left out: obs (B, O), the rest (B,)).
    """

    obs: Tensor
    actions: Tensor
    logp: Tensor
    advantages: Tensor
    returns: Tensor
    values: Tensor


def to_members(x: Tensor, population: int) -> Tensor:
    """(T, P·N, ...) → (P, T·N, ...): every member's samples together."""
    t, pn = x.shape[:2]
    n = pn // population
    return x.reshape(t, population, n, *x.shape[2:]).transpose(0, 1).reshape(population, t * n, *x.shape[2:])


def from_members(x: Tensor, num_steps: int) -> Tensor:
    """(P, T·N, ...) → (T, P·N, ...), the inverse of :func:`to_members`."""
    p, tn = x.shape[:2]
    n = tn // num_steps
    return x.reshape(p, num_steps, n, *x.shape[2:]).transpose(0, 1).reshape(num_steps, p * n, *x.shape[2:])


@torch.no_grad()
def _values(agent: PopulationActorCritic, obs: Tensor) -> Tensor:
    """V for stored observations (T, P·N, O) in one batched pass → (T, P·N)."""
    return from_members(agent.value(to_members(obs, agent.population)), obs.shape[0])


@torch.no_grad()
def compute_advantages(
    agent: PopulationActorCritic, rollout: Rollout, last_obs: Tensor, gamma: float, lam: float
) -> tuple[Tensor, Tensor, Tensor]:
    """GAE advantages, returns and values of a rollout, with truncations bootstrapped.

    ``next_values`` is V(s_{t+1}): the next row inside an episode, V(``last_obs``) after the last
    row, and V(final observation) where the episode was truncated (7.1).

    Shapes:
        last_obs (P·N, O);  results (advantages, returns, values): (T, P·N).
    """
    values = _values(agent, rollout.obs)
    last_value = _values(agent, last_obs.unsqueeze(0))[0]
    final_values = _values(agent, rollout.final_obs)
    next_values = adv_mod.bootstrap_next_values(values, last_value, rollout.truncated, final_values)
    advantages = adv_mod.gae(rollout.rewards, values, next_values, rollout.terminated, rollout.truncated, gamma, lam)
    return advantages, advantages + values, values


# ---------------------------------------------------------------------------------------------
# the PPO update


def normalize_per_member(a: Tensor, eps: float = 1e-8) -> Tensor:
    """(Â − mean) / (std + eps) over each member's minibatch (row), eq. (10.4).

    Each member is its own PPO run: its advantages are whitened with its own mean and standard
    deviation, never with the population's. For P = 1 this is :func:`ppo_edu.advantages.normalize`.

    Shapes: (P, M) → (P, M).
    """
    return (a - a.mean(1, keepdim=True)) / (a.std(1, keepdim=True) + eps)


def explained_variance_per_member(values: Tensor, returns: Tensor) -> Tensor:
    """1 − Var[R − V] / Var[R] for each member (row), as :func:`ppo_edu.losses.explained_variance`.

    NaN for a member whose targets do not vary (Var[R] = 0: nothing to explain).

    Shapes: (P, B) → (P,).
    """
    var_y = returns.var(1, unbiased=False)
    ev = 1.0 - (returns - values).var(1, unbiased=False) / var_y
    return torch.where(var_y > 0, ev, torch.nan)


def minibatches(batch: Batch, num_minibatches: int, generator: torch.Generator | None = None) -> Iterator[Batch]:
    """One epoch: each member's B samples in a fresh random order, cut into ``num_minibatches`` parts.

    Each field is gathered once per epoch in the shuffled order; the minibatches are slices of it.

    Shapes: fields of ``batch`` (P, B, ...) → fields of each minibatch (P, M, ...), M = B / num_minibatches.
    """
    p, b = batch.actions.shape
    m = b // num_minibatches
    order = torch.argsort(torch.rand(p, b, generator=generator, device=batch.obs.device), dim=1)
    shuffled = [_rows(getattr(batch, f.name), order) for f in dataclasses.fields(Batch)]  # one gather per field
    for k in range(num_minibatches):
        yield Batch(*(x[:, k * m : (k + 1) * m].contiguous() for x in shuffled))


def _rows(x: Tensor, idx: Tensor) -> Tensor:
    """x[p, idx[p]] for every member p. Shapes: x (P, B, ...), idx (P, M) → (P, M, ...)."""
    return x.gather(1, idx.view(*idx.shape, *[1] * (x.ndim - 2)).expand(*idx.shape, *x.shape[2:]))


def ppo_loss(agent: ActorCritic | PopulationActorCritic, mb: Batch, cfg: PPOConfig) -> tuple[Tensor, dict[str, Tensor]]:
    """The PPO loss (10.3) of one minibatch, summed over members, and what it saw, detached.

    What it saw (``newlogprob``, ``oldlogprob``, ``logits``, ``newvalue`` and the three loss terms)
    is turned into statistics once per update by :func:`update_diagnostics`, not here: no host
    sync, and no extra operations per minibatch.

    Shapes: fields of ``mb`` (P, M, ...);  loss ();  newlogprob, oldlogprob, newvalue (P, M);
    logits (P, M, A);  the loss terms ().
    """
    logits, newvalue = agent.logits(mb.obs), agent.value(mb.obs)
    actions = mb.actions.roll(1, dims=1) if cfg.bug == "wrong_action" else mb.actions  # lab bug
    newlogprob = torch.log_softmax(logits, dim=-1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    oldlogprob = newlogprob.detach() if cfg.bug == "logp_old_recomputed" else mb.logp  # lab bug
    norm_adv = cfg.norm_adv and cfg.bug != "large_rewards_unnormalised"  # lab bug
    mb_advantages = normalize_per_member(mb.advantages) if norm_adv else mb.advantages
    pg_loss = losses.clipped_surrogate_loss(newlogprob, oldlogprob, mb_advantages, cfg.clip_eps)  # −L^CLIP (5.2)
    v_loss = losses.value_loss(newvalue, mb.returns, mb.values, cfg.clip_value)  # (8.2)
    entropy_loss = losses.categorical_entropy(logits if cfg.ent_coef else logits.detach())  # at 0: reported, no backward
    v_sign, ent_sign = (-1 if cfg.bug == "value_loss_sign" else 1), (-1 if cfg.bug == "entropy_sign" else 1)  # lab bugs
    loss = pg_loss - ent_sign * cfg.ent_coef * entropy_loss + v_sign * cfg.vf_coef * v_loss  # (10.3), per member
    seen = {"newlogprob": newlogprob, "oldlogprob": oldlogprob, "logits": logits, "newvalue": newvalue,
            "policy_loss": pg_loss, "value_loss": v_loss, "entropy": entropy_loss, "loss": loss}  # fmt: skip
    return loss * logits.shape[0], {k: v.detach() for k, v in seen.items()}  # Σ over members of each member's mean loss


def ppo_update(
    agent: ActorCritic | PopulationActorCritic,
    optimizer: torch.optim.Optimizer,
    batch: Batch,
    cfg: PPOConfig,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """``cfg.epochs`` passes of minibatch gradient steps on the PPO loss (10.3); returns diagnostics.

    Each epoch shuffles every member's samples (:func:`minibatches`); each minibatch takes one
    step on :func:`ppo_loss` with the gradient's norm clipped per member. With ``cfg.target_kl``
    the epochs stop early once an epoch's mean approx KL exceeds it (one agent only: see
    :func:`check_independent`). See :func:`update_diagnostics` for what comes back; NaN or inf
    anywhere raises :class:`TrainingDivergedError`.

    Shapes: see :class:`Batch`.
    """
    batch = _population_batch(agent, batch, cfg.num_minibatches)
    check_independent(cfg, batch.actions.shape[0])
    log: list[list[dict[str, Tensor]]] = []
    with trusted():  # no per-call NaN scans (host syncs): update_diagnostics checks everything once
        for _epoch in range(cfg.epochs):
            log.append([])
            for mb in minibatches(batch, cfg.num_minibatches, generator):
                loss, seen = ppo_loss(agent, mb, cfg)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                seen["grad_norm"] = agent.clip_grad_norm_(cfg.max_grad_norm).mean()
                optimizer.step()
                log[-1].append(seen)
            if cfg.target_kl is not None and float(_kl_stats(log[-1], cfg.clip_eps)["approx_kl_k3"]) > cfg.target_kl:
                break  # KL early stopping (one host sync per epoch)
        return update_diagnostics(agent, batch, log, cfg.clip_eps)


def check_independent(cfg: PPOConfig, population: int) -> None:
    """Raise unless P members trained with ``cfg`` side by side are P independent runs.

    Everything in the update is per member except KL early stopping: it ends the epochs of the
    whole update, so with P > 1 one member's KL would stop every member (and Adam's step counter,
    shared by a stacked tensor, could not skip a member's step anyway). Train such seeds as
    separate single-agent runs (:func:`ppo_edu.ablations.run_setting` does).
    """
    if cfg.target_kl is not None and population > 1:
        raise ValueError(
            f"target_kl: KL early stopping with a population of {population} would stop every member's epochs "
            "together (their runs would no longer be independent); train each seed as its own run (population=1)"
        )


def _kl_stats(epoch: list[dict[str, Tensor]], clip_eps: float) -> dict[str, Tensor]:
    """Ratio statistics of one epoch's minibatches, all at once: means over every member and sample."""
    new = torch.stack([s["newlogprob"] for s in epoch])  # (K, P, M)
    old = torch.stack([s["oldlogprob"] for s in epoch])
    ratio = torch.exp(new - old)
    return {
        "approx_kl_k1": losses.approx_kl(new, old, "k1"),
        "approx_kl_k3": losses.approx_kl(new, old, "k3"),
        "clip_fraction": losses.clip_fraction(ratio, clip_eps),
    }


def _population_batch(agent: ActorCritic | PopulationActorCritic, batch: Batch, num_minibatches: int) -> Batch:
    """The batch with a leading member axis (P = 1 for a single agent), its shapes checked."""
    if not isinstance(agent, PopulationActorCritic):  # one agent is a population of one
        batch = Batch(*(getattr(batch, f.name).unsqueeze(0) for f in dataclasses.fields(Batch)))
    p, b = batch.actions.shape
    rest = ("logp", "advantages", "returns", "values")
    if batch.obs.shape[:2] != (p, b) or any(getattr(batch, n).shape != (p, b) for n in rest):
        raise ValueError(
            "batch: expected obs (P, B, O) and actions, logp, advantages, returns, values (P, B); got "
            + ", ".join(f"{f.name} {tuple(getattr(batch, f.name).shape)}" for f in dataclasses.fields(Batch))
        )
    if b % num_minibatches:
        raise ValueError(f"num_minibatches: expected a divisor of the batch size {b}, got {num_minibatches}")
    return batch


DIAGNOSTICS: dict[str, str] = {
    "policy_loss": "−L^CLIP of the minibatch (5.2)",
    "value_loss": "½(V − R)² of the minibatch (8.2)",
    "entropy": "mean entropy of π_θ(·|s), in nats (ln 2 = 0.693 is a coin flip)",
    "approx_kl_k1": "KL(π_old ‖ π_θ) estimated by k1 = −log ρ (unbiased, single samples can be < 0)",
    "approx_kl_k3": "KL(π_old ‖ π_θ) estimated by k3 = (ρ − 1) − log ρ (unbiased, never < 0)",
    "clip_fraction": "share of samples with |ρ − 1| > ε",
    "grad_norm": "global gradient norm before clipping",
    "explained_variance": "1 − Var[R − V_old]/Var[R] over the batch; NaN when the targets do not vary",
    "value_std": "standard deviation of V_old over the batch",
    "return_std": "standard deviation of the return targets R over the batch",
    "actor_saturation": "share of the actor's hidden tanh units with |h| > 0.99 on the batch",
    "critic_saturation": "share of the critic's hidden tanh units with |h| > 0.99 on the batch",
    "first_ratio_max_dev": "max |ρ − 1| on the first minibatch: 0 when log π_old is right (exactly, on the CPU at the "
    "course's shapes; about 1e-7 where the rollout's and the update's matrix kernels round differently)",
    "epochs_done": "epochs run (fewer than cfg.epochs when KL early stopping fired)",
}
"""What :func:`update_diagnostics` reports; the loss statistics are means over the last epoch's minibatches."""


@torch.no_grad()
def update_diagnostics(
    agent: ActorCritic | PopulationActorCritic, batch: Batch, log: list[list[dict[str, Tensor]]], clip_eps: float
) -> dict[str, float]:
    """The :data:`DIAGNOSTICS` of one update, averaged over members, read off the device in one transfer.

    ``log[e][k]`` holds what :func:`ppo_loss` saw on minibatch k of epoch e, and its ``grad_norm``;
    ``clip_eps`` is the update's ε (for the clip fraction).
    Raises :class:`TrainingDivergedError` naming the first minibatch where logits, values or the
    loss were not finite.

    Shapes: fields of ``batch`` (P, B, ...).
    """
    seen = [s for epoch in log for s in epoch]
    finite = torch.stack([torch.stack([s[key] for s in seen]).reshape(len(seen), -1).isfinite().all(1)
                          for key in ("logits", "newvalue", "loss")], dim=1)  # (epochs·K, 3)  # fmt: skip
    if not bool(finite.all()):
        i, what = (int(j) for j in (~finite).nonzero()[0])
        e, k = divmod(i, len(log[0]))
        raise TrainingDivergedError(
            f"ppo_update epoch {e} minibatch {k}: {('logits', 'values', 'loss')[what]} is not finite. "
            "Training stopped; usual causes: a learning rate that is too high, or NaN in the inputs."
        )
    last, first = log[-1], log[0][0]
    saturation = agent.saturation(batch.obs if isinstance(agent, PopulationActorCritic) else batch.obs[0])
    values = {
        **{key: torch.stack([s[key] for s in last]).mean() for key in ("policy_loss", "value_loss", "entropy")},
        **_kl_stats(last, clip_eps),
        "grad_norm": torch.stack([s["grad_norm"] for s in last]).mean(),
        "explained_variance": explained_variance_per_member(batch.values, batch.returns).nanmean(),
        "value_std": batch.values.std(1).mean(),
        "return_std": batch.returns.std(1).mean(),
        "actor_saturation": saturation["actor"],
        "critic_saturation": saturation["critic"],
        "first_ratio_max_dev": (torch.exp(first["newlogprob"] - first["oldlogprob"]) - 1.0).abs().max(),
        "epochs_done": torch.tensor(float(len(log))),
    }
    values = {key: values[key] for key in DIAGNOSTICS}  # in the documented order
    return dict(zip(values, torch.stack([v.float().to(batch.obs.device) for v in values.values()]).tolist(), strict=True))


# ---------------------------------------------------------------------------------------------
# the trainer


@dataclass
class IterationStats:
    """What one iteration reports. ``episode_return`` (P,) is the mean return of the episodes that
    ended during its rollout (NaN for a member where none ended)."""

    iteration: int
    env_steps: int
    episode_return: np.ndarray
    diagnostics: dict[str, float] = field(default_factory=dict)


def _adam(params, lr: float) -> torch.optim.Adam:
    """Adam with ε = 1e-5; the fused kernel (one op for all parameters) where this torch has it."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, eps=1e-5, fused=True)
    except (RuntimeError, TypeError, ValueError):  # older torch, or a device without fused Adam
        return torch.optim.Adam(params, lr=lr, eps=1e-5)


SEED_STREAMS = 3
"""A :class:`Trainer` with seed s draws from three random streams: s (initial weights), s + 1 (actions
and minibatch order), s + 2 (environment resets). Two runs whose seeds differ by 1 or 2 share a stream,
shifted (one run's actions come from the other's weights' generator), so runs meant to be independent
take seeds this far apart (:func:`ppo_edu.ablations.run_setting` does; a population's members are
independent within one run)."""


def single_runs(config: PPOConfig) -> list[PPOConfig]:
    """``config``'s P seeds as P single-agent configs with seeds ``config.seed + SEED_STREAMS·p``
    (no two share a random stream): for settings a population cannot train (:func:`check_independent`)."""
    return [config.replace(population=1, seed=config.seed + SEED_STREAMS * p) for p in range(config.population)]


class Trainer:
    """PPO on CartPole for one agent or a population, on the device ``config.device`` resolves to.

    ``Trainer(cfg).train()`` runs ``cfg.total_steps``; :meth:`iteration` runs one rollout +
    update (benchmarks drive this themselves); :meth:`save` / :meth:`load` checkpoint and resume
    the same run exactly (the torch environment's state and every random stream included).
    """

    def __init__(self, config: PPOConfig, env: TorchCartPole | GymVectorCartPole | None = None):
        self.config = cfg = config
        check_independent(cfg, cfg.population)
        self.device = get_device(cfg.device)
        p, n = cfg.population, cfg.num_envs
        init_gen = torch.Generator().manual_seed(cfg.seed)  # the SEED_STREAMS streams: seed, seed + 1, seed + 2
        self.agent = PopulationActorCritic(p, OBS_DIM, N_ACTIONS, cfg.hidden, generator=init_gen).to(self.device)
        self.optimizer = _adam(self.agent.parameters(), cfg.lr)
        self.generator = torch.Generator(device=self.device).manual_seed(cfg.seed + 1)
        self.env = env if env is not None else make_cartpole(p * n, cfg.env_backend, self.device, seed=cfg.seed + 2)
        if self.env.num_envs != p * n:
            raise ValueError(f"env: expected population*num_envs = {p * n} environments, got {self.env.num_envs}")
        self.obs, _ = self.env.reset(seed=cfg.seed + 2)
        self.obs = self.obs.to(self.device)
        self.rollout = Rollout.empty(cfg.num_steps, p * n, OBS_DIM, self.device)
        self.iterations_done = 0
        self.history: list[IterationStats] = []

    @property
    def env_steps(self) -> int:
        """Environment steps taken so far per member."""
        return self.iterations_done * self.config.batch_size

    @torch.no_grad()
    def collect(self) -> Tensor:
        """Run the policy for T steps in all P·N environments into ``self.rollout``; returns (P,)
        mean finished-episode return.

        The sampling noise of all T steps is drawn in one call, and each field is stacked once
        at the end (fewer operations per step; the same numbers as drawing and storing step by step).
        """
        cfg, p, n = self.config, self.config.population, self.config.num_envs
        noise = log_neg_log_uniform((cfg.num_steps, p, n, N_ACTIONS), self.generator, self.device)
        steps = []
        for t in range(cfg.num_steps):
            action, logp = self.agent.sample(self.obs.view(p, n, OBS_DIM), noise=noise[t])
            action = action.view(-1)
            next_obs, reward, term, trunc, info = self.env.step(action)
            steps.append((self.obs, action, logp.view(-1), reward, term, trunc, info["final_obs"],
                          info["_final_obs"], info["episode_return"]))  # fmt: skip
            self.obs = next_obs
        *fields, done, episode_return = (torch.stack(column) for column in zip(*steps, strict=True))
        self.rollout = Rollout(*fields)
        ret_sum = torch.where(done, episode_return, 0.0).sum(0)  # whole numbers: exact in any order
        return ret_sum.view(p, -1).sum(1) / done.sum(0).view(p, -1).sum(1)  # NaN where no episode ended

    def iteration(self) -> IterationStats:
        """One PPO iteration: rollout, advantages, update. Returns its :class:`IterationStats`."""
        cfg, p = self.config, self.config.population
        if cfg.anneal_lr:
            frac = max(1.0 - self.iterations_done / cfg.num_iterations, 0.0)
            for group in self.optimizer.param_groups:
                group["lr"] = frac * cfg.lr
        with trusted():  # the rollout's own tensors: no per-call NaN scans (ppo_update checks its outputs)
            ep_return = self.collect()
            ro = self.rollout
            if cfg.reward_scale != 1.0:
                ro = dataclasses.replace(ro, rewards=ro.rewards * cfg.reward_scale)
            if cfg.bug == "large_rewards_unnormalised":  # lab bug: a reward scale nobody checked
                ro = dataclasses.replace(ro, rewards=self.rollout.rewards * 100.0)
            if cfg.bug == "truncation_as_termination":  # lab bug: the time limit read as a death
                ro = dataclasses.replace(ro, terminated=ro.terminated | ro.truncated)
            advantages, returns, values = compute_advantages(self.agent, ro, self.obs, cfg.gamma, cfg.lam)
        batch = Batch(*(to_members(x, p) for x in (ro.obs, ro.actions, ro.logp, advantages, returns, values)))
        try:
            diag = ppo_update(self.agent, self.optimizer, batch, cfg, self.generator)
        except TrainingDivergedError as exc:
            raise TrainingDivergedError(f"iteration {self.iterations_done}: {exc}") from None
        self.iterations_done += 1
        stats = IterationStats(self.iterations_done, self.env_steps, ep_return.cpu().numpy(), diag)
        self.history.append(stats)
        return stats

    def train(
        self,
        iterations: int | None = None,
        progress: bool = True,
        callback: Callable[[Trainer, IterationStats], bool | None] | None = None,
    ) -> list[IterationStats]:
        """Run ``iterations`` more iterations (default: until ``total_steps``) with a tqdm bar.

        ``callback(trainer, stats)`` is called after every iteration; returning True stops early.
        """
        from tqdm.auto import tqdm

        total = self.config.num_iterations
        n = total - self.iterations_done if iterations is None else iterations
        bar = tqdm(
            total=self.iterations_done + n,
            initial=self.iterations_done,
            disable=not progress,
            desc=f"PPO on {self.device}",
        )
        try:
            for _ in range(n):
                stats = self.iteration()
                bar.update(1)
                r = stats.episode_return
                if np.isfinite(r).any():
                    bar.set_postfix(env_steps=stats.env_steps, mean_return=f"{np.nanmean(r):.0f}")
                if callback is not None and callback(self, stats):
                    break
        finally:
            bar.close()
        return self.history

    def learning_curves(self) -> tuple[np.ndarray, np.ndarray]:
        """(env steps (K,), mean finished-episode return per member (P, K)) over the iterations so far."""
        steps = np.array([s.env_steps for s in self.history])
        returns = (
            np.stack([s.episode_return for s in self.history], axis=1) if self.history else np.zeros((self.config.population, 0))
        )
        return steps, returns

    def metrics(self) -> dict[str, np.ndarray]:
        """The history as arrays: ``env_steps`` (K,), ``return`` (K,) for one member or (P, K), and
        every key of :data:`DIAGNOSTICS` (K,), over the K iterations so far (notebooks and figures
        read runs through this, so both show the same numbers)."""
        steps, returns = self.learning_curves()
        out = {"env_steps": steps, "return": returns[0] if self.config.population == 1 else returns}
        for key in DIAGNOSTICS:
            out[key] = np.array([s.diagnostics[key] for s in self.history], dtype=float)
        return out

    # -- checkpoints --------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write a checkpoint from which :meth:`load` continues this very run."""
        if not isinstance(self.env, TorchCartPole):
            raise ValueError("env: checkpoints need the torch environment (env_backend='torch'), whose state can be saved")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(
            {
                "config": dataclasses.asdict(self.config),
                "agent": self.agent.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "generator": self.generator.get_state(),
                "env": self.env.state_dict(),
                "obs": self.obs.cpu(),
                "iterations_done": self.iterations_done,
                "history": [dataclasses.asdict(s) for s in self.history],
            },
            path,
        )
        return path

    @classmethod
    def load(cls, path: str | Path, device: str | None = None) -> Trainer:
        """Rebuild a :class:`Trainer` from :meth:`save` and continue where it stopped."""
        ckpt = torch.load(Path(path), map_location="cpu", weights_only=False)
        cfg_dict = dict(ckpt["config"])
        if device is not None:
            cfg_dict["device"] = device
        trainer = cls(PPOConfig(**cfg_dict))
        trainer.agent.load_state_dict(ckpt["agent"])
        trainer.optimizer.load_state_dict(ckpt["optimizer"])
        trainer.generator.set_state(ckpt["generator"])
        trainer.env.load_state_dict(ckpt["env"])
        trainer.obs = ckpt["obs"].to(trainer.device)
        trainer.iterations_done = ckpt["iterations_done"]
        trainer.history = [IterationStats(**s) for s in ckpt["history"]]
        return trainer


# ---------------------------------------------------------------------------------------------
# evaluation on the real gymnasium CartPole-v1


def agent_policy(agent: ActorCritic | PopulationActorCritic, episodes: int) -> Callable[[np.ndarray], np.ndarray]:
    """The deterministic policy argmax_a π(a|s) as a NumPy function for :func:`evaluate`.

    For a population the observations come as (P·E, O), member-major, and go back as (P·E,).
    """
    device = next(agent.parameters()).device

    def policy(obs: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(obs, dtype=torch.float32, device=device)
        if isinstance(agent, PopulationActorCritic):
            x = x.view(agent.population, episodes, -1)
        return agent.act(x, deterministic=True).reshape(-1).cpu().numpy()

    return policy


def evaluate(
    policy: ActorCritic | PopulationActorCritic | Callable[[np.ndarray], np.ndarray],
    episodes: int = 10,
    seed: int = 1_000_000,
    max_episode_steps: int = 500,
) -> np.ndarray:
    """Returns of the deterministic policy on gymnasium's CartPole-v1, episode i started with
    ``reset(seed=seed + i)``. All episodes (of all members) run side by side, one batched forward
    per step.

    Shapes: result (episodes,) for one agent or a callable; (P, episodes) for a population.
    """
    import gymnasium as gym

    check_int("episodes", episodes)
    members = policy.population if isinstance(policy, PopulationActorCritic) else 1
    fn = agent_policy(policy, episodes) if isinstance(policy, torch.nn.Module) else policy
    envs = [gym.make("CartPole-v1", max_episode_steps=max_episode_steps) for _ in range(members * episodes)]
    obs = np.stack([env.reset(seed=seed + i % episodes)[0] for i, env in enumerate(envs)])
    returns = np.zeros(len(envs))
    active = np.ones(len(envs), dtype=bool)
    with torch.no_grad():
        while active.any():
            actions = fn(obs)
            for i in np.flatnonzero(active):
                obs[i], r, term, trunc, _ = envs[i].step(int(actions[i]))
                returns[i] += r
                active[i] = not (term or trunc)
    for env in envs:
        env.close()
    return returns.reshape(members, episodes) if isinstance(policy, PopulationActorCritic) else returns


@torch.no_grad()
def rollout_states(agent: ActorCritic, seed: int = 0, max_steps: int = 500) -> np.ndarray:
    """The (x, ẋ, θ, θ̇) states of one deterministic episode on gymnasium's CartPole-v1 (for drawing).

    Shapes: result (L + 1, 4), the reset state first.
    """
    import gymnasium as gym

    env = gym.make("CartPole-v1", max_episode_steps=max_steps)
    obs, _ = env.reset(seed=seed)
    states = [np.array(env.unwrapped.state, dtype=np.float64)]
    device = next(agent.parameters()).device
    for _ in range(max_steps):
        a = int(agent.act(torch.as_tensor(obs, device=device)))
        obs, _, term, trunc, _ = env.step(a)
        states.append(np.array(env.unwrapped.state, dtype=np.float64))
        if term or trunc:
            break
    env.close()
    return np.stack(states)
