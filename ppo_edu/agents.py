"""Actor-critic networks for discrete actions: one agent, or a population trained side by side.

The **actor** maps an observation to logits z(s) of a categorical policy

    π_θ(a|s) = softmax(z(s))_a                                                      (8.1)

and the **critic** maps it to a scalar V_φ(s). They are two separate MLPs (no shared trunk):
with a shared trunk the value loss and the policy loss pull on the same features and need a
weighting; separate networks are the robust default for small control tasks.

Initialisation (as in the PPO implementations that reproduce the paper's numbers): every
weight matrix orthogonal, biases 0, gain √2 for the hidden layers (tanh), **0.01** for the
policy head (so the first policy is nearly uniform and the first ratio updates are gentle) and
**1.0** for the value head.

Two classes share one interface (``logits``, ``value``, ``get_action_and_value``, ``act``,
``clip_grad_norm_``):

* :class:`ActorCritic` - ``nn.Linear`` layers; observations of shape (..., O).
* :class:`PopulationActorCritic` - P independent agents whose weights are stacked into
  (P, in, out) tensors and applied with one batched matmul (``torch.baddbmm``), so P seeds
  train at once on one device. Observations (P, B, O). Member p is exactly the
  :class:`ActorCritic` returned by :meth:`PopulationActorCritic.member`.

Shapes: O observation size, A number of actions, H hidden width, B batch, P population.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .validate import check_int

Tensor = torch.Tensor

HIDDEN_GAIN = math.sqrt(2.0)
POLICY_GAIN = 0.01
VALUE_GAIN = 1.0


def _check_sizes(obs_dim: int, n_actions: int, hidden: Sequence[int]) -> tuple[int, ...]:
    check_int("obs_dim", obs_dim)
    check_int("n_actions", n_actions)
    hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
    if not hidden or any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden):
        raise ValueError(f"hidden: expected a positive integer or a non-empty sequence of them, got {hidden!r}")
    return hidden


def log_neg_log_uniform(shape: Sequence[int], generator: torch.Generator | None, device=None, dtype=torch.float32) -> Tensor:
    """log(−log U) for U ~ Uniform(0, 1): minus Gumbel noise, G = −log(−log U).

    Drawn for many steps at once (a rollout draws all its steps' noise in one call: the same
    numbers from the same CPU generator as one call per step, in fewer operations).

    Shapes: result ``shape``.
    """
    u = torch.rand(tuple(shape), generator=generator, device=device, dtype=dtype)
    return torch.log(-torch.log(u.clamp_(min=torch.finfo(dtype).tiny)))


def _gumbel_sample(logits: Tensor, generator: torch.Generator | None, noise: Tensor | None = None) -> Tensor:
    """Draw a ~ softmax(logits) by the Gumbel-max trick: argmax(z + G), G = −log(−log U).

    ``noise``: log(−log U) of the shape of ``logits``, drawn beforehand (:func:`log_neg_log_uniform`).
    """
    if noise is None:
        noise = log_neg_log_uniform(logits.shape, generator, logits.device, logits.dtype)
    return torch.argmax(logits - noise, dim=-1)


def _logp_entropy(logits: Tensor, action: Tensor) -> tuple[Tensor, Tensor]:
    logp_all = torch.log_softmax(logits, dim=-1)
    logp = logp_all.gather(-1, action.long().unsqueeze(-1)).squeeze(-1)
    entropy = -(logp_all.exp() * logp_all).sum(-1)
    return logp, entropy


class _Interface:
    """What both agents share: sampling, log-probabilities and entropies from ``logits``."""

    def get_action_and_value(
        self, obs: Tensor, action: Tensor | None = None, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Sample (or score the given) actions: returns ``(action, log π(a|s), entropy, V(s))``.

        Shapes:
            obs (..., O);  action and every result (...).
        """
        logits = self.logits(obs)
        if action is None:
            action = _gumbel_sample(logits, generator)
        logp, entropy = _logp_entropy(logits, action)
        return action, logp, entropy, self.value(obs)

    def sample(
        self, obs: Tensor, generator: torch.Generator | None = None, noise: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Actions drawn from π(·|s) and their log-probabilities (no critic: what a rollout needs).

        ``noise``: log(−log U) drawn beforehand (:func:`log_neg_log_uniform`), else drawn here from ``generator``.

        Shapes:
            obs (..., O);  noise (..., A);  results (...).
        """
        logits = self.logits(obs)
        if noise is not None and noise.shape != logits.shape:
            raise ValueError(f"noise: expected the logits' shape {tuple(logits.shape)}, got {tuple(noise.shape)}")
        action = _gumbel_sample(logits, generator, noise)
        logp = torch.log_softmax(logits, dim=-1).gather(-1, action.unsqueeze(-1)).squeeze(-1)
        return action, logp

    @torch.no_grad()
    def hidden_activations(self, obs: Tensor) -> dict[str, Tensor]:
        """The tanh outputs of every hidden layer, side by side, for the actor and the critic.

        A unit with |h| near 1 is saturated: tanh'(·) = 1 − h² ≈ 0 passes almost no gradient.

        Shapes: obs (..., O) → each entry (..., sum(hidden)).
        """
        return {name: torch.cat(hs, dim=-1) for name, hs in self.hidden_layers(obs).items()}

    @torch.no_grad()
    def saturation(self, obs: Tensor, threshold: float = 0.99) -> dict[str, Tensor]:
        """Share of the hidden tanh units with |h| > ``threshold`` on ``obs``, actor and critic.

        The same number as the share over :meth:`hidden_activations`, counted layer by layer
        (no concatenated copy of every activation: that copy dominated a large population's update).

        Shapes: obs (..., O) → each entry ().
        """
        return {
            name: sum((h.abs() > threshold).sum() for h in hs) / sum(h.numel() for h in hs)
            for name, hs in self.hidden_layers(obs).items()
        }

    @torch.no_grad()
    def act(self, obs: Tensor, deterministic: bool = True, generator: torch.Generator | None = None) -> Tensor:
        """The greedy action argmax_a π(a|s) (``deterministic``) or a sample; no gradient.

        Shapes:
            obs (..., O);  result (...), int64.
        """
        logits = self.logits(obs)
        return torch.argmax(logits, dim=-1) if deterministic else _gumbel_sample(logits, generator)


class ActorCritic(nn.Module, _Interface):
    """Separate actor and critic MLPs with tanh activations and orthogonal initialisation.

    Args:
        obs_dim: O.  n_actions: A.  hidden: width H of each hidden layer, or a tuple of widths.

    Shapes:
        obs (..., O) → logits (..., A), value (...).
    """

    def __init__(self, obs_dim: int, n_actions: int, hidden: int | Sequence[int] = (64, 64)):
        super().__init__()
        hidden = _check_sizes(obs_dim, n_actions, hidden)
        self.obs_dim, self.n_actions, self.hidden = obs_dim, n_actions, hidden
        self.actor = self._mlp(obs_dim, hidden, n_actions, POLICY_GAIN)
        self.critic = self._mlp(obs_dim, hidden, 1, VALUE_GAIN)

    @staticmethod
    def _mlp(n_in: int, hidden: tuple[int, ...], n_out: int, head_gain: float) -> nn.Sequential:
        sizes = (n_in, *hidden, n_out)
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=False)):
            lin = nn.Linear(a, b)
            nn.init.orthogonal_(lin.weight, gain=head_gain if i == len(sizes) - 2 else HIDDEN_GAIN)
            nn.init.zeros_(lin.bias)
            layers += [lin, nn.Tanh()] if i < len(sizes) - 2 else [lin]
        return nn.Sequential(*layers)

    def logits(self, obs: Tensor) -> Tensor:
        """z(s): the actor's unnormalised log-probabilities. Shapes: (..., O) → (..., A)."""
        return self.actor(obs)

    def value(self, obs: Tensor) -> Tensor:
        """V(s): the critic's estimate. Shapes: (..., O) → (...)."""
        return self.critic(obs).squeeze(-1)

    @torch.no_grad()
    def hidden_layers(self, obs: Tensor) -> dict[str, list[Tensor]]:
        """The tanh outputs of each hidden layer, for the actor and the critic.

        Shapes: obs (..., O) → each entry a list of (..., H_l), one per hidden layer.
        """
        out = {}
        for name, net in (("actor", self.actor), ("critic", self.critic)):
            x, hs = obs, []
            for layer in net:
                x = layer(x)
                if isinstance(layer, nn.Tanh):
                    hs.append(x)
            out[name] = hs
        return out

    def clip_grad_norm_(self, max_norm: float) -> Tensor:
        """Rescale all gradients together so their global L2 norm is at most ``max_norm``; returns
        the norm before clipping, shape (1,) (one agent)."""
        return torch.nn.utils.clip_grad_norm_(self.parameters(), max_norm).reshape(1)


class _BatchedMLP(nn.Module):
    """P independent MLPs applied at once: x (P, B, in) → (P, B, out) via ``baddbmm``."""

    def __init__(self, population: int, sizes: tuple[int, ...], head_gain: float, generator: torch.Generator | None):
        super().__init__()
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=False)):
            gain = head_gain if i == len(sizes) - 2 else HIDDEN_GAIN
            w = torch.empty(population, b, a)
            for p in range(population):
                nn.init.orthogonal_(w[p], gain=gain, generator=generator)
            self.weights.append(nn.Parameter(w.transpose(1, 2).contiguous()))  # (P, in, out)
            self.biases.append(nn.Parameter(torch.zeros(population, 1, b)))

    def layers(self) -> list[tuple[Tensor, Tensor]]:
        """(weight (P, in, out), bias (P, 1, out)) of every layer, in order.

        Read from the lists' parameter dictionaries: iterating a ParameterList item by item costs
        more than the small matmuls themselves (tens of µs per forward, measured).
        """
        return list(zip(self.weights._parameters.values(), self.biases._parameters.values(), strict=True))

    def hidden(self, x: Tensor) -> list[Tensor]:
        """The tanh outputs of each hidden layer: (P, B, in) → a list of (P, B, H_l)."""
        hs = []
        for w, b in self.layers()[:-1]:
            x = torch.tanh(torch.baddbmm(b, x, w))
            hs.append(x)
        return hs

    def forward(self, x: Tensor) -> Tensor:
        *hidden, (w_out, b_out) = self.layers()
        for w, b in hidden:
            x = torch.tanh(torch.baddbmm(b, x, w))
        return torch.baddbmm(b_out, x, w_out)


