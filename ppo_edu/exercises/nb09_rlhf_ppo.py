"""Notebook 09's exercises: the response mask, the per-token RLHF reward, RLOO, the k3 estimator, the KL controller."""

from __future__ import annotations

import torch

from .. import rlhf, toy_lm
from ._core import Exercise, Mistake

# --- 9.1 the response mask ----------------------------------------------------------------------


def _rows_cases(seed: int) -> list[dict]:
    """Rows ``[left-padded prompt | right-padded response]`` of random prompts and response lengths."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for b in (3, 5, 8):
        ids = torch.randint(0, len(toy_lm.PROMPTS), (b,), generator=g)
        ids[0] = 0  # a 1-letter prompt: two columns of left padding
        lengths = torch.randint(1, toy_lm.MAX_LEN + 1, (b,), generator=g)
        lengths[0] = 1  # a response that is only its EOS
        if b > 1:
            lengths[1] = toy_lm.MAX_LEN  # one that uses every column
        responses = torch.randint(0, toy_lm.EOS, (b, toy_lm.MAX_LEN), generator=g)
        ended = torch.rand(b, generator=g) < 0.7
        ended[0] = True
        rows = torch.arange(b)
        responses[rows[ended], lengths[ended] - 1] = toy_lm.EOS  # early EOS; the others never ended
        rmask = torch.arange(toy_lm.MAX_LEN) < lengths[:, None]
        out.append(toy_lm.make_batch(ids, responses, rmask))
    return out


def _mask_cases() -> list[dict]:
    return [
        {"tokens": r.tokens, "attention_mask": r.attention_mask.double(), "prompt_width": toy_lm.PROMPT_WIDTH}
        for r in _rows_cases(19)
    ]


def response_mask_solution(tokens, attention_mask, prompt_width):
    columns = torch.arange(tokens.shape[1])
    return attention_mask * (columns >= prompt_width)  # real tokens after the prompt, EOS included


def _includes_prompt(tokens, attention_mask, prompt_width):
    return attention_mask.clone()


def _includes_padding(tokens, attention_mask, prompt_width):
    return (torch.arange(tokens.shape[1]) >= prompt_width).double().expand_as(attention_mask)


def _eos_dropped(tokens, attention_mask, prompt_width):
    return attention_mask * (torch.arange(tokens.shape[1]) >= prompt_width) * (tokens != toy_lm.EOS)


def _shifted_into_prompt(tokens, attention_mask, prompt_width):
    return attention_mask * (torch.arange(tokens.shape[1]) >= prompt_width - 1)


response_mask = Exercise(
    name="response_mask",
    title="The response mask: 1 on the response's real tokens (EOS included), 0 on the prompt and the padding",
    reference=lambda tokens, attention_mask, prompt_width: toy_lm.response_mask_of(attention_mask, prompt_width),
    cases=_mask_cases,
    solution_fn=response_mask_solution,
    mistakes=(
        Mistake(
            "includes_prompt",
            "Your mask includes the prompt. The prompt is context the policy did not choose: its tokens get no "
            "reward, no KL penalty and no advantage. Zero the first prompt_width columns.",
            _includes_prompt,
        ),
        Mistake(
            "includes_padding",
            "Your mask includes padding (left of short prompts, right of short responses). Keep only positions "
            "where attention_mask is 1.",
            _includes_padding,
        ),
        Mistake(
            "eos_dropped",
            "You dropped the EOS token by testing tokens != EOS. Ending the response is an action of the policy "
            "and must count; and padding shares the EOS id, so token ids cannot tell them apart: use the masks.",
            _eos_dropped,
        ),
        Mistake(
            "shifted_into_prompt",
            "Your mask starts one column early, on the prompt's last token: an off-by-one of the logits shift. "
            "The response starts at column prompt_width.",
            _shifted_into_prompt,
        ),
    ),
    hints=(
        "Rows are [left-padded prompt | right-padded response]: the response starts at column prompt_width.",
        "attention_mask is 1 on the prompt and the response; multiply it by (column >= prompt_width).",
    ),
)

# --- 9.2 per-token rewards ---------------------------------------------------------------------


def _reward_cases() -> list[dict]:
    g = torch.Generator().manual_seed(9)
    out = []
    for rows, beta in zip(_rows_cases(29), (0.1, 0.2, 1.0), strict=True):
        b, t = rows.tokens.shape
        out.append(
            {
                "scores": torch.randn(b, generator=g, dtype=torch.float64),
                "logp": -torch.rand(b, t, generator=g, dtype=torch.float64) * 3,
                "logp_ref": -torch.rand(b, t, generator=g, dtype=torch.float64) * 3,
                "mask": rows.response_mask.double(),
                "beta": beta,
            }
        )
    return out


def _last_index(mask: torch.Tensor) -> torch.Tensor:
    return (mask * torch.arange(mask.shape[1])).argmax(dim=1)


def rewards_solution(scores, logp, logp_ref, mask, beta):
    rewards = -beta * (logp - logp_ref) * mask  # KL penalty on response tokens only
    last = (mask * torch.arange(mask.shape[1])).argmax(dim=1)  # each row's last real response token
    rewards[torch.arange(len(scores)), last] += scores
    return rewards


def _score_first(scores, logp, logp_ref, mask, beta):
    r = -beta * (logp - logp_ref) * mask
    r[torch.arange(len(scores)), mask.argmax(dim=1)] += scores  # the first response token
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


def _score_at_length_minus_one(scores, logp, logp_ref, mask, beta):
    r = -beta * (logp - logp_ref) * mask
    r[torch.arange(len(scores)), (mask.sum(dim=1) - 1).long()] += scores
    return r


def _score_on_every_token(scores, logp, logp_ref, mask, beta):
    return (-beta * (logp - logp_ref) + scores[:, None]) * mask


per_token_rewards = Exercise(
    name="per_token_rewards",
    title="Per-token RLHF rewards: −β·(log π − log π_ref) on each response token, the score on the last one (9.1)",
    reference=lambda scores, logp, logp_ref, mask, beta: rlhf.per_token_rewards(scores, logp, logp_ref, mask, beta),
    cases=_reward_cases,
    solution_fn=rewards_solution,
    mistakes=(
        Mistake(
            "score_on_first_token",
            "You put the score on the first response token. It belongs on the LAST real token: the reward model "
            "judges the finished response, and GAE carries it back to earlier tokens.",
            _score_first,
        ),
        Mistake(
            "padding_rewarded",
            "The prompt and the padding got a KL penalty. Positions where mask = 0 are not actions of the "
            "policy: multiply the penalty by the mask.",
            _padding_rewarded,
        ),
        Mistake(
            "kl_sign",
            "The KL term has the wrong sign: the reward is r_t = −β·(log π − log π_ref), a PENALTY for "
            "moving away from the reference, not a bonus.",
            _kl_sign,
        ),
        Mistake(
            "score_on_last_column",
            "You added the score in the last column, which is padding for responses that ended early. Find "
            "each row's last real token from the mask.",
            _score_on_last_column,
        ),
        Mistake(
            "score_at_length_minus_one",
            "You put the score at index mask.sum() − 1. That is the last real token only when the response "
            "starts in column 0; here a prompt comes first, so it lands inside the prompt. Take the largest "
            "column where the mask is 1.",
            _score_at_length_minus_one,
        ),
        Mistake(
            "score_on_every_token",
            "You gave the score to every token; it is a single number per response, added once, on the last real token.",
            _score_on_every_token,
        ),
    ),
    hints=(
        "Start with the KL part: k1 = logp − logp_ref, penalty = −beta * k1, times mask so prompt and padding get 0.",
        "The response starts after the prompt, so mask.sum() − 1 is not the last index. "
        "(mask * torch.arange(T)).argmax(dim=1) is the largest column where the mask is 1.",
        "`rewards[torch.arange(B), last] += scores` adds each score at its row's last real token.",
    ),
)

# --- 9.3 RLOO advantages ---------------------------------------------------------------------------


def _rloo_cases() -> list[dict]:
    g = torch.Generator().manual_seed(91)
    out = [{"returns": torch.tensor([1.0, 2.0, 6.0, 0.0, 0.0, 3.0], dtype=torch.float64), "group_size": 3}]
    for n, k in ((4, 2), (3, 4), (2, 8)):
        out.append({"returns": torch.randn(n * k, generator=g, dtype=torch.float64) * 2 + 1, "group_size": k})
    return out


def rloo_solution(returns, group_size):
    r = returns.reshape(-1, group_size)  # one row per prompt, its G responses side by side
    others = (r.sum(dim=1, keepdim=True) - r) / (group_size - 1)
    return (r - others).reshape(-1)


rloo_advantages = Exercise(
    name="rloo_advantages",
    title="RLOO: each response's return minus the mean return of the OTHER responses to its prompt (9.7)",
    reference=lambda returns, group_size: rlhf.rloo_advantages(returns, group_size),
    cases=_rloo_cases,
    solution_fn=rloo_solution,
    mistakes=(
        Mistake(
            "mean_includes_self",
            "Your baseline is the group mean, which includes the response itself. Leave it out: divide the "
            "sum of the OTHER G − 1 returns by G − 1 (including it shrinks the advantage by (G − 1)/G).",
            lambda returns, group_size: (
                returns.reshape(-1, group_size) - returns.reshape(-1, group_size).mean(1, keepdim=True)
            ).reshape(-1),
        ),
        Mistake(
            "divided_by_group_size",
            "You divided the sum of the other returns by G; there are G − 1 of them.",
            lambda returns, group_size: (
                returns.reshape(-1, group_size)
                - (returns.reshape(-1, group_size).sum(1, keepdim=True) - returns.reshape(-1, group_size)) / group_size
            ).reshape(-1),
        ),
        Mistake(
            "batch_baseline",
            "Your baseline mixes prompts: the mean over the whole batch. Compare each response only with the "
            "other responses to the SAME prompt (consecutive groups of group_size).",
            lambda returns, group_size: returns - (returns.sum() - returns) / (returns.numel() - 1),
        ),
    ),
    hints=(
        "returns.reshape(-1, group_size) puts each prompt's responses in one row.",
        "The others' mean is (row sum − own return) / (group_size − 1).",
    ),
)

# --- 9.4 the k3 estimator ---------------------------------------------------------------------


def _k3_cases() -> list[dict]:
    g = torch.Generator().manual_seed(90)
    out = [
        {
            "logp": torch.log(torch.tensor([0.5, 0.25, 0.1], dtype=torch.float64)),
            "logp_ref": torch.log(torch.tensor([0.25, 0.5, 0.1], dtype=torch.float64)),
        }
    ]
    for shape in ((7,), (3, 4)):
        out.append(
            {
                "logp": -torch.rand(shape, generator=g, dtype=torch.float64) * 3,
                "logp_ref": -torch.rand(shape, generator=g, dtype=torch.float64) * 3,
            }
        )
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
        Mistake(
            "ratio_upside_down",
            "You used r = π/π_ref. The rule: to estimate KL(p ‖ q) from samples of p, r = q/p (its mean "
            "under p is 1). The samples come from π, so r = π_ref/π = exp(logp_ref − logp).",
            lambda logp, logp_ref: torch.expm1(logp - logp_ref) - (logp - logp_ref),
        ),
        Mistake(
            "k1_returned",
            "That is k1 = log π − log π_ref (unbiased, but it can be negative). k3 adds r − 1, "
            "whose expectation is 0, to make every sample non-negative.",
            lambda logp, logp_ref: logp - logp_ref,
        ),
        Mistake(
            "missing_minus_one",
            "You forgot the − 1: k3 = (r − 1) − log r. Without it the estimate is off by 1.",
            lambda logp, logp_ref: torch.exp(logp_ref - logp) - (logp_ref - logp),
        ),
    ),
    hints=(
        "log r = logp_ref − logp, so r = exp(logp_ref − logp).",
        "Return (r − 1) − log r, element by element; it is ≥ 0 because e^x ≥ 1 + x.",
    ),
)

# --- 9.5 adaptive KL controller ---------------------------------------------------------------


def _controller_cases() -> list[dict]:
    rows = [
        (0.2, 9.0, 6.0, 256, 10_000.0),
        (0.2, 6.3, 6.0, 256, 10_000.0),
        (0.1, 0.5, 6.0, 512, 2_000.0),
        (0.05, 5.0, 6.0, 128, 1_000.0),
        (0.3, 1.0, 0.8, 64, 100.0),
    ]
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
        Mistake(
            "error_not_clipped",
            "The proportional error must be clipped to [−0.2, 0.2]; otherwise one wild KL measurement can change β a lot.",
            lambda beta, kl, target, n_steps, horizon: beta * (1 + (kl / target - 1) * n_steps / horizon),
        ),
        Mistake(
            "sign_flipped",
            "β moves the wrong way: KL above the target must INCREASE β (a stronger penalty).",
            lambda beta, kl, target, n_steps, horizon: beta * (1 - min(max(kl / target - 1, -0.2), 0.2) * n_steps / horizon),
        ),
        Mistake(
            "absolute_error",
            "Use the relative error KL/target − 1, not KL − target: the controller must not depend on the units of the KL.",
            lambda beta, kl, target, n_steps, horizon: beta * (1 + min(max(kl - target, -0.2), 0.2) * n_steps / horizon),
        ),
    ),
    hints=(
        "error = KL / target − 1, then clip it: min(max(error, −0.2), 0.2).",
        "The multiplier is 1 + error · n_steps / horizon; return beta times it.",
    ),
)
