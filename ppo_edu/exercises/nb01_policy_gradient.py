"""Notebook 01's exercises: the softmax score ∇log π and the REINFORCE pseudo-loss."""

from __future__ import annotations

import torch

from .. import policy_gradient
from ._core import Exercise, Mistake

F64 = torch.float64


def _one_hot(logits: torch.Tensor, action: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor(action), logits.shape[-1]).to(logits.dtype)


# -- Exercise 1.1: ∇_θ log softmax(θ)[a] -------------------------------------------------------
def _score_cases() -> list[dict]:
    g = torch.Generator().manual_seed(1)
    out = [{"logits": torch.tensor([0.0, 0.0], dtype=F64), "action": 1},
           {"logits": torch.tensor([1.0, 2.0, 3.0], dtype=F64), "action": 0}]
    for k, a in ((4, 2), (5, 4), (3, 1)):
        out.append({"logits": torch.randn(k, generator=g, dtype=F64), "action": a})
    return out


def score_solution(logits: torch.Tensor, action: int) -> torch.Tensor:
    pi = torch.softmax(logits, dim=-1)
    one_hot = torch.zeros_like(logits)
    one_hot[action] = 1.0
    return one_hot - pi


softmax_score = Exercise(
    name="softmax_score",
    title="The score of a softmax policy, ∇_θ log π_θ(a) = onehot(a) − π_θ  (1.8)",
    reference=lambda logits, action: policy_gradient.score(logits[None, :], torch.tensor(0), torch.tensor(action))[0],
    cases=_score_cases,
    solution_fn=score_solution,
    mistakes=(
        Mistake("forgot_minus_pi", "You returned onehot(a) only: differentiating log Σ_b exp θ_b gives the −π term.",
                lambda logits, action: _one_hot(logits, action)),
        Mistake("gradient_of_pi", "That is ∇π(a) = π(a)(onehot(a) − π), the gradient of the probability, not of its "
                                  "log: divide by π(a).",
                lambda logits, action: torch.softmax(logits, -1)[action] * (_one_hot(logits, action)
                                                                           - torch.softmax(logits, -1))),
        Mistake("sign_flipped", "The sign is flipped: raising θ_a raises log π(a), so entry a must be positive.",
                lambda logits, action: torch.softmax(logits, -1) - _one_hot(logits, action)),
    ),
    hints=(
        "log π(a) = θ_a − log Σ_b exp θ_b. Differentiate each term with respect to θ_j.",
        "∂/∂θ_j log Σ_b exp θ_b = exp θ_j / Σ_b exp θ_b = π_j. Build onehot(a) with torch.zeros_like and subtract π.",
    ),
)


# -- Exercise 1.2: the REINFORCE pseudo-loss ---------------------------------------------------
def _loss_cases() -> list[dict]:
    g = torch.Generator().manual_seed(2)
    out = []
    for T, N in ((3, 2), (5, 4), (4, 3)):
        mask = torch.ones(T, N, dtype=torch.bool)
        for n in range(1, N):
            mask[T - n:, n] = False  # episodes of different lengths, padded at the end
        out.append({"log_probs": -torch.rand(T, N, generator=g, dtype=F64) - 0.1,
                    "returns": torch.randn(N, generator=g, dtype=F64) + 0.5, "mask": mask})
    return out


def loss_solution(log_probs: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    n_episodes = log_probs.shape[1]
    per_episode = (log_probs * mask).sum(dim=0)  # Σ_t log π(a_t|s_t) of each episode
    return -(returns * per_episode).sum() / n_episodes


reinforce_loss = Exercise(
    name="reinforce_loss",
    title="The REINFORCE pseudo-loss L = −(1/N) Σ_n R(τ_n) Σ_t log π(a_t|s_t)  (1.11)",
    reference=lambda log_probs, returns, mask: policy_gradient.reinforce_loss(log_probs, returns[None, :].expand_as(
        log_probs), mask),
    cases=_loss_cases,
    solution_fn=loss_solution,
    mistakes=(
        Mistake("sign_flipped", "Sign flipped: optimisers *minimise*, and we want to *maximise* J, so the loss is "
                                "minus the weighted log-probabilities.",
                lambda log_probs, returns, mask: (returns * (log_probs * mask).sum(0)).sum() / log_probs.shape[1]),
        Mistake("missing_mask", "You summed the padded steps too: multiply by `mask` so that only real steps count.",
                lambda log_probs, returns, mask: -(returns * log_probs.sum(0)).sum() / log_probs.shape[1]),
        Mistake("mean_over_steps", "You divided by the number of steps; (1.9) averages over the N *episodes*, "
                                   "each of which sums over its own steps.",
                lambda log_probs, returns, mask: -(returns * (log_probs * mask).sum(0)).sum() / mask.sum()),
    ),
    hints=(
        "Shapes: log_probs and mask are (T, N), returns is (N,). First sum log_probs·mask over time (dim 0).",
        "Multiply each episode's sum by its return, add over episodes, divide by N = log_probs.shape[1], negate.",
    ),
)
