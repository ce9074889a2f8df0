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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import advantages as adv_mod
from . import losses
from .agents import ActorCritic, PopulationActorCritic
from .envs import N_ACTIONS, OBS_DIM, GymVectorCartPole, TorchCartPole, make_cartpole
from .runtime import get_device

Tensor = torch.Tensor


class TrainingDivergedError(FloatingPointError):
    """A loss or a network output became NaN or infinite: training stops instead of going on silently."""


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
    """Adam's learning rate at the start (benchmarks/ uses 7e-3: faster to 475, less sure to stay there)."""
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
    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer widths of both the actor and the critic MLPs."""
    population: int = 1
    """P: independent agents trained side by side (different initial weights and random streams)."""
    seed: int = 0
    """Seeds the initial weights, the environments and all sampling: same seed, same run (on CPU)."""
    device: str = "auto"
    """"auto" (cuda if present, else cpu), "cpu", "cuda", ..."""
    env_backend: str = "torch"
    """"torch" (batched :class:`~ppo_edu.envs.TorchCartPole` on the device) or "gymnasium" (CPU vector env)."""

    def __post_init__(self):
        for name in ("total_steps", "num_envs", "num_steps", "epochs", "num_minibatches", "population"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected a positive integer, got {v!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed: expected a non-negative integer, got {self.seed!r}")
        for name in ("gamma", "lam"):
            v = getattr(self, name)
            if not 0.0 <= float(v) <= 1.0:
                raise ValueError(f"{name}: expected a number in [0, 1], got {v!r}")
        for name in ("lr", "clip_eps", "max_grad_norm"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name}: expected a number > 0, got {getattr(self, name)!r}")
        if self.clip_value is not None and not float(self.clip_value) > 0:
            raise ValueError(f"clip_value: expected None or a number > 0, got {self.clip_value!r}")
        for name in ("vf_coef", "ent_coef"):
            if not float(getattr(self, name)) >= 0:
                raise ValueError(f"{name}: expected a number >= 0, got {getattr(self, name)!r}")
        if (self.num_envs * self.num_steps) % self.num_minibatches:
            raise ValueError(
                f"num_minibatches: expected a divisor of the batch size num_envs*num_steps = "
                f"{self.num_envs * self.num_steps}, got {self.num_minibatches}"
            )
        if self.env_backend not in ("torch", "gymnasium"):
            raise ValueError(f"env_backend: expected 'torch' or 'gymnasium', got {self.env_backend!r}")
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

    Shapes: (P, B) → (P,).
    """
    var_y = returns.var(1, unbiased=False)
    return 1.0 - (returns - values).var(1, unbiased=False) / var_y


def _check_finite_outputs(where: str, **tensors: Tensor) -> None:
    for name, t in tensors.items():
        if not bool(torch.isfinite(t).all()):
            raise TrainingDivergedError(
                f"{where}: {name} is not finite ({int(torch.isnan(t).sum())} NaN, {int(torch.isinf(t).sum())} inf). "
                "Training stopped; usual causes: a learning rate that is too high, or NaN in the inputs."
            )


