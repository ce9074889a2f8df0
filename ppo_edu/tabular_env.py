"""A small tabular MDP as an environment you can step by hand: the agent–environment loop.

At every step the agent sees the state s_t and picks an action a_t; the environment answers
with a reward r_t and the next state s_{t+1}, drawn from its tables (notebook 00, §2):

    r_t = r(s_t, a_t),    s_{t+1} ~ P(· | s_t, a_t)

The rows P[s, a, :] of a :class:`~ppo_edu.toy_mdps.TabularMDP` may sum to less than 1; the
missing mass is the probability that the episode **terminates** (there is no next state). An
episode still running after ``max_steps`` steps is **truncated**: it has a future, we just stop
watching. ``step`` follows gymnasium's order, ``(next_state, reward, terminated, truncated)``.

Shapes: one environment, integer states and actions (no batch axis).
"""

from __future__ import annotations

from typing import Any

import torch

from .toy_mdps import TabularMDP


class TabularEnv:
    """One episode at a time of a :class:`~ppo_edu.toy_mdps.TabularMDP`, stepped by hand.

    Args:
        mdp: the tables P, r (``mdp.R``) and the start distribution ν0 (``mdp.mu0``).
        seed: seed of the environment's own generator (start states, transitions).
        max_steps: time limit; the step that reaches it reports ``truncated=True``.

    ``reset()`` returns s_0; ``step(a)`` returns ``(s_next, r, terminated, truncated)`` with
    ``s_next = None`` when the episode terminated. Actions may be given by index or by name
    (``"right"``).
    """

    def __init__(self, mdp: TabularMDP, seed: int = 0, max_steps: int = 100):
        if not isinstance(mdp, TabularMDP):
            raise ValueError(f"mdp: expected a toy_mdps.TabularMDP, got {type(mdp).__name__}")
        if int(max_steps) != max_steps or max_steps < 1:
            raise ValueError(f"max_steps: expected an integer >= 1, got {max_steps!r}")
        self.mdp, self.max_steps = mdp, int(max_steps)
        self.generator = torch.Generator().manual_seed(int(seed))
        self.state: int | None = None
        self.t = 0

    def _action(self, action: Any) -> int:
        names = self.mdp.action_names
        if isinstance(action, str):
            if action not in names:
                raise ValueError(f"action: expected one of {list(names)}, got {action!r}")
            return names.index(action)
        if int(action) != action or not 0 <= int(action) < self.mdp.n_actions:
            raise ValueError(f"action: expected an integer in [0, {self.mdp.n_actions}), got {action!r}")
        return int(action)

    def reset(self) -> int:
        """Start an episode: draw s_0 ~ ν0 and return it."""
        self.state = int(torch.multinomial(self.mdp.mu0, 1, generator=self.generator))
        self.t = 0
        return self.state

    def step(self, action: Any) -> tuple[int | None, float, bool, bool]:
        """Take ``action`` in the current state. Returns (s_next or None, r, terminated, truncated)."""
        if self.state is None:
            raise ValueError("step: the episode is over (or never started); call reset() first")
        s, a = self.state, self._action(action)
        reward = float(self.mdp.R[s, a])
        row = self.mdp.P[s, a]
        probs = torch.cat([row, (1 - row.sum()).clamp_min(0).reshape(1)])  # last entry: the episode ends
        nxt = int(torch.multinomial(probs, 1, generator=self.generator))
        self.t += 1
        terminated = nxt == self.mdp.n_states
        truncated = not terminated and self.t >= self.max_steps
        self.state = None if terminated or truncated else nxt
        return (None if terminated else nxt), reward, terminated, truncated


def run_episode(env: TabularEnv, policy: Any) -> list[tuple[int, int, float]]:
    """Run one episode of ``policy`` (an (S, A) table of probabilities) and return its (s_t, a_t, r_t).

    Shapes:
        policy: (S, A), rows summing to 1;  result: T triples.
    """
    pi = torch.as_tensor(policy, dtype=torch.float64)
    if tuple(pi.shape) != (env.mdp.n_states, env.mdp.n_actions):
        raise ValueError(f"policy: expected shape (S, A) = {(env.mdp.n_states, env.mdp.n_actions)}, "
                         f"got {tuple(pi.shape)}")
    s, steps, done = env.reset(), [], False
    while not done:
        a = int(torch.multinomial(pi[s], 1, generator=env.generator))
        s_next, r, terminated, truncated = env.step(a)
        steps.append((s, a, r))
        s, done = s_next, terminated or truncated
    return steps
