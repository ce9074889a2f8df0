"""Notebook 06's exercises: one TD(0) step and one episode of constant-α Monte Carlo."""

from __future__ import annotations

import torch

from .. import value_learning
from ._core import Exercise, Mistake


# --- Exercise 6.2: a TD(0) step -----------------------------------------------------------------
def _td_cases() -> list[dict]:
    g = torch.Generator().manual_seed(6)
    out = []
    for state, reward, nxt, term, alpha, gamma in ((2, 0.0, 3, False, 0.1, 1.0), (4, 1.0, 3, True, 0.5, 1.0),
                                                   (1, -0.5, 0, False, 0.2, 0.9), (0, 2.0, 0, True, 0.3, 0.8),
                                                   (3, 1.5, 2, False, 0.25, 0.5)):
        out.append({"values": torch.rand(5, generator=g, dtype=torch.float64) + 0.5, "state": state,
                    "reward": reward, "next_state": nxt, "terminated": term, "alpha": alpha, "gamma": gamma})
    return out


def td0_step_solution(values, state, reward, next_state, terminated, alpha, gamma):
    new = values.clone()
    next_value = 0.0 if terminated else values[next_state]
    td_error = reward + gamma * next_value - values[state]
    new[state] = values[state] + alpha * td_error
    return new


def _td_variant(values, state, reward, next_state, terminated, alpha, gamma, *, boot=False, sign=1.0, g=None):
    new = values.clone()
    nv = 0.0 if (terminated and not boot) else values[next_state]
    new[state] = values[state] + sign * alpha * (reward + (gamma if g is None else g) * nv - values[state])
    return new


td0_step = Exercise(
    name="td0_step",
    title="One TD(0) update V(s) ← V(s) + α(r + γV(s') − V(s)), eq. (6.3)",
    reference=value_learning.td0_update,
    cases=_td_cases,
    solution_fn=td0_step_solution,
    mistakes=(
        Mistake("bootstrap_through_termination", "You bootstrapped from a terminal state: after termination there is "
                "no future, the target is just r.", lambda **kw: _td_variant(**kw, boot=True)),
        Mistake("sign_flipped", "You moved V *away* from the target: add α·(target − V), do not subtract it.",
                lambda **kw: _td_variant(**kw, sign=-1.0)),
        Mistake("no_discount", "The next state's value is not discounted: the target is r + γV(s').",
                lambda **kw: _td_variant(**kw, g=1.0)),
    ),
    hints=("The TD target is r + γV(s'), with V(s') replaced by 0 when the episode terminated.",
           "Change only the entry of `state`; copy the table first (values.clone()) and return the copy."),
)


# --- Exercise 6.3: one episode of constant-α Monte Carlo ----------------------------------------
def _mc_cases() -> list[dict]:
    g = torch.Generator().manual_seed(7)
    out = [{"values": torch.full((5,), 0.5, dtype=torch.float64), "states": torch.tensor([2, 3, 4]),
            "rewards": torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64), "alpha": 0.5, "gamma": 1.0}]
    for T, gamma in ((6, 0.9), (8, 1.0), (5, 0.7)):  # random states: revisits included
        out.append({"values": torch.rand(4, generator=g, dtype=torch.float64),
                    "states": torch.randint(0, 4, (T,), generator=g),
                    "rewards": torch.randn(T, generator=g, dtype=torch.float64), "alpha": 0.2, "gamma": gamma})
    return out


def mc_episode_solution(values, states, rewards, alpha, gamma):
    T = len(rewards)
    returns = torch.zeros(T, dtype=torch.float64)
    G = 0.0
    for t in reversed(range(T)):  # G_t = r_t + γ G_{t+1}
        G = rewards[t] + gamma * G
        returns[t] = G
    new = values.clone()
    for t in range(T):  # every visit, in time order
        s = states[t]
        new[s] = new[s] + alpha * (returns[t] - new[s])
    return new


def _mc_variant(values, states, rewards, alpha, gamma, *, target="G_t"):
    T = len(rewards)
    G = torch.zeros(T + 1, dtype=torch.float64)
    for t in reversed(range(T)):
        G[t] = rewards[t] + (1.0 if target == "undiscounted" else gamma) * G[t + 1]
    new = values.clone()
    for t in range(T):
        tgt = {"G_t": G[t], "undiscounted": G[t], "total": G[0], "G_next": G[t + 1]}[target]
        new[states[t]] = new[states[t]] + alpha * (tgt - new[states[t]])
    return new


