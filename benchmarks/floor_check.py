"""How fast eager PyTorch could make the update's minibatch step at best, on this machine.

    .venv/bin/python benchmarks/floor_check.py                          # one agent, BENCH_CONFIG
    .venv/bin/python benchmarks/floor_check.py --config '{"population": 64}'
    .venv/bin/python benchmarks/floor_check.py --repeats 3              # the plumbing only (tests)

Three ways of computing the same thing, the loss (10.3) of one minibatch and its gradient with
respect to every weight, alternated over the same real minibatches of one ``BENCH_CONFIG``
iteration (the step ``compile_check.py`` times):

* **autograd**: what the trainer does, :func:`ppo_edu.train.ppo_loss` and ``loss.backward()``.
* **by hand**: the same gradient derived and written out, with no autograd graph at all: the
  policy term from eq. (5.2g) (:func:`ppo_edu.losses.clipped_surrogate_grad`), through the
  log-softmax (∂ log π(a|s)/∂z = onehot(a) − π(·|s)), then back through each network's layers
  (∂/∂W = xᵀ δ, ∂/∂b = Σ δ, δ ← (δ Wᵀ) ⊙ (1 − h²)). 74 operations, against autograd's 132
  for the forward pass and the backward pass; the script checks that the two gradients agree.
* **arithmetic only**: just the matrix products and the tanh (forward and backward) that any
  program computing this gradient must run, each dispatched once: a floor no rewrite of the
  Python around them can go below.

Prints one JSON line: the median milliseconds of each and the largest gradient difference. A
benchmark, not a test: it measures (``tests/test_benchmarks.py`` runs it at ``--repeats 3``).
The hand-written gradient covers the benchmark's settings only (no value clip, no entropy
bonus, no lab bug) and is a measurement, not a second trainer.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ours import warm_trainer  # noqa: E402
from compile_check import real_minibatches  # noqa: E402

import ppo_edu as pe  # noqa: E402

Tensor = torch.Tensor


def check_supported(cfg: pe.train.PPOConfig) -> None:
    """The hand-written gradient is that of BENCH_CONFIG's loss: refuse anything else, clearly."""
    unsupported = {
        "clip_value": cfg.clip_value is not None,
        "ent_coef": cfg.ent_coef != 0,
        "bug": cfg.bug is not None,
        "norm_adv": not cfg.norm_adv,
    }
    bad = [name for name, on in unsupported.items() if on]
    if bad:
        raise SystemExit(
            f"floor_check.py: the hand-written gradient covers BENCH_CONFIG's loss only (no value clip, no entropy "
            f"bonus, no lab bug, normalised advantages); --config changed {', '.join(bad)}"
        )


def forward(mlp: pe.agents._BatchedMLP, x: Tensor) -> tuple[Tensor, list[Tensor]]:
    """Output and the inputs of every layer (x, h_1, ..., h_L). Shapes: x (P, M, in) → (P, M, out)."""
    inputs = [x, *mlp.hidden(x)]  # the network's own hidden layers
    w_out, b_out = mlp.layers()[-1]
    return torch.baddbmm(b_out, inputs[-1], w_out), inputs


def backward(mlp: pe.agents._BatchedMLP, inputs: list[Tensor], delta: Tensor) -> list[Tensor]:
    """∂loss/∂(every weight and bias), given δ = ∂loss/∂output (P, M, out), in the order of
    ``mlp.parameters()`` (weights, then biases)."""
    layers = mlp.layers()
    g_w, g_b = [None] * len(layers), [None] * len(layers)
    for i in reversed(range(len(layers))):
        x = inputs[i]
        g_w[i] = torch.bmm(x.transpose(1, 2), delta)  # (P, in, out)
        g_b[i] = delta.sum(1, keepdim=True)  # (P, 1, out)
        if i:  # δ for the layer below: through Wᵀ, then through tanh' = 1 − h²
            delta = torch.ops.aten.tanh_backward(torch.bmm(delta, layers[i][0].transpose(1, 2)), x)
    return g_w + g_b


