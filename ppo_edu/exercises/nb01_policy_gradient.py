"""Notebook 01's exercises, in reading order: the softmax score ∇log π (1.1), the exact gradient
of a softmax bandit derived by hand (1.2), and the REINFORCE pseudo-loss (1.3)."""

from __future__ import annotations

import torch

from .. import policy_gradient, toy_mdps
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
        "Test your formula by hand before coding it: for logits [0, 0] and action 1 both probabilities are ½; "
        "which two numbers must the score be? (Its entries always sum to zero: why?)",
    ),
)


# -- Exercise 1.3: the REINFORCE pseudo-loss ---------------------------------------------------
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
    grad_args=("log_probs",),  # compared by value and by ∂loss/∂log_probs: a loss without gradient fails
    mistakes=(
        Mistake("sign_flipped", "Sign flipped: optimisers *minimise*, and we want to *maximise* J, so the loss is "
                                "minus the weighted log-probabilities.",
                lambda log_probs, returns, mask: (returns * (log_probs * mask).sum(0)).sum() / log_probs.shape[1]),
        Mistake("missing_mask", "You summed the padded steps too: multiply by `mask` so that only real steps count.",
                lambda log_probs, returns, mask: -(returns * log_probs.sum(0)).sum() / log_probs.shape[1]),
        Mistake("mean_over_steps", "You divided by the number of steps; (1.9) averages over the N *episodes*, "
                                   "each of which sums over its own steps.",
                lambda log_probs, returns, mask: -(returns * (log_probs * mask).sum(0)).sum() / mask.sum()),
        Mistake("divided_by_T", "You divided by T = log_probs.shape[0], the padded number of time steps. The "
                                "tensors are time-major, (T, N): the N episodes are log_probs.shape[1], and (1.11) "
                                "divides by N. Each episode keeps its whole sum over its steps.",
                lambda log_probs, returns, mask: -(returns * (log_probs * mask).sum(0)).sum() / log_probs.shape[0]),
        Mistake("mean_of_all_entries", "You took the mean of all T·N entries (`.mean()` of a (T, N) tensor), which "
                                       "divides by T·N, padded steps included. (1.11) sums each episode over its "
                                       "steps and divides by N = log_probs.shape[1] only.",
                lambda log_probs, returns, mask: -(returns * log_probs * mask).mean()),
    ),
    hints=(
        "Shapes: log_probs and mask are (T, N), returns is (N,). First sum log_probs·mask over time (dim 0).",
        "Multiply each episode's sum by its return, add over episodes, divide by N = log_probs.shape[1], negate. "
        "Use torch operations only (no .item(), float() or .numpy()), so that the loss keeps its gradient.",
    ),
)


# -- Exercise 1.2: the exact gradient of a softmax bandit, derived ------------------------------
def _bandit_cases() -> list[dict]:
    g = torch.Generator().manual_seed(11)
    out = [{"logits": torch.tensor([0.0, 1.0, -1.0], dtype=F64), "rewards": torch.tensor([1.0, 0.0, 2.0], dtype=F64)}]
    for k in (2, 4, 5):
        out.append({"logits": torch.randn(k, generator=g, dtype=F64),
                    "rewards": 1.0 + torch.randn(k, generator=g, dtype=F64)})
    return out


def _bandit_reference(logits: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
    """∇J of a one-step MDP (one state, every action ends the episode): a bandit."""
    k = len(logits)
    mdp = toy_mdps.TabularMDP(torch.zeros(1, k, 1, dtype=F64), rewards[None, :], torch.ones(1, dtype=F64), 0.9)
    return toy_mdps.exact_gradient(mdp, logits[None, :])[0]


def bandit_gradient_solution(logits: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
    pi = torch.softmax(logits, dim=-1)
    J = (pi * rewards).sum()  # J(θ) = Σ_a π(a) r(a)
    return pi * (rewards - J)  # Σ_a π(a) r(a) (onehot(a) − π), entry j: π_j r_j − π_j J


def _pi(logits):
    return torch.softmax(logits, -1)


bandit_gradient = Exercise(
    name="bandit_gradient",
    title="The exact ∇J of a softmax bandit, J(θ) = Σ_a π_θ(a) r(a), derived with (1.7) and (1.8)",
    reference=_bandit_reference,
    cases=_bandit_cases,
    solution_fn=bandit_gradient_solution,
    mistakes=(
        Mistake("forgot_minus_pi", "You kept only the onehot(a) part of the score: raising θ_j also lowers every "
                                   "other π(b), which brings in −π_j Σ_b π(b) r(b) = −π_j J.",
                lambda logits, rewards: _pi(logits) * rewards),
        Mistake("forgot_pi_weight", "The expectation weights each action by its probability: E_a[r(a)∇log π(a)] = "
                                    "Σ_a π(a) r(a) (onehot(a) − π). Entry j carries a factor π_j.",
                lambda logits, rewards: rewards - (_pi(logits) * rewards).sum()),
        Mistake("plain_mean_reward", "You subtracted the plain average of the rewards; the −π term gives "
                                     "J = Σ_b π(b) r(b), the average under the policy.",
                lambda logits, rewards: _pi(logits) * (rewards - rewards.mean())),
        Mistake("sign_flipped", "Sign flipped: an action better than average (r_j > J) must get a positive entry.",
                lambda logits, rewards: _pi(logits) * ((_pi(logits) * rewards).sum() - rewards)),
    ),
    hints=(
        "One step, one action: the episode's return is r(a) and ∇log p(τ) = ∇log π(a) = onehot(a) − π by (1.8). "
        "Write ∇J = Σ_a π(a) r(a) (onehot(a) − π) and look at entry j.",
        "Entry j has two parts: the term a = j of the onehot, and −π_j times a sum over all a. What is that sum?",
    ),
)
