"""One benchmark run of a JAX PPO written in PureJaxRL's style (jax + flax + optax + gymnax): one JSON line.

Runs in the peers' own virtual environment (``bash benchmarks/setup_peers.sh`` installs the pins):

    benchmarks/.venv-peers/bin/python benchmarks/bench_jax.py --seed 0                       # PureJaxRL's CartPole defaults
    benchmarks/.venv-peers/bin/python benchmarks/bench_jax.py --seed 0 --preset ppo_edu      # ppo_edu's benchmark settings
    benchmarks/.venv-peers/bin/python benchmarks/bench_jax.py --population 64 --iterations 4 # vmapped population throughput

Written for this benchmark, in the manner of PureJaxRL's ``ppo.py``: the whole PPO iteration
(rollout in gymnax's CartPole, GAE, epochs of minibatch updates) is one function traced by JAX,
iterations are a ``jax.lax.scan``, and XLA compiles it once. The benchmark's protocol needs the
greedy policy every 2048 env steps, so training runs as compiled *chunks* of iterations (a scan
over the iterations between two evaluations) and the host evaluates the parameters between chunks
on gymnasium's CartPole-v1, with the clock paused. The compile time is measured on its own
(``compile_s``), so a run reports both clocks: run only, and with compile (what a learner waits).

Faithful to PureJaxRL, unlike ppo_edu: gymnax's ``done`` is terminated *or* truncated (the
500-step limit), and both cut the bootstrap; episodes auto-reset inside ``env.step``. Imports
nothing from ppo_edu.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple


def _threads_from_argv(argv: list[str]) -> int:
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
        if a.startswith("--threads="):
            return int(a.split("=", 1)[1])
    return 1


# Same thread budget as the torch contestants: XLA's CPU backend sizes its thread pools from the
# CPUs this process may run on, so restrict those (and Eigen's threading) before importing jax.
_THREADS = _threads_from_argv(sys.argv)
if hasattr(os, "sched_setaffinity"):
    _cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, set(_cpus[: max(1, _THREADS)]))
if _THREADS == 1:
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import flax.linen as nn  # noqa: E402
import gymnax  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from flax.linen.initializers import constant, orthogonal  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import BUDGET, EVAL_INTERVAL, SolveClock  # noqa: E402

# PureJaxRL's published CartPole-v1 configuration (purejaxrl/ppo.py), except the budget: every
# contestant trains for the protocol's BUDGET, and the learning rate anneals to 0 over it.
PUREJAXRL = dict(
    num_envs=4, num_steps=128, lr=2.5e-4, anneal_lr=True, epochs=4, num_minibatches=4, gamma=0.99, lam=0.95,
    clip_eps=0.2, clip_value=True, ent_coef=0.01, vf_coef=0.5, max_grad_norm=0.5, hidden=(64, 64), reward_scale=1.0,
)  # fmt: skip
# ppo_edu's benchmark settings (benchmarks/bench_ours.py BENCH_CONFIG) in this implementation: same
# batch shape and update, so the two differ only in how the code runs (and in done handling).
PPO_EDU = {**PUREJAXRL, "num_envs": 32, "num_steps": 32, "lr": 1e-2, "clip_value": False, "ent_coef": 0.0, "reward_scale": 0.1}
PRESETS = {"purejaxrl": PUREJAXRL, "ppo_edu": PPO_EDU}


class ActorCritic(nn.Module):
    """Separate actor and critic MLPs (tanh, orthogonal init; heads with gain 0.01 and 1)."""

    n_actions: int
    hidden: tuple[int, ...] = (64, 64)

    @nn.compact
    def __call__(self, x):
        def mlp(h, n_out, head_gain):
            for width in self.hidden:
                h = nn.tanh(nn.Dense(width, kernel_init=orthogonal(np.sqrt(2)), bias_init=constant(0.0))(h))
            return nn.Dense(n_out, kernel_init=orthogonal(head_gain), bias_init=constant(0.0))(h)

        return mlp(x, self.n_actions, 0.01), mlp(x, 1, 1.0)[..., 0]


class Transition(NamedTuple):
    obs: jnp.ndarray
    action: jnp.ndarray
    logp: jnp.ndarray
    value: jnp.ndarray
    reward: jnp.ndarray
    done: jnp.ndarray


class Runner(NamedTuple):
    """Everything an iteration reads and writes: one pytree that the scans carry."""

    params: Any
    opt_state: Any
    env_state: Any
    obs: jnp.ndarray
    key: jnp.ndarray


def make_ppo(cfg: dict, num_updates: int):
    """Returns (init(key) -> Runner, update(Runner) -> Runner): pure functions for jit/scan/vmap."""
    env, env_params = gymnax.make("CartPole-v1")
    n_actions = env.action_space(env_params).n
    net = ActorCritic(n_actions, tuple(cfg["hidden"]))
    n_envs, n_steps = cfg["num_envs"], cfg["num_steps"]
    batch = n_envs * n_steps
    mb_size = batch // cfg["num_minibatches"]
    grads_per_update = cfg["epochs"] * cfg["num_minibatches"]

    def lr_schedule(count):
        frac = 1.0 - (count // grads_per_update) / num_updates
        return cfg["lr"] * jnp.maximum(frac, 0.0)

    tx = optax.chain(
        optax.clip_by_global_norm(cfg["max_grad_norm"]),
        optax.adam(lr_schedule if cfg["anneal_lr"] else cfg["lr"], eps=1e-5),
    )

    def init(key) -> Runner:
        k_net, k_env, k_run = jax.random.split(key, 3)
        params = net.init(k_net, jnp.zeros(env.observation_space(env_params).shape))
        obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(k_env, n_envs), env_params)
        return Runner(params, tx.init(params), env_state, obs, k_run)

    def env_step(runner: Runner, _):
        key, k_act, k_env = jax.random.split(runner.key, 3)
        logits, value = net.apply(runner.params, runner.obs)
        action = jax.random.categorical(k_act, logits)
        logp = jnp.take_along_axis(jax.nn.log_softmax(logits), action[:, None], axis=-1)[:, 0]
        obs, env_state, reward, done, _ = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
            jax.random.split(k_env, n_envs), runner.env_state, action, env_params
        )
        step = Transition(runner.obs, action, logp, value, reward * cfg["reward_scale"], done.astype(jnp.float32))
        return runner._replace(env_state=env_state, obs=obs, key=key), step

    def gae(traj: Transition, last_value):
        """Â_t = δ_t + γλ(1 − d_t) Â_{t+1}, δ_t = r_t + γ(1 − d_t) V(s_{t+1}) − V(s_t), backwards over T."""

        def back(carry, tr: Transition):
            adv_next, v_next = carry
            not_done = 1.0 - tr.done
            delta = tr.reward + cfg["gamma"] * v_next * not_done - tr.value
            adv = delta + cfg["gamma"] * cfg["lam"] * not_done * adv_next
            return (adv, tr.value), adv

        _, adv = jax.lax.scan(back, (jnp.zeros_like(last_value), last_value), traj, reverse=True)
        return adv, adv + traj.value

    def loss_fn(params, mb: Transition, adv, ret):
        logits, value = net.apply(params, mb.obs)
        logp_all = jax.nn.log_softmax(logits)
        logp = jnp.take_along_axis(logp_all, mb.action[:, None], axis=-1)[:, 0]
        ratio = jnp.exp(logp - mb.logp)
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        eps = cfg["clip_eps"]
        policy_loss = -jnp.minimum(ratio * adv, jnp.clip(ratio, 1.0 - eps, 1.0 + eps) * adv).mean()
        err = jnp.square(value - ret)
        if cfg["clip_value"]:
            v_clipped = mb.value + jnp.clip(value - mb.value, -eps, eps)
            err = jnp.maximum(err, jnp.square(v_clipped - ret))
        value_loss = 0.5 * err.mean()
        entropy = -(jnp.exp(logp_all) * logp_all).sum(-1).mean()
        return policy_loss + cfg["vf_coef"] * value_loss - cfg["ent_coef"] * entropy

    grad_fn = jax.grad(loss_fn)

    def minibatch_step(carry, mb):
        params, opt_state = carry
        traj, adv, ret = mb
        updates, opt_state = tx.update(grad_fn(params, traj, adv, ret), opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), None

    def update(runner: Runner, _=None):
        runner, traj = jax.lax.scan(env_step, runner, None, n_steps)  # (T, N, ...)
        _, last_value = net.apply(runner.params, runner.obs)
        adv, ret = gae(traj, last_value)
        flat = jax.tree_util.tree_map(lambda x: x.reshape((batch,) + x.shape[2:]), (traj, adv, ret))

        def epoch(carry, key):
            perm = jax.random.permutation(key, batch)
            mbs = jax.tree_util.tree_map(lambda x: x[perm].reshape((cfg["num_minibatches"], mb_size) + x.shape[1:]), flat)
            return jax.lax.scan(minibatch_step, carry, mbs)[0], None

        key, k_epochs = jax.random.split(runner.key)
        (params, opt_state), _ = jax.lax.scan(epoch, (runner.params, runner.opt_state), jax.random.split(k_epochs, cfg["epochs"]))
        return runner._replace(params=params, opt_state=opt_state, key=key), None

    def greedy(params, obs):
        return jnp.argmax(net.apply(params, obs)[0], axis=-1)

    return init, update, greedy


def _compile(fn, *example):
    """Ahead-of-time compile ``fn`` for these arguments; returns (compiled, wall s, CPU s)."""
    t, c = time.perf_counter(), time.process_time()
    compiled = jax.jit(fn).lower(*example).compile()
    return compiled, time.perf_counter() - t, time.process_time() - c


def solve_run(args, cfg: dict) -> dict:
    batch = cfg["num_envs"] * cfg["num_steps"]
    num_updates = math.ceil(args.max_steps / batch)  # like ppo_edu: rounded up
    chunk = math.ceil(EVAL_INTERVAL / batch)  # iterations between two evaluations
    n_chunks = math.ceil(num_updates / chunk)
    init, update, greedy = make_ppo(cfg, num_updates)

    def train_chunk(runner):
        return jax.lax.scan(update, runner, None, chunk)[0]

    key = jax.random.PRNGKey(args.seed)
    init_c, init_s, init_cpu = _compile(init, key)
    runner = init_c(key)
    chunk_c, chunk_s, chunk_cpu = _compile(train_chunk, runner)
    greedy_j = jax.jit(greedy)

    def policy(obs):
        return np.asarray(greedy_j(runner.params, jnp.asarray(obs, dtype=jnp.float32)))

    clock = SolveClock()
    clock.start()
    steps = 0
    for _ in range(n_chunks):
        runner = jax.block_until_ready(chunk_c(runner))
        steps += chunk * batch
        clock.checkpoint(steps, policy)
    clock.finish(steps, policy)
    return clock.result(
        f"jax_{args.preset}", args.seed, steps, budget=args.max_steps, device=str(jax.devices()[0]),
        compile_s=init_s + chunk_s, compile_cpu_s=init_cpu + chunk_cpu, chunk_iterations=chunk, config=cfg,
    )  # fmt: skip


def population_run(args, cfg: dict) -> dict:
    """P seeds at once (``jax.vmap`` of the whole iteration), ``--iterations`` iterations in one
    compiled scan: compile time apart, then the run timed on its own."""
    p, k = args.population, args.iterations
    init, update, _ = make_ppo(cfg, num_updates=k)

    def train_k(runner):
        return jax.lax.scan(update, runner, None, k)[0]

    keys = jax.random.split(jax.random.PRNGKey(args.seed), p)
    init_c, init_s, init_cpu = _compile(jax.vmap(init), keys)
    runner = jax.block_until_ready(init_c(keys))
    run_c, run_s, run_cpu = _compile(jax.vmap(train_k), runner)
    t, c = time.perf_counter(), time.process_time()
    runner = jax.block_until_ready(run_c(runner))
    seconds, cpu = time.perf_counter() - t, time.process_time() - c
    steps = k * p * cfg["num_envs"] * cfg["num_steps"]
    return {
        "name": f"jax_{args.preset}", "population": p, "iterations": k, "batch_per_member": cfg["num_envs"] * cfg["num_steps"],
        "env_steps": steps, "seconds": seconds, "cpu_seconds": cpu,
        "compile_s": init_s + run_s, "compile_cpu_s": init_cpu + run_cpu,
        "env_steps_per_s": steps / seconds, "device": str(jax.devices()[0]),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="CPU cores XLA may use (read before jax is imported)")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="purejaxrl")
    parser.add_argument("--max-steps", type=int, default=BUDGET)
    parser.add_argument("--config", default="{}", help="JSON overrides of the preset")
    parser.add_argument("--population", type=int, default=0, help="P > 0: measure vmapped population throughput instead")
    parser.add_argument("--iterations", type=int, default=4, help="iterations of a population run")
    args = parser.parse_args()
    cfg = {**PRESETS[args.preset], **json.loads(args.config)}
    out = population_run(args, cfg) if args.population > 0 else solve_run(args, cfg)
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
