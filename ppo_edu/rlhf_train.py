"""RLHF training on the toy task of :mod:`ppo_edu.toy_lm`: PPO over tokens, and beside it GRPO and RLOO.

One iteration, for every algorithm:

1. draw ``batch_size / group_size`` prompts, each ``group_size`` times, and sample one response
   per row from π_θ (:func:`ppo_edu.toy_lm.sample`);
2. keep log π_θ (the "old" log-probs, detached), log π_ref and the reward-model score;
3. advantages (:func:`compute_advantages`), **only over the response tokens**:

   * ``"ppo"``: per-token rewards (9.1) with the KL in the reward, a critic, GAE over tokens
     (γ = 1, λ = 0.95), advantages whitened over the batch's response tokens (TRL's recipe);
   * ``"rloo"``: the sequence return R = s − β Σ_t k1_t, minus the mean of the other responses
     to the same prompt (9.7), on every token of the response. No critic;
   * ``"grpo"``: (s − group mean)/group std (9.8) on every token, the KL moved out of the reward
     into the loss as β·k3 per token (Shao et al., 2024). No critic;

4. ``ppo_epochs`` passes over minibatches of rows with the clipped surrogate (5.2), plus the
   value loss (PPO) or the KL loss (GRPO), all masked by the response mask (:func:`minibatch_loss`).

The history holds, per iteration, the batch estimates and the *exact* E[score], E[gold] and
KL(π_θ ‖ π_ref) of the current policy, by enumeration.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import torch

from . import losses, rlhf, toy_lm
from .toy_lm import Toy

Tensor = torch.Tensor

ALGORITHMS = ("ppo", "grpo", "rloo")


@dataclass(frozen=True)
class RLHFConfig:
    """Everything that defines an RLHF run on the toy task (frozen: a run's settings cannot drift).

    Defaults: PPO as TRL runs it, with the choices that differ from notebook 08 stated per field;
    a run of a few seconds on one CPU core.
    """

    algorithm: str = "ppo"
    """"ppo" (critic + GAE), "grpo" (group-normalised score, KL in the loss) or "rloo" (leave-one-out)."""
    beta: float = 0.3
    """KL weight β (the initial value when adaptive). TRL's PPO: kl_coef = 0.05 (for scores of order one; TRL does not
    rescale them)."""
    adaptive_kl_target: float | None = None
    """If set: the adaptive controller (9.6) steers the KL to this target (nats per response)."""
    kl_horizon: float = 2000.0
    """Horizon of the adaptive controller, in responses: K_β = batch_size / kl_horizon."""
    kl_estimator: str = "k1"
    """Per-token KL estimator in the reward (PPO, RLOO): "k1" (TRL's default), "abs", "k2" or "k3"."""
    iterations: int = 40
    """Iterations (rollout + update)."""
    batch_size: int = 128
    """Responses sampled per iteration (the budget; the same for every algorithm)."""
    group_size: int = 1
    """Responses per prompt, G: ≥ 2 for GRPO and RLOO (their baseline), 1 is enough for PPO."""
    ppo_epochs: int = 4
    """Passes over each batch (TRL: num_ppo_epochs = 4)."""
    minibatches: int = 4
    """Minibatches of rows per epoch."""
    clip_eps: float = 0.2
    """ε of the PPO clip (5.2) (TRL: cliprange = 0.2)."""
    clip_value: float | None = None
    """ε of the value clip (8.2); None = plain squared error, as notebook 08 (TRL: cliprange_value = 0.2)."""
    vf_coef: float = 0.1
    """Weight of the value loss (TRL: 0.1). With a separate critic and Adam it only matters through
    the joint gradient clip: Adam divides each parameter's step by its own gradient scale."""
    max_grad_norm: float | None = 1.0
    """Clip of the global gradient norm of policy and critic together (TRL's default 1.0; 08 uses 0.5)."""
    gamma: float = 1.0
    """Discount over tokens (TRL: 1): the return of a response is its whole score."""
    lam: float = 0.95
    """GAE's λ over tokens (TRL: 0.95)."""
    lr: float = 3e-3
    """Adam's step size for policy and critic."""
    whiten_rewards: bool = False
    """Scale the per-token rewards to unit variance over the batch's response tokens (TRL's whiten_rewards)."""
    missing_eos_penalty: float | None = None
    """If set: subtract it from the score of every response that never reached EOS (TRL's option)."""
    seed: int = 0
    """Seeds the critic's initial weights and all sampling: same seed, same run."""

    def __post_init__(self) -> None:
        for rule, names, expected in _RULES:
            for name in names:
                value = getattr(self, name)
                if not rule(value):
                    raise ValueError(f"{name}: expected {expected}, got {value!r}")
        if self.algorithm in ("grpo", "rloo") and self.group_size < 2:
            raise ValueError(
                f"group_size: expected >= 2 for {self.algorithm} (its baseline is the other responses "
                f"to the same prompt), got {self.group_size}"
            )
        if self.batch_size % self.group_size:
            raise ValueError(f"batch_size: expected a multiple of group_size={self.group_size}, got {self.batch_size}")
        if self.batch_size % self.minibatches:
            raise ValueError(f"batch_size: expected a multiple of minibatches={self.minibatches}, got {self.batch_size}")

    def replace(self, **changes: Any) -> RLHFConfig:
        """A copy with some fields changed (the config itself is frozen)."""
        return dataclasses.replace(self, **changes)


def _int_at_least(low: int):
    return lambda v: not isinstance(v, bool) and isinstance(v, int) and v >= low


def _number(test):
    return lambda v: not isinstance(v, bool) and isinstance(v, int | float) and test(float(v))


def _optional(rule):
    return lambda v: v is None or rule(v)


_RULES = (
    (_int_at_least(1), ("iterations", "batch_size", "group_size", "ppo_epochs", "minibatches"), "a positive integer"),
    (_int_at_least(0), ("seed",), "a non-negative integer"),
    (lambda v: v in ALGORITHMS, ("algorithm",), f"one of {ALGORITHMS}"),
    (lambda v: v in rlhf.KL_ESTIMATORS, ("kl_estimator",), f"one of {rlhf.KL_ESTIMATORS}"),
    (_number(lambda x: 0.0 <= x < float("inf")), ("beta",), "a finite number >= 0"),
    (_number(lambda x: 0.0 <= x <= 1.0), ("gamma", "lam"), "a number in [0, 1]"),
    (_number(lambda x: 0.0 < x < float("inf")), ("clip_eps", "lr", "kl_horizon"), "a finite number > 0"),
    (_number(lambda x: 0.0 <= x < float("inf")), ("vf_coef",), "a finite number >= 0"),
    (
        _optional(_number(lambda x: 0.0 < x < float("inf"))),
        ("clip_value", "max_grad_norm", "adaptive_kl_target"),
        "None or a finite number > 0",
    ),
    (_optional(_number(lambda x: 0.0 <= x < float("inf"))), ("missing_eos_penalty",), "None or a finite number >= 0"),
    (lambda v: isinstance(v, bool), ("whiten_rewards",), "True or False"),
)


# --- the pieces of one iteration ---------------------------------------------------------------
def compute_advantages(
    cfg: RLHFConfig, scores: Tensor, logp: Tensor, logp_ref: Tensor, values: Tensor | None, response_mask: Tensor, beta: float
) -> tuple[Tensor, Tensor | None]:
    """Advantages (and the critic's targets, PPO only) of one batch, zero off the response tokens.

    Shapes:
        scores: (B,);  logp, logp_ref, values, response_mask, results: (B, T).
    """
    m = response_mask
    if cfg.algorithm == "ppo":
        rewards = rlhf.per_token_rewards(scores, logp, logp_ref, m, beta, cfg.kl_estimator)  # (9.1)
        if cfg.whiten_rewards:
            rewards = rlhf.masked_whiten(rewards, m, shift_mean=False)
        adv, returns = rlhf.token_advantages(rewards, values, m, cfg.gamma, cfg.lam)
        return rlhf.masked_whiten(adv, m), returns
    if cfg.algorithm == "rloo":
        seq_return = scores - beta * rlhf.sequence_kl(logp, logp_ref, m, cfg.kl_estimator)
        return rlhf.rloo_advantages(seq_return, cfg.group_size)[:, None] * m, None
    return rlhf.grpo_advantages(scores, cfg.group_size)[:, None] * m, None


def minibatch_loss(
    cfg: RLHFConfig,
    logp_new: Tensor,
    logp_old: Tensor,
    logp_ref: Tensor,
    adv: Tensor,
    response_mask: Tensor,
    beta: float,
    values_new: Tensor | None = None,
    returns: Tensor | None = None,
    values_old: Tensor | None = None,
) -> Tensor:
    """The loss of one minibatch: clipped surrogate + c_V·value loss (PPO) or + β·k3 (GRPO), masked.

    Every term is a mean over the response tokens only (``response_mask``); the prompt and the
    padding never count.

    Shapes:
        every tensor: (b, T);  result: ().
    """
    m = response_mask.to(logp_new.dtype)
    loss = losses.clipped_surrogate_loss(logp_new, logp_old, adv, cfg.clip_eps, m)
    if cfg.algorithm == "ppo":
        loss = loss + cfg.vf_coef * losses.value_loss(values_new, returns, values_old, cfg.clip_value, m)
    elif cfg.algorithm == "grpo" and beta > 0:
        # k3 of KL(π_θ ‖ π_ref) with r = π_ref/π_θ: the samples come from π_θ (the rule r = q/p)
        loss = loss + beta * losses.masked_mean(rlhf.kl_per_token(logp_new, logp_ref, "k3"), m)
    return loss


def _exact(policy: toy_lm.TinyLM, toy: Toy) -> dict[str, float]:
    return toy_lm.distribution_stats(toy_lm.all_sequence_logprobs(policy), toy.ref_logp_all, toy.score_all, toy.gold_all)


def _rollout(policy, critic, toy: Toy, cfg: RLHFConfig, g: torch.Generator) -> dict[str, Any]:
    prompts = toy_lm.sample_prompts(cfg.batch_size // cfg.group_size, g).repeat_interleave(cfg.group_size)
    batch = toy_lm.sample(policy, prompts, g)
    with torch.no_grad():
        logp = toy_lm.token_logprobs(policy, batch.tokens, batch.attention_mask)
        logp_ref = toy_lm.token_logprobs(toy.reference, batch.tokens, batch.attention_mask)
        values = toy_lm.values_of(critic, batch.tokens, batch.attention_mask) * batch.response_mask if critic else None
        scores = toy.reward_model(batch.tokens, batch.response_mask).to(logp.dtype)
    if cfg.missing_eos_penalty is not None:
        scores = scores - cfg.missing_eos_penalty * (~batch.ended).to(scores.dtype)
    return {"batch": batch, "logp": logp, "logp_ref": logp_ref, "values": values, "scores": scores}


def train_rlhf(toy: Toy, config: RLHFConfig) -> dict[str, Any]:
    """Train from the SFT model with ``config.algorithm``; returns the policy, the critic and the history.

    History keys: "beta", "batch_score", "batch_kl" (per iteration), "score", "gold", "kl"
    (exact, per iteration and once more at the end); "seconds" is the run's wall time.
    """
    cfg = config
    if not isinstance(cfg, RLHFConfig):
        raise ValueError(f"config: expected an RLHFConfig, got {type(cfg).__name__}")
    torch.manual_seed(cfg.seed)
    g = torch.Generator().manual_seed(cfg.seed)
    policy = copy.deepcopy(toy.reference).requires_grad_(True).train()
    critic = toy_lm.TinyLM(n_out=1) if cfg.algorithm == "ppo" else None
    params = list(policy.parameters()) + (list(critic.parameters()) if critic else [])
    opt = torch.optim.Adam(params, lr=cfg.lr)
    ctl = (
        rlhf.AdaptiveKLController(cfg.beta, cfg.adaptive_kl_target, cfg.kl_horizon)
        if cfg.adaptive_kl_target is not None
        else rlhf.FixedKLController(cfg.beta)
    )
    hist: dict[str, Any] = {k: [] for k in ("beta", "batch_score", "batch_kl", "score", "gold", "kl")}
    t0 = time.perf_counter()
    for _ in range(cfg.iterations):
        for k, v in _exact(policy, toy).items():
            hist[k].append(v)
        ro, beta = _rollout(policy, critic, toy, cfg, g), ctl.value
        batch, m = ro["batch"], ro["batch"].response_mask
        adv, returns = compute_advantages(cfg, ro["scores"], ro["logp"], ro["logp_ref"], ro["values"], m, beta)
        seq_kl = float(rlhf.sequence_kl(ro["logp"], ro["logp_ref"], m).mean())
        hist["beta"].append(beta)
        hist["batch_score"].append(float(ro["scores"].mean()))
        hist["batch_kl"].append(seq_kl)
        ctl.update(seq_kl, cfg.batch_size)
        size = cfg.batch_size // cfg.minibatches
        for _ in range(cfg.ppo_epochs):
            perm = torch.randperm(cfg.batch_size, generator=g)
            for start in range(0, cfg.batch_size, size):
                i = perm[start : start + size]
                mb = batch[i]
                logp_new = toy_lm.token_logprobs(policy, mb.tokens, mb.attention_mask)
                extra = {}
                if critic is not None:
                    extra = {
                        "values_new": toy_lm.values_of(critic, mb.tokens, mb.attention_mask),
                        "returns": returns[i],
                        "values_old": ro["values"][i],
                    }
                loss = minibatch_loss(cfg, logp_new, ro["logp"][i], ro["logp_ref"][i], adv[i], mb.response_mask, beta, **extra)
                opt.zero_grad()
                loss.backward()
                if cfg.max_grad_norm is not None:
                    torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
                opt.step()
    for k, v in _exact(policy, toy).items():
        hist[k].append(v)
    seconds = time.perf_counter() - t0
    policy.requires_grad_(False).eval()
    return {"policy": policy, "critic": critic, "history": hist, "config": cfg, "seconds": seconds}


#: The runs notebook 09 compares (and ``figures/09_rlhf_methods.png`` draws): one budget of
#: responses per iteration, G = 8 responses per prompt for the critic-free methods.
METHODS = {
    "PPO (critic, G = 1)": RLHFConfig(algorithm="ppo", group_size=1),
    "GRPO (G = 8)": RLHFConfig(algorithm="grpo", group_size=8),
    "RLOO (G = 8)": RLHFConfig(algorithm="rloo", group_size=8),
}


def compare_methods(toy: Toy, seeds: Any, iterations: int, methods: dict[str, RLHFConfig] | None = None) -> dict[str, Any]:
    """Train every method of ``methods`` (default :data:`METHODS`) once per seed for ``iterations``.

    Returns ``{"histories": {label: [history per seed]}, "seconds": {label: [wall time per seed]}}``.
    """
    methods = METHODS if methods is None else methods
    out: dict[str, Any] = {"histories": {}, "seconds": {}}
    for label, cfg in methods.items():
        runs = [train_rlhf(toy, cfg.replace(seed=int(s), iterations=iterations)) for s in seeds]
        out["histories"][label] = [r["history"] for r in runs]
        out["seconds"][label] = [r["seconds"] for r in runs]
    return out