def ppo_update(
    agent: ActorCritic | PopulationActorCritic,
    optimizer: torch.optim.Optimizer,
    batch: Batch,
    *,
    epochs: int = 4,
    num_minibatches: int = 4,
    clip_eps: float = 0.2,
    clip_value: float | None = None,
    vf_coef: float = 0.5,
    ent_coef: float = 0.0,
    max_grad_norm: float | None = 0.5,
    norm_adv: bool = True,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """Epochs of minibatch gradient steps on the PPO loss (10.3); returns diagnostics.

    Every epoch shuffles each member's B samples and splits them into ``num_minibatches``
    minibatches of M = B / num_minibatches. Per minibatch: advantages whitened (if
    ``norm_adv``), L = −L^CLIP + c_V L^V − c_H H, backward, gradient-norm clip, optimizer step.

    Diagnostics (means over the last epoch's minibatches and the members):
    ``policy_loss``, ``value_loss``, ``entropy``, ``approx_kl_k1``, ``approx_kl_k3``,
    ``clip_fraction``, ``grad_norm``; ``explained_variance`` of the batch's old values;
    ``first_ratio_max_dev`` = max |ρ − 1| on the very first minibatch, which is exactly 0
    because nothing has changed the policy yet (a check that log π_old is right).

    Raises :class:`TrainingDivergedError` as soon as an output or a loss is NaN/inf.

    Shapes: see :class:`Batch`.
    """
    for name, v in (("epochs", epochs), ("num_minibatches", num_minibatches)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name}: expected a positive integer, got {v!r}")
    single = not isinstance(agent, PopulationActorCritic)
    if single:  # treat one agent as a population of one
        batch = Batch(*(getattr(batch, f.name).unsqueeze(0) for f in dataclasses.fields(Batch)))
    p, b = batch.actions.shape
    if batch.obs.shape[:2] != (p, b) or any(
        getattr(batch, n).shape != (p, b) for n in ("logp", "advantages", "returns", "values")
    ):
        raise ValueError(
            "batch: expected obs (P, B, O) and actions, logp, advantages, returns, values (P, B); got "
            + ", ".join(f"{f.name} {tuple(getattr(batch, f.name).shape)}" for f in dataclasses.fields(Batch))
        )
    if b % num_minibatches:
        raise ValueError(f"num_minibatches: expected a divisor of the batch size {b}, got {num_minibatches}")
    m = b // num_minibatches
    dev = batch.obs.device
    stats: dict[str, Tensor] = {}
    first_dev = None
    names = ("policy_loss", "value_loss", "entropy", "approx_kl_k1", "approx_kl_k3", "clip_fraction", "grad_norm")
    sums = dict.fromkeys(names, 0.0)
    for epoch in range(epochs):
        perm = torch.argsort(torch.rand(p, b, generator=generator, device=dev), dim=1)
        for k in range(num_minibatches):
            idx = perm[:, k * m : (k + 1) * m]
            obs = batch.obs.gather(1, idx.unsqueeze(-1).expand(-1, -1, batch.obs.shape[-1]))
            actions, logp_old, adv, ret, v_old = (
                getattr(batch, n).gather(1, idx) for n in ("actions", "logp", "advantages", "returns", "values")
            )
            logits = agent.logits(obs)
            values = agent.value(obs)
            where = f"ppo_update epoch {epoch} minibatch {k}"
            _check_finite_outputs(where, logits=logits, values=values)
            logp_all = torch.log_softmax(logits, dim=-1)
            logp = logp_all.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
            if norm_adv:
                adv = normalize_per_member(adv)
            pg = losses.clipped_surrogate_loss(logp, logp_old, adv, clip_eps)
            vl = losses.value_loss(values, ret, v_old, clip_value)
            ent = losses.categorical_entropy(logits)
            loss = (pg + vf_coef * vl - ent_coef * ent) * p  # = Σ_members of each member's mean loss
            _check_finite_outputs(where, loss=loss)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            gnorm = agent.clip_grad_norm_(max_grad_norm) if max_grad_norm is not None else torch.zeros(p, device=dev)
            optimizer.step()
            with torch.no_grad():
                if first_dev is None:  # before any step: π_θ = π_old, so ρ = 1 exactly
                    first_dev = (torch.exp(logp - logp_old) - 1.0).abs().max()
                if epoch == epochs - 1:  # diagnostics of the last epoch (where the policy moved most)
                    rho = torch.exp(logp - logp_old)
                    for key, val in (
                        ("policy_loss", pg), ("value_loss", vl), ("entropy", ent),
                        ("approx_kl_k1", losses.approx_kl(logp, logp_old, "k1")),
                        ("approx_kl_k3", losses.approx_kl(logp, logp_old, "k3")),
                        ("clip_fraction", losses.clip_fraction(rho, clip_eps)),
                        ("grad_norm", gnorm.mean()),
                    ):  # fmt: skip
                        sums[key] = sums[key] + val.detach()
    stats = {key: v / num_minibatches for key, v in sums.items()}
    out = {key: float(v) for key, v in stats.items()}
    out["explained_variance"] = float(explained_variance_per_member(batch.values, batch.returns).nanmean())
    out["first_ratio_max_dev"] = float(first_dev)
    return out


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


class Trainer:
    """PPO on CartPole for one agent or a population, on the device ``config.device`` resolves to.

    ``Trainer(cfg).train()`` runs ``cfg.total_steps``; :meth:`iteration` runs one rollout +
    update (benchmarks drive this themselves); :meth:`save` / :meth:`load` checkpoint and resume
    the same run exactly (the torch environment's state and every random stream included).
    """

    def __init__(self, config: PPOConfig, env: TorchCartPole | GymVectorCartPole | None = None):
        self.config = cfg = config
        self.device = get_device(cfg.device)
        p, n = cfg.population, cfg.num_envs
        init_gen = torch.Generator().manual_seed(cfg.seed)
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
        """Run the policy for T steps in all P·N environments; returns (P,) mean finished-episode return."""
        cfg, ro, p = self.config, self.rollout, self.config.population
        ret_sum = torch.zeros(p * cfg.num_envs, device=self.device)
        ret_cnt = torch.zeros(p * cfg.num_envs, device=self.device)
        for t in range(cfg.num_steps):
            action, logp = self.agent.sample(self.obs.view(p, cfg.num_envs, OBS_DIM), self.generator)
            ro.obs[t] = self.obs
            ro.actions[t] = action.view(-1)
            ro.logp[t] = logp.view(-1)
            self.obs, reward, term, trunc, info = self.env.step(ro.actions[t])
            ro.rewards[t], ro.terminated[t], ro.truncated[t] = reward, term, trunc
            ro.final_obs[t] = info["final_obs"]
            done = info["_final_obs"].float()
            ret_sum += done * info["episode_return"]
            ret_cnt += done
        return ret_sum.view(p, -1).sum(1) / ret_cnt.view(p, -1).sum(1)  # NaN where no episode ended

    def iteration(self) -> IterationStats:
        """One PPO iteration: rollout, advantages, update. Returns its :class:`IterationStats`."""
        cfg = self.config
        if cfg.anneal_lr:
            frac = max(1.0 - self.iterations_done / cfg.num_iterations, 0.0)
            for group in self.optimizer.param_groups:
                group["lr"] = frac * cfg.lr
        ep_return = self.collect()
        advantages, returns, values = compute_advantages(self.agent, self.rollout, self.obs, cfg.gamma, cfg.lam)
        p = cfg.population
        batch = Batch(
            obs=to_members(self.rollout.obs, p),
            actions=to_members(self.rollout.actions, p),
            logp=to_members(self.rollout.logp, p),
            advantages=to_members(advantages, p),
            returns=to_members(returns, p),
            values=to_members(values, p),
        )
        try:
            diag = ppo_update(
                self.agent, self.optimizer, batch,
                epochs=cfg.epochs, num_minibatches=cfg.num_minibatches, clip_eps=cfg.clip_eps,
                clip_value=cfg.clip_value, vf_coef=cfg.vf_coef, ent_coef=cfg.ent_coef,
                max_grad_norm=cfg.max_grad_norm, norm_adv=cfg.norm_adv, generator=self.generator,
            )  # fmt: skip
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

    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes: expected a positive integer, got {episodes!r}")
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
