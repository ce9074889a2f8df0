"""The RLHF reward of PPO for language models: per-token KL penalty + reward-model score.

A language model is a policy whose action at step t is the next token y_t, and whose state is
the prefix (prompt and y_<t). For a sampled response y of length L, the reward model gives one
number, the *score* s(y). PPO for language models (as InstructGPT and TRL's original
``PPOTrainer``; TRL's current ``trl.experimental.ppo`` puts the score one slot later, on the first
padding position) turns it into one reward per token:

    r_t = −β k1_t                    for t < L − 1                                    (9.1)
    r_{L−1} = −β k1_{L−1} + s(y)     (the score lands on the last real token)

with the per-token log-ratio to the frozen reference (the "SFT") model

    k1_t = log π_θ(y_t | y_<t) − log π_ref(y_t | y_<t).                               (9.2)

The prompt and the padding get no reward at all: ``mask`` is the *response* mask. With γ = 1
the return of the whole sequence is Σ_t r_t = s(y) − β Σ_t k1_t, whose expectation over y ~ π_θ is

    E[s(y)] − β KL(π_θ ‖ π_ref)                                                       (9.3)

the KL-regularised objective. This module also holds the KL estimators (k1, |k1|, ½k1², k3),
the critic-free group baselines of RLOO and GRPO, the fixed and adaptive KL controllers that
set β, masked statistics, and the Bradley–Terry loss that trains a reward model from preference
pairs. The training loop is :mod:`ppo_edu.rlhf_train`.

Layout: language-model tensors are **batch-major**, (B, T) with one row per sequence, as in
every language-model library; ``mask`` (B, T) is 1 on real tokens and 0 on padding. (The RL
modules of the course are time-major: :func:`token_advantages` transposes for
:func:`ppo_edu.advantages.gae`.)
"""

from __future__ import annotations

from typing import Any

import torch

from . import advantages as _advantages
from . import losses as _losses
from .validate import as_bool_mask, as_float, check_int, check_ndim, check_positive, check_same_shape

Tensor = torch.Tensor

KL_ESTIMATORS = ("k1", "abs", "k2", "k3")


def _tokens_2d(name: str, x: Any) -> Tensor:
    return check_ndim(name, as_float(name, x), (2,), "(B, T)")


def _mask(mask: Any, like: Tensor, need_each_row: bool = True) -> Tensor:
    m = as_bool_mask("mask", mask, like)
    check_same_shape("logp", like, mask=m)
    if need_each_row:
        empty = (~m.any(dim=-1)).nonzero().flatten().tolist()
        if empty:
            raise ValueError(f"mask: expected at least one real token (a 1) in every row, got empty rows {empty}")
    return m


def _beta(beta: float) -> float:
    b = float(beta)
    if not (b >= 0.0) or b == float("inf"):  # rejects NaN, inf and negatives
        raise ValueError(f"beta: expected a finite number >= 0, got {beta!r}")
    return b


# --- KL estimators -----------------------------------------------------------------------------
def kl_per_token(logp: Any, logp_ref: Any, estimator: str = "k1") -> Tensor:
    """Per-token estimates of KL(π_θ ‖ π_ref) from tokens sampled by π_θ.

    With k1 = log π_θ − log π_ref (eq. 9.2) and the ratio r = π_ref/π_θ = exp(−k1):

    * ``"k1"``:  k1                 unbiased; a single token can be negative
    * ``"abs"``: |k1|               never negative, biased upwards
    * ``"k2"``:  ½ k1²              never negative, biased as a value. As a *loss* on whole
      sequences sampled from the current π_θ its gradient k1·∇log π_θ(y) is an unbiased
      estimate of ∇KL (exactly, not to first order); per token it drops the later tokens' terms
    * ``"k3"``:  (r − 1) − log r = exp(−k1) − 1 + k1
      unbiased (E[r] = 1 under π_θ) **and** never negative (e^x ≥ 1 + x)          (9.4)

    The general rule: to estimate KL(p ‖ q) from samples of p, r = q/p. Here p = π_θ and
    q = π_ref; notebook 08 estimates KL(π_old ‖ π_θ) from samples of π_old, so there r = π_θ/π_old.

    Shapes:
        logp, logp_ref, result: any matching shape.
    """
    lp = as_float("logp", logp)
    lr = as_float("logp_ref", logp_ref, lp)
    check_same_shape("logp", lp, logp_ref=lr)
    k1 = lp - lr
    if estimator == "k1":
        return k1
    if estimator == "abs":
        return k1.abs()
    if estimator == "k2":
        return 0.5 * k1**2
    if estimator == "k3":
        return torch.expm1(-k1) + k1
    raise ValueError(f"estimator: expected one of {KL_ESTIMATORS}, got {estimator!r}")


