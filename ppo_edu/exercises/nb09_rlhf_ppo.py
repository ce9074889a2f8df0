"""Notebook 09's exercises: the per-token RLHF reward, the k3 KL estimator, the adaptive KL controller."""

from __future__ import annotations

import torch

from .. import rlhf
from ._core import Exercise, Mistake

# --- 9.1 per-token rewards ---------------------------------------------------------------------


def _reward_cases() -> list[dict]:
    g = torch.Generator().manual_seed(9)
    hand = {
        "scores": torch.tensor([2.0, -1.0], dtype=torch.float64),
        "logp": torch.tensor([[-1.0, -2.0, -0.5, -0.9], [-0.2, -3.0, -3.0, -3.0]], dtype=torch.float64),
        "logp_ref": torch.tensor([[-1.5, -1.0, -0.5, -0.1], [-0.7, -0.1, -0.2, -0.3]], dtype=torch.float64),
        "mask": torch.tensor([[1.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0]], dtype=torch.float64),
        "beta": 0.1,
    }
    out = [hand]
    for b, t, beta in ((3, 5, 0.2), (4, 6, 0.05), (2, 3, 1.0)):
        lengths = torch.randint(1, t + 1, (b,), generator=g)
        lengths[0] = t - 1 if t > 1 else 1  # at least one padded row
        mask = (torch.arange(t) < lengths[:, None]).double()
        out.append({
            "scores": torch.randn(b, generator=g, dtype=torch.float64),
            "logp": -torch.rand(b, t, generator=g, dtype=torch.float64) * 3,
            "logp_ref": -torch.rand(b, t, generator=g, dtype=torch.float64) * 3,
            "mask": mask,
            "beta": beta,
        })
    return out


def _last_index(mask: torch.Tensor) -> torch.Tensor:
    return (mask.sum(dim=1) - 1).long()


def rewards_solution(scores, logp, logp_ref, mask, beta):
    rewards = -beta * (logp - logp_ref) * mask  # KL penalty on real tokens only
    last = mask.sum(dim=1).long() - 1  # right padding: the last real token
    rewards[torch.arange(len(scores)), last] += scores
    return rewards


def _score_first(scores, logp, logp_ref, mask, beta):
    r = -beta * (logp - logp_ref) * mask
    r[:, 0] += scores
    return r


def _padding_rewarded(scores, logp, logp_ref, mask, beta):
    r = -beta * (logp - logp_ref)
    r[torch.arange(len(scores)), _last_index(mask)] += scores
    return r


def _kl_sign(scores, logp, logp_ref, mask, beta):
    r = beta * (logp - logp_ref) * mask
    r[torch.arange(len(scores)), _last_index(mask)] += scores
    return r


def _score_on_last_column(scores, logp, logp_ref, mask, beta):
    r = -beta * (logp - logp_ref) * mask
    r[:, -1] += scores
    return r


def _score_on_every_token(scores, logp, logp_ref, mask, beta):
    return (-beta * (logp - logp_ref) + scores[:, None]) * mask


per_token_rewards = Exercise(
    name="per_token_rewards",
    title="Per-token RLHF rewards: −β·(log π − log π_ref) on each real token, the score on the last one (9.1)",
    reference=lambda scores, logp, logp_ref, mask, beta: rlhf.per_token_rewards(scores, logp, logp_ref, mask, beta),
    cases=_reward_cases,
    solution_fn=rewards_solution,
    mistakes=(
        Mistake("score_on_first_token",
                "You put the score on the first token. It belongs on the LAST real token: the reward model judges "
                "the finished sequence, and GAE carries it back to earlier tokens.", _score_first),
        Mistake("padding_rewarded",
                "Padding got a KL penalty. Positions where mask = 0 are not part of the sequence: multiply the "
                "penalty by the mask.", _padding_rewarded),
        Mistake("kl_sign",
                "The KL term has the wrong sign: the reward is r_t = −β·(log π − log π_ref), a PENALTY for "
                "moving away from the reference, not a bonus.", _kl_sign),
        Mistake("score_on_last_column",
                "You added the score in the last column, which is padding for shorter sequences. Find each row's "
                "last real token from the mask.", _score_on_last_column),
        Mistake("score_on_every_token",
                "You gave the score to every token; it is a single number per sequence, added once, on the last "
                "real token.", _score_on_every_token),
    ),
    hints=(
        "Start with the KL part: k1 = logp − logp_ref, penalty = −beta * k1, times mask so padding gets 0.",
        "With right padding, the last real token of row b is at index mask[b].sum() − 1.",
        "`rewards[torch.arange(B), last] += scores` adds each score at its row's last real token.",
    ),
)

