"""One benchmark run of a CleanRL-style single-file PPO (plain torch + gymnasium): one JSON line.

Written for this benchmark in the style of CleanRL's ``ppo.py`` (one file, no framework) with its
published CartPole defaults: 4 sync gymnasium envs, 128 steps, γ 0.99, λ 0.95, 4 epochs of 4
minibatches, lr 2.5e-4 annealed to 0 over the budget (CleanRL's own is 500k steps; the benchmark's
is protocol.BUDGET for every contestant), clip 0.2, entropy 0.01, value 0.5, grad-norm
0.5, 64-64 tanh actor and critic with orthogonal init. It imports nothing from ppo_edu.

    .venv/bin/python benchmarks/bench_cleanrl_style.py --seed 0
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import BUDGET, SolveClock  # noqa: E402

NUM_ENVS, NUM_STEPS = 4, 128
GAMMA, LAM, EPOCHS, MINIBATCHES, LR = 0.99, 0.95, 4, 4, 2.5e-4
CLIP, ENT, VF, MAX_GRAD = 0.2, 0.01, 0.5, 0.5


def layer(n_in: int, n_out: int, gain: float) -> nn.Linear:
    lin = nn.Linear(n_in, n_out)
    nn.init.orthogonal_(lin.weight, gain)
    nn.init.zeros_(lin.bias)
    return lin


class Agent(nn.Module):
    def __init__(self):
        super().__init__()
        g = np.sqrt(2)
        self.critic = nn.Sequential(layer(4, 64, g), nn.Tanh(), layer(64, 64, g), nn.Tanh(), layer(64, 1, 1.0))
        self.actor = nn.Sequential(layer(4, 64, g), nn.Tanh(), layer(64, 64, g), nn.Tanh(), layer(64, 2, 0.01))

    def act(self, x, action=None):
        dist = torch.distributions.Categorical(logits=self.actor(x))
        if action is None:
            action = dist.sample()
        return action, dist.log_prob(action), dist.entropy(), self.critic(x).squeeze(-1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-steps", type=int, default=BUDGET)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    envs = gym.vector.SyncVectorEnv(
        [lambda: gym.make("CartPole-v1") for _ in range(NUM_ENVS)], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
    )
    agent = Agent()
    opt = torch.optim.Adam(agent.parameters(), lr=LR, eps=1e-5)
    obs_buf = torch.zeros(NUM_STEPS, NUM_ENVS, 4)
    act_buf, logp_buf, rew_buf, val_buf = (torch.zeros(NUM_STEPS, NUM_ENVS) for _ in range(4))
    term_buf, trunc_buf, final_v = (torch.zeros(NUM_STEPS, NUM_ENVS) for _ in range(3))

    def policy(o: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return agent.actor(torch.as_tensor(o, dtype=torch.float32)).argmax(-1).numpy()

    obs = torch.as_tensor(envs.reset(seed=args.seed)[0], dtype=torch.float32)
    iterations, steps = -(-args.max_steps // (NUM_ENVS * NUM_STEPS)), 0
    clock = SolveClock()
    clock.start()
    for it in range(iterations):
        opt.param_groups[0]["lr"] = (1.0 - it / iterations) * LR
        for t in range(NUM_STEPS):
            with torch.no_grad():
                a, logp, _, v = agent.act(obs)
            nxt, r, term, trunc, info = envs.step(a.numpy())
            obs_buf[t], act_buf[t], logp_buf[t], val_buf[t] = obs, a, logp, v
            rew_buf[t], term_buf[t], trunc_buf[t] = torch.as_tensor(r), torch.as_tensor(term), torch.as_tensor(trunc)
            final_v[t] = 0.0
            if trunc.any():  # bootstrap truncated episodes from V(final observation)
                idx = np.flatnonzero(trunc & ~term)
                if len(idx):
                    fo = torch.as_tensor(np.stack(info["final_obs"][idx]), dtype=torch.float32)
                    with torch.no_grad():
                        final_v[t, idx] = agent.critic(fo).squeeze(-1)
            obs = torch.as_tensor(nxt, dtype=torch.float32)
        steps += NUM_ENVS * NUM_STEPS
        with torch.no_grad():
            next_v = torch.cat([val_buf[1:], agent.critic(obs).reshape(1, -1)])
            next_v = torch.where(trunc_buf.bool(), final_v, next_v)
            adv, last = torch.zeros_like(rew_buf), torch.zeros(NUM_ENVS)
            for t in reversed(range(NUM_STEPS)):
                delta = rew_buf[t] + GAMMA * next_v[t] * (1 - term_buf[t]) - val_buf[t]
                last = delta + GAMMA * LAM * (1 - torch.maximum(term_buf[t], trunc_buf[t])) * last
                adv[t] = last
            ret = adv + val_buf
        b_obs, b_act, b_logp = obs_buf.reshape(-1, 4), act_buf.reshape(-1), logp_buf.reshape(-1)
        b_adv, b_ret = adv.reshape(-1), ret.reshape(-1)
        size = NUM_ENVS * NUM_STEPS
        mb = size // MINIBATCHES
        for _ in range(EPOCHS):
            perm = torch.randperm(size)
            for start in range(0, size, mb):
                i = perm[start : start + mb]
                _, logp, ent, v = agent.act(b_obs[i], b_act[i].long())
                ratio = (logp - b_logp[i]).exp()
                a = b_adv[i]
                a = (a - a.mean()) / (a.std() + 1e-8)
                pg = torch.max(-a * ratio, -a * ratio.clamp(1 - CLIP, 1 + CLIP)).mean()
                loss = pg - ENT * ent.mean() + VF * 0.5 * ((v - b_ret[i]) ** 2).mean()
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), MAX_GRAD)
                opt.step()
        clock.checkpoint(steps, policy)
    clock.finish(steps, policy)
    print(json.dumps(clock.result("cleanrl_style", args.seed, steps, budget=args.max_steps, device="cpu"), default=str))


if __name__ == "__main__":
    main()