@torch.no_grad()
def grads_by_hand(agent: pe.agents.PopulationActorCritic, mb: pe.train.Batch, cfg: pe.train.PPOConfig) -> list[Tensor]:
    """The gradient of ``ppo_loss(agent, mb, cfg)`` (Σ over members of each member's mean loss),
    in the order of ``agent.parameters()``.

    Shapes: fields of ``mb`` (P, M, ...).
    """
    m = mb.actions.shape[1]
    logits, actor_in = forward(agent.actor, mb.obs)
    value, critic_in = forward(agent.critic, mb.obs)
    logp_all = torch.log_softmax(logits, dim=-1)
    newlogprob = logp_all.gather(-1, mb.actions.unsqueeze(-1)).squeeze(-1)
    ratio = torch.exp(newlogprob - mb.logp)
    adv = pe.train.normalize_per_member(mb.advantages)
    d_logp = pe.losses.clipped_surrogate_grad(ratio, adv, cfg.clip_eps).mul_(-1.0 / m)  # ∂(−mean min(ρÂ, clip ρ Â))/∂ log π
    onehot = torch.nn.functional.one_hot(mb.actions, logits.shape[-1]).to(logits.dtype)
    d_logits = (onehot - logp_all.exp()).mul_(d_logp.unsqueeze(-1))  # ∂ log π(a|s)/∂z = onehot(a) − π(·|s)
    d_value = (value.squeeze(-1) - mb.returns).mul_(cfg.vf_coef / m).unsqueeze(-1)  # ∂(c_V · ½ mean (V − R)²)/∂V
    return backward(agent.actor, actor_in, d_logits) + backward(agent.critic, critic_in, d_value)


@torch.no_grad()
def arithmetic_only(agent: pe.agents.PopulationActorCritic, mb: pe.train.Batch) -> None:
    """Only the matrix products and tanh of the gradient above (forward and backward), each once."""
    for mlp, n_out in ((agent.actor, agent.n_actions), (agent.critic, 1)):
        out, inputs = forward(mlp, mb.obs)
        backward(mlp, inputs, out[..., :n_out])  # δ of the right shape; its values do not change the cost


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="{}", help="JSON overrides of BENCH_CONFIG")
    parser.add_argument("--repeats", type=int, default=200, help="timed steps of each kind")
    args = parser.parse_args()
    trainer = warm_trainer("floor_check.py", "cpu", args.config)
    cfg, agent = trainer.config, trainer.agent
    check_supported(cfg)
    mbs = real_minibatches(trainer)

    def autograd(mb) -> list[Tensor]:
        loss, _seen = pe.train.ppo_loss(agent, mb, cfg)
        agent.zero_grad(set_to_none=True)
        loss.backward()
        return [p.grad for p in agent.parameters()]

    def by_hand(mb) -> list[Tensor]:
        return grads_by_hand(agent, mb, cfg)

    def arithmetic(mb) -> None:
        arithmetic_only(agent, mb)

    with pe.validate.trusted():
        pairs = [(a.clone(), b) for mb in mbs for a, b in zip(autograd(mb), by_hand(mb), strict=True)]
        diff = max((a - b).abs().max().item() for a, b in pairs)
        scale = max(a.abs().max().item() for a, _ in pairs)  # what the difference is small against
        ms: dict[str, list[float]] = {"autograd": [], "by_hand": [], "arithmetic_only": []}
        for i in range(args.repeats + 10):
            for name, fn in (("autograd", autograd), ("by_hand", by_hand), ("arithmetic_only", arithmetic)):
                t = time.perf_counter()
                fn(mbs[i % len(mbs)])
                if i >= 10:  # the first rounds warm caches and the allocator
                    ms[name].append(1000 * (time.perf_counter() - t))
    med = {name: statistics.median(v) for name, v in ms.items()}
    print(json.dumps({
        "torch": torch.__version__, "threads": torch.get_num_threads(), "population": cfg.population,
        "minibatch": tuple(mbs[0].actions.shape), **{f"{k}_ms": round(v, 3) for k, v in med.items()},
        "by_hand_over_autograd": round(med["by_hand"] / med["autograd"], 3),
        "arithmetic_over_autograd": round(med["arithmetic_only"] / med["autograd"], 3),
        "max_abs_grad_diff": diff, "max_abs_grad": scale,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