class PopulationActorCritic(nn.Module, _Interface):
    """P independent :class:`ActorCritic` agents with stacked weights, evaluated by batched matmuls.

    The members share nothing: gradients of a sum of per-member losses are the per-member
    gradients, Adam's moments are element-wise, and :meth:`clip_grad_norm_` clips each member
    separately, so training P members together gives each one the update it would get alone.

    Args:
        population: P.  obs_dim: O.  n_actions: A.  hidden: as in :class:`ActorCritic`.
        generator: optional CPU generator for the orthogonal initialisation.

    Shapes:
        obs (P, B, O) → logits (P, B, A), value (P, B).
    """

    def __init__(
        self,
        population: int,
        obs_dim: int,
        n_actions: int,
        hidden: int | Sequence[int] = (64, 64),
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        hidden = _check_sizes(obs_dim, n_actions, hidden)
        check_int("population", population)
        self.population, self.obs_dim, self.n_actions, self.hidden = population, obs_dim, n_actions, hidden
        self.actor = _BatchedMLP(population, (obs_dim, *hidden, n_actions), POLICY_GAIN, generator)
        self.critic = _BatchedMLP(population, (obs_dim, *hidden, 1), VALUE_GAIN, generator)

    def _check(self, obs: Tensor) -> Tensor:
        if obs.ndim != 3 or obs.shape[0] != self.population or obs.shape[2] != self.obs_dim:
            raise ValueError(f"obs: expected shape (P={self.population}, B, O={self.obs_dim}), got {tuple(obs.shape)}")
        return obs

    def logits(self, obs: Tensor) -> Tensor:
        """z(s) for every member. Shapes: (P, B, O) → (P, B, A)."""
        return self.actor(self._check(obs))

    def value(self, obs: Tensor) -> Tensor:
        """V(s) for every member. Shapes: (P, B, O) → (P, B)."""
        return self.critic(self._check(obs)).squeeze(-1)

    @torch.no_grad()
    def hidden_layers(self, obs: Tensor) -> dict[str, list[Tensor]]:
        """As :meth:`ActorCritic.hidden_layers`, per member. Shapes: (P, B, O) → each a list of (P, B, H_l)."""
        return {"actor": self.actor.hidden(self._check(obs)), "critic": self.critic.hidden(self._check(obs))}

    def clip_grad_norm_(self, max_norm: float) -> Tensor:
        """Clip each member's gradient to global L2 norm ≤ ``max_norm`` separately.

        Returns the per-member norms before clipping, shape (P,).
        """
        grads = [p.grad for p in self.parameters() if p.grad is not None]
        if not grads:
            return torch.zeros(self.population)
        if self.population == 1:  # torch.nn.utils.clip_grad_norm_'s arithmetic, without its per-call bookkeeping
            norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
            torch._foreach_mul_(grads, (max_norm / (norm + 1e-6)).clamp(max=1.0))
            return norm.reshape(1)
        sq = torch.stack([g.reshape(self.population, -1).pow(2).sum(1) for g in grads]).sum(0)
        norms = sq.sqrt()
        scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale.view(-1, *([1] * (g.ndim - 1))))
        return norms

    @torch.no_grad()
    def member(self, index: int) -> ActorCritic:
        """Member ``index`` as a stand-alone :class:`ActorCritic` (a copy, on the same device)."""
        if not 0 <= index < self.population:
            raise ValueError(f"index: expected an integer in [0, {self.population}), got {index!r}")
        agent = ActorCritic(self.obs_dim, self.n_actions, self.hidden).to(self.actor.weights[0].device)
        for batched, seq in ((self.actor, agent.actor), (self.critic, agent.critic)):
            linears = [m for m in seq if isinstance(m, nn.Linear)]
            for lin, w, b in zip(linears, batched.weights, batched.biases, strict=False):
                lin.weight.copy_(w[index].T)
                lin.bias.copy_(b[index, 0])
        return agent

    @torch.no_grad()
    def load_member(self, index: int, agent: ActorCritic) -> None:
        """Copy the weights of a stand-alone :class:`ActorCritic` into member ``index``."""
        for batched, seq in ((self.actor, agent.actor), (self.critic, agent.critic)):
            linears = [m for m in seq if isinstance(m, nn.Linear)]
            for lin, w, b in zip(linears, batched.weights, batched.biases, strict=False):
                w[index].copy_(lin.weight.T)
                b[index, 0].copy_(lin.bias)