def sequence_kl(logp: Any, logp_ref: Any, mask: Any, estimator: str = "k1") -> Tensor:
    """KL estimate of each whole sequence: Σ_t mask_t · kl_t (padding contributes nothing).

    Shapes:
        logp, logp_ref, mask: (B, T);  result: (B,).
    """
    lp = _tokens_2d("logp", logp)
    m = _mask(mask, lp, need_each_row=False)
    kl = kl_per_token(lp, logp_ref, estimator)
    return (kl * m).sum(dim=-1)


# --- per-token rewards -------------------------------------------------------------------------
def last_token_index(mask: Any) -> Tensor:
    """Index of the last real (mask = 1) token of each row: where the score goes.

    Works for right padding (``1 1 1 0 0``) and for left-padded or gappy masks alike.

    Shapes:
        mask: (B, T);  result: (B,) int64.
    """
    m = as_bool_mask("mask", mask, torch.empty(0))
    check_ndim("mask", m, (2,), "(B, T)")
    _mask(m, m.float())
    positions = torch.arange(m.shape[-1], device=m.device).expand_as(m)
    return torch.where(m, positions, -1).max(dim=-1).values


def per_token_rewards(
    scores: Any,
    logp: Any,
    logp_ref: Any,
    mask: Any,
    beta: float,
    estimator: str = "k1",
) -> Tensor:
    """Per-token RLHF rewards, eq. (9.1): −β·kl_t on every real token, + score on the last one.

    Args:
        scores: the reward model's score s(y) of each sequence.
        logp: log π_θ(y_t | y_<t) of the sampled tokens (the policy that sampled them).
        logp_ref: log π_ref(y_t | y_<t) of the same tokens under the frozen reference.
        mask: 1 on real (generated) tokens, 0 on padding. Every row needs at least one 1.
        beta: KL weight β >= 0 (β = 0: the score alone, no leash to the reference).
        estimator: which per-token KL, see :func:`kl_per_token` (TRL's default is ``"k1"``).

    Padding gets exactly 0. The sum over a row is s(y) − β Σ_t kl_t.

    Shapes:
        scores: (B,);  logp, logp_ref, mask, result: (B, T).
    """
    lp = _tokens_2d("logp", logp)
    lr = as_float("logp_ref", logp_ref, lp)
    check_same_shape("logp", lp, logp_ref=lr)
    m = _mask(mask, lp)
    s = check_ndim("scores", as_float("scores", scores, lp), (1,), "(B,)")
    if s.shape[0] != lp.shape[0]:
        raise ValueError(f"scores: expected one score per sequence, shape ({lp.shape[0]},), got {tuple(s.shape)}")
    b = _beta(beta)
    rewards = -b * kl_per_token(lp, lr, estimator) * m
    rows = torch.arange(lp.shape[0], device=lp.device)
    rewards[rows, last_token_index(m)] += s
    return rewards


# --- masked statistics ------------------------------------------------------------------------
def masked_mean(x: Any, mask: Any, dim: int | None = None) -> Tensor:
    """Mean over the entries where ``mask`` is 1: over everything (``dim=None``) or along ``dim``.

    ``dim=None`` is :func:`ppo_edu.losses.masked_mean`.

    Shapes:
        x, mask: (B, T) (any matching shape for ``dim=None``);  result: () or x without ``dim``.
    """
    v = as_float("x", x)
    m = as_float("mask", as_bool_mask("mask", mask, v).to(v.dtype))
    check_same_shape("x", v, mask=m)
    if dim is None:
        return _losses.masked_mean(v, m)
    count = m.sum(dim=dim)
    if bool((count == 0).any()):
        raise ValueError(f"mask: expected at least one 1 along dim {dim} in every slice, got an empty one")
    return (v * m).sum(dim=dim) / count