# --- 9.2 the k3 estimator ---------------------------------------------------------------------


def _k3_cases() -> list[dict]:
    g = torch.Generator().manual_seed(90)
    out = [{"logp": torch.log(torch.tensor([0.5, 0.25, 0.1], dtype=torch.float64)),
            "logp_ref": torch.log(torch.tensor([0.25, 0.5, 0.1], dtype=torch.float64))}]
    for shape in ((7,), (3, 4)):
        out.append({"logp": -torch.rand(shape, generator=g, dtype=torch.float64) * 3,
                    "logp_ref": -torch.rand(shape, generator=g, dtype=torch.float64) * 3})
    return out


def k3_solution(logp, logp_ref):
    log_r = logp_ref - logp  # r = π_ref / π for a token sampled from π
    return torch.exp(log_r) - 1 - log_r


k3_estimator = Exercise(
    name="k3_estimator",
    title="The k3 estimator of KL(π ‖ π_ref): (r − 1) − log r with r = π_ref/π (9.4)",
    reference=lambda logp, logp_ref: rlhf.kl_per_token(logp, logp_ref, "k3"),
    cases=_k3_cases,
    solution_fn=k3_solution,
    mistakes=(
        Mistake("ratio_upside_down",
                "You used r = π/π_ref. For samples from π, the ratio with expectation 1 is r = π_ref/π = "
                "exp(logp_ref − logp); the upside-down one estimates a different quantity.",
                lambda logp, logp_ref: torch.expm1(logp - logp_ref) - (logp - logp_ref)),
        Mistake("k1_returned", "That is k1 = log π − log π_ref (unbiased, but it can be negative). k3 adds r − 1, "
                "whose expectation is 0, to make every sample non-negative.", lambda logp, logp_ref: logp - logp_ref),
        Mistake("missing_minus_one", "You forgot the − 1: k3 = (r − 1) − log r. Without it the estimate is off by 1.",
                lambda logp, logp_ref: torch.exp(logp_ref - logp) - (logp_ref - logp)),
    ),
    hints=(
        "log r = logp_ref − logp, so r = exp(logp_ref − logp).",
        "Return (r − 1) − log r, element by element; it is ≥ 0 because e^x ≥ 1 + x.",
    ),
)

# --- 9.3 adaptive KL controller ---------------------------------------------------------------


def _controller_cases() -> list[dict]:
    rows = [(0.2, 9.0, 6.0, 256, 10_000.0), (0.2, 6.3, 6.0, 256, 10_000.0), (0.1, 0.5, 6.0, 512, 2_000.0),
            (0.05, 5.0, 6.0, 128, 1_000.0), (0.3, 1.0, 0.8, 64, 100.0)]
    return [{"beta": b, "kl": kl, "target": t, "n_steps": n, "horizon": h} for b, kl, t, n, h in rows]


def _controller_ref(beta, kl, target, n_steps, horizon):
    ctl = rlhf.AdaptiveKLController(beta, target, horizon)
    return torch.tensor(ctl.update(kl, n_steps), dtype=torch.float64)


def controller_solution(beta, kl, target, n_steps, horizon):
    error = min(max(kl / target - 1.0, -0.2), 0.2)
    return beta * (1.0 + error * n_steps / horizon)


adaptive_kl_update = Exercise(
    name="adaptive_kl_update",
    title="One update of the adaptive KL controller: β ← β·(1 + clip(KL/target − 1, ±0.2)·n/horizon) (9.6)",
    reference=_controller_ref,
    cases=_controller_cases,
    solution_fn=controller_solution,
    rtol=1e-9,
    atol=1e-12,
    mistakes=(
        Mistake("error_not_clipped", "The proportional error must be clipped to [−0.2, 0.2]; otherwise one "
                "wild KL measurement can change β a lot.",
                lambda beta, kl, target, n_steps, horizon: beta * (1 + (kl / target - 1) * n_steps / horizon)),
        Mistake("sign_flipped", "β moves the wrong way: KL above the target must INCREASE β (a stronger penalty).",
                lambda beta, kl, target, n_steps, horizon:
                beta * (1 - min(max(kl / target - 1, -0.2), 0.2) * n_steps / horizon)),
        Mistake("absolute_error", "Use the relative error KL/target − 1, not KL − target: the controller must "
                "not depend on the units of the KL.",
                lambda beta, kl, target, n_steps, horizon:
                beta * (1 + min(max(kl - target, -0.2), 0.2) * n_steps / horizon)),
    ),
    hints=(
        "error = KL / target − 1, then clip it: min(max(error, −0.2), 0.2).",
        "The multiplier is 1 + error · n_steps / horizon; return beta times it.",
    ),
)