mc_episode = Exercise(
    name="mc_episode",
    title="Constant-α Monte Carlo over one episode, V(s_t) ← V(s_t) + α(G_t − V(s_t)), eq. (6.2)",
    reference=lambda values, states, rewards, alpha, gamma: value_learning.mc_prediction(
        [(states, rewards)], len(values), alpha, gamma, v0=values)[-1],
    cases=_mc_cases,
    solution_fn=mc_episode_solution,
    mistakes=(
        Mistake("total_return_target", "You used the return of the whole episode for every step: each state's target "
                "is the reward-to-go G_t from *its* step on.", lambda **kw: _mc_variant(**kw, target="total")),
        Mistake("reward_to_go_off_by_one", "Your target starts one step late (G_{t+1}): G_t includes r_t, the reward "
                "of the step out of s_t.", lambda **kw: _mc_variant(**kw, target="G_next")),
        Mistake("no_discount", "Your returns are not discounted: G_t = r_t + γ G_{t+1}.",
                lambda **kw: _mc_variant(**kw, target="undiscounted")),
    ),
    hints=("First compute every G_t backwards: G = r_t + γ·G, starting from G = 0 after the last step.",
           "Then walk forward through the episode and move V(s_t) a step α towards G_t; a state visited twice "
           "is updated twice."),
)


# --- Exercise 6.1: where the error of constant-α TD comes from (bias² + variance over runs) ---------
def _decomposition_cases() -> list[dict]:
    g = torch.Generator().manual_seed(63)
    out = [{"estimates": torch.tensor([[1.0, 2.0], [3.0, 2.0]], dtype=torch.float64),
            "true_values": torch.tensor([1.0, 1.0], dtype=torch.float64)}]
    for runs, states in ((6, 5), (10, 3), (4, 7)):
        true = torch.rand(states, generator=g, dtype=torch.float64)
        offset = 0.2 * torch.randn(states, generator=g, dtype=torch.float64)
        out.append({"estimates": true + offset + 0.1 * torch.randn(runs, states, generator=g, dtype=torch.float64),
                    "true_values": true})
    return out


def decomposition_solution(estimates: torch.Tensor, true_values: torch.Tensor) -> torch.Tensor:
    mean = estimates.mean(0)  # the average estimate over runs, per state
    bias2 = ((mean - true_values) ** 2).mean()
    variance = ((estimates - mean) ** 2).mean()  # population variance over runs, averaged over states
    return torch.stack([bias2, variance])


error_decomposition = Exercise(
    name="error_decomposition",
    title="Mean squared error over runs = bias² + variance, each averaged over states  (6.4)",
    reference=value_learning.error_decomposition,
    cases=_decomposition_cases,
    solution_fn=decomposition_solution,
    mistakes=(
        Mistake("variance_around_true_values", "Your 'variance' is measured around the true V, not around the "
                "runs' average estimate: that is the whole mean squared error (bias² + variance).",
                lambda estimates, true_values: torch.stack([((estimates.mean(0) - true_values) ** 2).mean(),
                                                            ((estimates - true_values) ** 2).mean()])),
        Mistake("bias_averaged_before_squaring", "You averaged the bias over states before squaring it: biases "
                "of opposite sign cancel. Square per state, then average: mean_s (mean_r V̂ − V)².",
                lambda estimates, true_values: torch.stack([(estimates.mean(0) - true_values).mean() ** 2,
                                                            ((estimates - estimates.mean(0)) ** 2).mean()])),
        Mistake("variance_over_states", "You took the variance across *states*: the spread that matters is across "
                "runs (different episodes), per state.",
                lambda estimates, true_values: torch.stack([((estimates.mean(0) - true_values) ** 2).mean(),
                                                            estimates.var(-1, unbiased=False).mean()])),
        Mistake("sample_variance", "You divided by R − 1: with the population variance (divide by R) bias² + "
                "variance adds up to the mean squared error exactly, which is what this split is for.",
                lambda estimates, true_values: torch.stack([((estimates.mean(0) - true_values) ** 2).mean(),
                                                            estimates.var(0, unbiased=True).mean()])),
    ),
    hints=(
        "First the average estimate over runs, per state: estimates.mean(0).",
        "bias² = mean over states of (average − true)²; variance = mean over runs and states of (estimate − average)².",
    ),
)