def masked_var(x: Any, mask: Any, unbiased: bool = True) -> Tensor:
    """Variance over the entries where ``mask`` is 1 (with Bessel's n/(n−1) when ``unbiased``).

    Shapes:
        x, mask: any matching shape;  result: ().
    """
    v = as_float("x", x)
    m = as_bool_mask("mask", mask, v).to(v.dtype)
    check_same_shape("x", v, mask=m)
    n = float(m.sum())
    if n < (2 if unbiased else 1):
        raise ValueError(f"mask: expected at least {2 if unbiased else 1} real entries for a variance, got {n:g}")
    mean = _losses.masked_mean(v, m)
    var = _losses.masked_mean((v - mean) ** 2, m)
    return var * n / (n - 1) if unbiased else var


def masked_whiten(x: Any, mask: Any, shift_mean: bool = True, eps: float = 1e-8) -> Tensor:
    """(x − mean) / sqrt(var + eps) with mean and variance over the real entries only.

    Padding does not enter the statistics and comes out as exactly 0. With
    ``shift_mean=False`` the mean is added back (only the scale is normalised, as TRL does
    for rewards).

    Shapes:
        x, mask, result: any matching shape (at least 2 real entries).
    """
    v = as_float("x", x)
    m = as_bool_mask("mask", mask, v)
    mean, var = _losses.masked_mean(v, m.to(v.dtype)), masked_var(v, m)
    out = (v - mean) * torch.rsqrt(var + check_positive("eps", eps))
    if not shift_mean:
        out = out + mean
    return torch.where(m, out, torch.zeros_like(out))


# --- advantages over tokens -------------------------------------------------------------------
def token_advantages(rewards: Any, values: Any, mask: Any, gamma: float = 1.0, lam: float = 0.95) -> tuple[Tensor, Tensor]:
    """GAE over the tokens of each sequence with :func:`ppo_edu.advantages.gae`; returns (Â, R).

    Each row is one episode that ends (terminates) at its last real token: V after it is 0.
    Padding is given zero reward and zero value, and comes out with Â = R = 0. A response's
    tokens must be contiguous in its row (left or right padding, no gaps): GAE would read a gap
    as a step of reward 0 and value 0 inside the episode, so a gappy mask is an error.
    The critic's targets are R = Â + V (the λ-return).

    Shapes:
        rewards, values, mask: (B, T);  results: (B, T) each.
    """
    r = _tokens_2d("rewards", rewards)
    m = _mask(mask, r)
    mi = m.int()
    starts = (mi.diff(dim=1, prepend=torch.zeros_like(mi[:, :1])) > 0).sum(1)  # 0 → 1 steps per row
    if (starts > 1).any():
        row = int((starts > 1).nonzero()[0, 0])
        raise ValueError(f"mask: expected each response's tokens in one contiguous run, got a gap in row {row}")
    v = as_float("values", values, r)
    check_same_shape("rewards", r, values=v)
    r, v = r * m, v.detach() * m
    last = torch.zeros_like(m)
    last[torch.arange(r.shape[0]), last_token_index(m)] = True
    next_v = _advantages.bootstrap_next_values(v.T, torch.zeros(r.shape[0], dtype=r.dtype))
    adv = _advantages.gae(r.T, v.T, next_v, terminated=last.T, truncated=None, gamma=gamma, lam=lam).T * m
    return adv, (adv + v) * m


# --- critic-free group baselines --------------------------------------------------------------
def _groups(name: str, x: Any, group_size: int) -> Tensor:
    v = check_ndim(name, as_float(name, x), (1,), "(B,)")
    check_int("group_size", group_size, minimum=2)  # a baseline needs other samples
    if v.shape[0] % group_size:
        raise ValueError(f"{name}: expected a length that is a multiple of group_size={group_size}, got {v.shape[0]}")
    return v.reshape(-1, group_size)


def rloo_advantages(returns: Any, group_size: int) -> Tensor:
    """REINFORCE leave-one-out (RLOO): each response's return minus the mean of the *others* in its group.

        A_i = R_i − (1/(G−1)) Σ_{j≠i} R_j = G/(G−1) · (R_i − mean_j R_j)                  (9.7)

    The G responses of a group answer the same prompt and sit next to each other in the batch.
    The baseline does not use R_i, so E[A_i ∇log π(y_i)] is the policy gradient, unbiased.

    Shapes:
        returns: (B,) with B a multiple of G;  result: (B,).
    """
    r = _groups("returns", returns, group_size)
    others = (r.sum(dim=1, keepdim=True) - r) / (group_size - 1)
    return (r - others).reshape(-1)


def grpo_advantages(scores: Any, group_size: int, eps: float = 1e-4) -> Tensor:
    """GRPO's group-normalised advantage (Shao et al., 2024): (s_i − mean) / (std + eps) within the group.

        A_i = (s_i − mean_j s_j) / (std_j s_j + eps)                                      (9.8)

    std is the sample standard deviation (Bessel-corrected, as ``torch.std``). A group whose
    responses all score the same gets A = 0: that prompt gives no signal.

    Shapes:
        scores: (B,) with B a multiple of G;  result: (B,).
    """
    s = _groups("scores", scores, group_size)
    centred = s - s.mean(dim=1, keepdim=True)
    return (centred / (s.std(dim=1, keepdim=True) + check_positive("eps", eps))).reshape(-1)


# --- KL controllers ---------------------------------------------------------------------------
class FixedKLController:
    """β that never changes: ``update`` is a no-op."""

    def __init__(self, value: float) -> None:
        self.value = _beta(value)

    def update(self, current_kl: float, n_steps: int) -> float:
        """Keep β; returns it."""
        as_float("current_kl", current_kl)
        return self.value

    def __repr__(self) -> str:
        return f"FixedKLController(value={self.value:g})"


class AdaptiveKLController:
    """β that steers the measured KL towards a target (Ziegler et al., 2019):

        e = clip(KL / KL_target − 1, −0.2, 0.2),      β ← β · (1 + e · n_steps / horizon)      (9.6)

    Too much KL raises β (a tighter leash), too little lowers it. The clip bounds the change
    per update, and ``horizon`` (in samples) sets how fast β moves: with e at its cap, β
    changes by a factor (1 ± 0.2 · n/horizon) per update of n samples.

    Ziegler et al. write β ← β(1 + K_β e) with K_β = 0.1; here (as in TRL) K_β = n_steps/horizon,
    so their K_β = 0.1 is horizon = 10 · n_steps. TRL's older ``PPOTrainer`` defaults: initial β
    0.2, target 6 nats, horizon 10 000 (K_β = 0.0256 with the batch of 256 of its early releases, 0.0128 with 128).
    """

    def __init__(self, init_value: float, target: float, horizon: float) -> None:
        self.value = check_positive("init_value", init_value)
        self.target = check_positive("target", target)
        self.horizon = check_positive("horizon", horizon)

    def update(self, current_kl: float, n_steps: int) -> float:
        """One step of eq. (9.6) after a batch of ``n_steps`` samples with mean KL ``current_kl``; returns β."""
        kl = float(as_float("current_kl", current_kl))
        if isinstance(n_steps, bool) or int(n_steps) != n_steps or n_steps < 1:
            raise ValueError(f"n_steps: expected a positive integer, got {n_steps!r}")
        error = min(max(kl / self.target - 1.0, -0.2), 0.2)
        self.value *= 1.0 + error * n_steps / self.horizon
        return self.value

    def __repr__(self) -> str:
        return f"AdaptiveKLController(value={self.value:.4g}, target={self.target:g}, horizon={self.horizon:g})"


# --- reward model -----------------------------------------------------------------------------
def bradley_terry_loss(score_chosen: Any, score_rejected: Any) -> Tensor:
    """Reward-model loss −E[log σ(s(y_w) − s(y_l))] for pairs where y_w was preferred to y_l.

    Bradley–Terry: P(y_w ≻ y_l) = σ(s(y_w) − s(y_l)); the loss is its negative log-likelihood
    (computed stably as softplus(s_l − s_w)). Only score *differences* are learned.

    Shapes:
        score_chosen, score_rejected: (P,);  result: ().
    """
    w = check_ndim("score_chosen", as_float("score_chosen", score_chosen), (1,), "(P,)")
    lo = as_float("score_rejected", score_rejected, w)
    check_same_shape("score_chosen", w, score_rejected=lo)
    return torch.nn.functional.softplus(lo - w).mean()
