"""The PPO trainer: config, advantages with truncation, the update, population, checkpoints, determinism."""

import ast
import inspect
import math

import numpy as np
import pytest
import torch

import ppo_edu as pe
from ppo_edu.agents import ActorCritic, PopulationActorCritic
from ppo_edu.train import Batch, PPOConfig, Rollout, Trainer, TrainingDivergedError

SMALL = dict(total_steps=4096, num_envs=8, num_steps=16, epochs=2, num_minibatches=2, hidden=(16, 16), device="cpu")


def _params(trainer):
    return [p.detach().clone() for p in trainer.agent.parameters()]


# -- config ------------------------------------------------------------------------------------


def test_every_config_field_has_a_docstring():
    tree = ast.parse(inspect.getsource(PPOConfig))
    body = tree.body[0].body
    fields = [s.target.id for s in body if isinstance(s, ast.AnnAssign)]
    documented = {
        s.target.id
        for s, nxt in zip(body, body[1:], strict=False)
        if isinstance(s, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
    }
    assert set(fields) == {f.name for f in pe.train.dataclasses.fields(PPOConfig)}
    assert documented == set(fields)


@pytest.mark.parametrize(
    "changes, match",
    [
        (dict(gamma=1.5), "gamma"),
        (dict(lam=-0.1), "lam"),
        (dict(clip_eps=0.0), "clip_eps"),
        (dict(num_envs=0), "num_envs"),
        (dict(num_envs=6, num_steps=5, num_minibatches=4), "num_minibatches"),
        (dict(env_backend="jax"), "env_backend"),
        (dict(clip_value=-1.0), "clip_value"),
        (dict(seed=-1), "seed"),
    ],
)
def test_config_rejects_bad_values(changes, match):
    with pytest.raises(ValueError, match=match):
        PPOConfig(**changes)


def test_config_is_frozen():
    cfg = PPOConfig()
    with pytest.raises(pe.train.dataclasses.FrozenInstanceError):
        cfg.lr = 1.0
    assert cfg.replace(lr=1.0).lr == 1.0 and cfg.lr != 1.0
    assert PPOConfig(num_envs=8, num_steps=16, total_steps=1000).num_iterations == math.ceil(1000 / 128)


def test_member_layout_round_trip():
    x = torch.arange(3 * 2 * 4).reshape(3, 8)  # T=3, P=2, N=4: column p*4+n
    m = pe.train.to_members(x, 2)
    assert m.shape == (2, 12)
    assert m[1].tolist() == [4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23]  # member 1: columns 4..7 at every t
    assert torch.equal(pe.train.from_members(m, 3), x)


# -- advantages with terminations and truncations -----------------------------------------------


def _naive_gae(r, v, v_last, v_final, term, trunc, gamma, lam):
    """Reference: a plain loop per environment, bootstrapping truncations from V(final obs)."""
    t_len, n = r.shape
    adv = np.zeros((t_len, n))
    for j in range(n):
        running = 0.0
        for t in reversed(range(t_len)):
            if term[t, j]:
                nxt = 0.0
            elif trunc[t, j]:
                nxt = v_final[t, j]
            else:
                nxt = v[t + 1, j] if t + 1 < t_len else v_last[j]
            delta = r[t, j] + gamma * nxt - v[t, j]
            carry = 0.0 if (term[t, j] or trunc[t, j]) else running
            running = delta + gamma * lam * carry
            adv[t, j] = running
    return adv


def test_compute_advantages_matches_a_naive_loop_with_truncation():
    torch.manual_seed(0)
    t_len, p, n = 6, 2, 3
    agent = PopulationActorCritic(p, 4, 2, 8, generator=torch.Generator().manual_seed(0))
    ro = Rollout.empty(t_len, p * n, 4, torch.device("cpu"))
    ro.obs.normal_()
    ro.final_obs.normal_()
    ro.rewards.uniform_(0, 2)
    ro.terminated[1, 0] = ro.terminated[4, 3] = True
    ro.truncated[2, 1] = ro.truncated[5, 4] = ro.truncated[3, 5] = True
    ro.terminated[3, 5] = True  # both flags: terminated wins, no bootstrap
    last_obs = torch.randn(p * n, 4)
    adv, ret, values = pe.train.compute_advantages(agent, ro, last_obs, 0.9, 0.8)
    with torch.no_grad():
        v = pe.train.from_members(agent.value(pe.train.to_members(ro.obs, p)), t_len).numpy()
        v_final = pe.train.from_members(agent.value(pe.train.to_members(ro.final_obs, p)), t_len).numpy()
        v_last = agent.value(last_obs.view(p, n, 4)).reshape(-1).numpy()
    expected = _naive_gae(ro.rewards.numpy(), v, v_last, v_final, ro.terminated.numpy(), ro.truncated.numpy(), 0.9, 0.8)
    np.testing.assert_allclose(adv.numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(values.numpy(), v, rtol=1e-6)
    np.testing.assert_allclose(ret.numpy(), expected + v, rtol=1e-5, atol=1e-6)


# -- the update ---------------------------------------------------------------------------------


def _cfg(**changes):
    """A config for ppo_update alone (the rollout fields are irrelevant there)."""
    return PPOConfig(**{"num_envs": 4, "num_steps": 4, **changes})


def _batch(p, b, seed=0, single=False):
    g = torch.Generator().manual_seed(seed)
    obs = torch.randn(p, b, 4, generator=g)
    return obs, torch.randint(0, 2, (p, b), generator=g), torch.randn(p, b, generator=g), torch.randn(p, b, generator=g)


def _batch_for(agent, obs, actions, adv, ret):
    with torch.no_grad():
        _, logp, _, values = agent.get_action_and_value(obs, actions)
    return Batch(obs, actions, logp, adv, ret, values)


def test_first_minibatch_ratio_is_exactly_one_and_diagnostics_are_sane():
    agent = ActorCritic(4, 2, 16)
    obs, actions, adv, ret = (x[0] for x in _batch(1, 64))
    opt = torch.optim.Adam(agent.parameters(), lr=1e-2)
    d = pe.train.ppo_update(agent, opt, _batch_for(agent, obs, actions, adv, ret), _cfg(epochs=4, num_minibatches=4))
    assert d["first_ratio_max_dev"] == 0.0
    assert d["approx_kl_k3"] >= 0.0 and 0.0 <= d["clip_fraction"] <= 1.0
    assert d["approx_kl_k3"] > 0.0  # the policy did move
    assert 0.0 < d["entropy"] <= math.log(2) + 1e-6


def test_wrong_old_logp_shows_up_in_the_first_ratio():
    agent = ActorCritic(4, 2, 16)
    obs, actions, adv, ret = (x[0] for x in _batch(1, 32))
    b = _batch_for(agent, obs, actions, adv, ret)
    b.logp = b.logp + 0.1  # stale / wrong log π_old
    d = pe.train.ppo_update(agent, torch.optim.SGD(agent.parameters(), lr=0.0), b, _cfg(epochs=1, num_minibatches=1))
    assert d["first_ratio_max_dev"] == pytest.approx(1.0 - math.exp(-0.1), rel=1e-4)


def test_population_update_equals_each_member_trained_alone():
    """One epoch, one minibatch: shuffling cannot matter, so member p of the population must end
    exactly where an ActorCritic with its weights ends after the same update on its own data."""
    p, b = 3, 32
    pop = PopulationActorCritic(p, 4, 2, 16, generator=torch.Generator().manual_seed(5))
    solos = [pop.member(i) for i in range(p)]
    obs, actions, adv, ret = _batch(p, b, seed=1)
    adv[1] *= 50.0  # member 1's gradient gets clipped, the others' do not
    cfg = _cfg(epochs=1, num_minibatches=1, max_grad_norm=0.5, clip_value=0.2, ent_coef=0.01)
    pe.train.ppo_update(pop, torch.optim.Adam(pop.parameters(), lr=1e-2), _batch_for(pop, obs, actions, adv, ret), cfg)
    for i, solo in enumerate(solos):
        sb = _batch_for(solo, obs[i], actions[i], adv[i], ret[i])
        pe.train.ppo_update(solo, torch.optim.Adam(solo.parameters(), lr=1e-2), sb, cfg)
        after = pop.member(i)
        for a, s in zip(after.parameters(), solo.parameters(), strict=False):
            torch.testing.assert_close(a, s, rtol=1e-4, atol=1e-6)


def test_per_member_helpers_match_the_course_functions():
    a = torch.randn(3, 40)
    norm = pe.train.normalize_per_member(a)
    for i in range(3):
        torch.testing.assert_close(norm[i], pe.advantages.normalize(a[i]))
    v, r = torch.randn(3, 40), torch.randn(3, 40)
    ev = pe.train.explained_variance_per_member(v, r)
    for i in range(3):
        torch.testing.assert_close(ev[i], pe.losses.explained_variance(v[i], r[i]))


def test_nan_weights_stop_training_with_a_clear_error():
    agent = ActorCritic(4, 2, 8)
    obs, actions, adv, ret = (x[0] for x in _batch(1, 16))
    b = _batch_for(agent, obs, actions, adv, ret)
    with torch.no_grad():
        agent.actor[0].weight[0, 0] = float("nan")
    with pytest.raises(TrainingDivergedError, match="logits is not finite"):
        pe.train.ppo_update(agent, torch.optim.Adam(agent.parameters()), b, _cfg(epochs=1, num_minibatches=1))


def test_inf_learning_rate_stops_the_trainer_with_iteration_number():
    tr = Trainer(PPOConfig(**SMALL, lr=1e30, max_grad_norm=1e30, anneal_lr=False))
    with pytest.raises(TrainingDivergedError, match=r"iteration \d+: ppo_update epoch \d+ minibatch \d+: .* not finite"):
        tr.train(iterations=5, progress=False)


def test_bad_batch_shapes_raise():
    agent = PopulationActorCritic(2, 4, 2, 8)
    obs, actions, adv, ret = _batch(2, 16)
    b = _batch_for(agent, obs, actions, adv, ret)
    b.returns = b.returns[:, :8]
    with pytest.raises(ValueError, match="batch: expected obs"):
        pe.train.ppo_update(agent, torch.optim.Adam(agent.parameters()), b, _cfg())
    b = _batch_for(agent, obs, actions, adv, ret)
    with pytest.raises(ValueError, match="num_minibatches: expected a positive integer, got 0"):
        pe.train.ppo_update(agent, torch.optim.Adam(agent.parameters()), b, _cfg(num_minibatches=0))
    with pytest.raises(ValueError, match="num_minibatches: expected a divisor of the batch size 16, got 3"):
        pe.train.ppo_update(agent, torch.optim.Adam(agent.parameters()), b, _cfg(num_envs=3, num_minibatches=3))


# -- the trainer --------------------------------------------------------------------------------


def test_same_seed_same_run_on_cpu_and_another_seed_differs():
    a, b, c = (Trainer(PPOConfig(**SMALL, seed=s)) for s in (7, 7, 8))
    for tr in (a, b, c):
        tr.train(iterations=3, progress=False)
    for x, y in zip(_params(a), _params(b), strict=False):
        assert torch.equal(x, y)
    assert [s.diagnostics for s in a.history] == [s.diagnostics for s in b.history]
    assert not all(torch.equal(x, y) for x, y in zip(_params(a), _params(c), strict=False))


def test_checkpoint_resume_continues_the_same_run(tmp_path):
    cfg = PPOConfig(**SMALL, seed=3, population=2)
    straight = Trainer(cfg)
    straight.train(iterations=4, progress=False)
    first = Trainer(cfg)
    first.train(iterations=2, progress=False)
    path = first.save(tmp_path / "ckpt.pt")
    resumed = Trainer.load(path)
    assert resumed.iterations_done == 2 and len(resumed.history) == 2
    resumed.train(iterations=2, progress=False)
    for x, y in zip(_params(straight), _params(resumed), strict=False):
        assert torch.equal(x, y)
    assert [s.diagnostics for s in straight.history] == [s.diagnostics for s in resumed.history]
    assert torch.equal(straight.obs, resumed.obs)
    # the optimizer's learning rate continued its annealing from where it stopped
    assert resumed.optimizer.param_groups[0]["lr"] == straight.optimizer.param_groups[0]["lr"]


def test_rollouts_from_gymnasium_vector_env_bootstrap_truncations():
    """The trainer collects from gymnasium's CartPole-v1 vector env too; with a 10-step time limit
    every truncated row stores the real final observation, not the next episode's first one."""
    cfg = PPOConfig(**{**SMALL, "num_envs": 4}, env_backend="gymnasium")
    import gymnasium as gym
    from gymnasium.vector import AutoresetMode

    env = pe.envs.GymVectorCartPole(4, seed=0)
    env.env = gym.make_vec(
        "CartPole-v1", num_envs=4, vectorization_mode="sync", max_episode_steps=10,
        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
    )  # fmt: skip
    tr = Trainer(cfg, env=env)
    tr.iteration()
    ro = tr.rollout
    assert bool(ro.truncated.any())
    t, e = torch.nonzero(ro.truncated & ~ro.terminated)[0].tolist()
    if t + 1 < cfg.num_steps:
        assert not torch.allclose(ro.final_obs[t, e], ro.obs[t + 1, e])  # next row is a fresh episode
        assert float(ro.obs[t + 1, e].abs().max()) < 0.05
    expected = pe.envs.cartpole_dynamics(ro.obs[t, e : e + 1].double(), ro.actions[t, e : e + 1]).float()[0]
    torch.testing.assert_close(ro.final_obs[t, e], expected, rtol=1e-4, atol=1e-4)


def test_evaluate_matches_a_plain_gymnasium_loop():
    import gymnasium as gym

    def always_right(obs):
        return np.ones(len(obs), dtype=np.int64)

    got = pe.train.evaluate(always_right, episodes=10, seed=50)
    expected = []
    for i in range(10):
        env = gym.make("CartPole-v1")
        env.reset(seed=50 + i)
        total, done = 0.0, False
        while not done:
            _, r, term, trunc, _ = env.step(1)
            total += r
            done = term or trunc
        expected.append(total)
    np.testing.assert_array_equal(got, expected)


def test_evaluate_population_shape_and_member_agreement():
    pop = PopulationActorCritic(2, 4, 2, 8, generator=torch.Generator().manual_seed(0))
    both = pe.train.evaluate(pop, episodes=10, seed=3)
    assert both.shape == (2, 10)
    np.testing.assert_array_equal(both[1], pe.train.evaluate(pop.member(1), episodes=10, seed=3))


def test_a_short_run_learns():
    """40k steps on CPU: the deterministic policy goes from falling within ~10 steps to balancing far longer."""
    cfg = PPOConfig(total_steps=40_000, device="cpu", seed=0)
    tr = Trainer(cfg)
    before = pe.train.evaluate(tr.agent.member(0), episodes=10).mean()
    tr.train(progress=False)
    after = pe.train.evaluate(tr.agent.member(0), episodes=10).mean()
    assert before < 50 and after > 100
    steps, curves = tr.learning_curves()
    assert curves.shape == (1, cfg.num_iterations) and steps[-1] == cfg.num_iterations * cfg.batch_size


def test_cli_train_runs_and_saves(tmp_path):
    from ppo_edu.__main__ import main

    out = tmp_path / "run.pt"
    code = main(["train", "--total-steps", "2048", "--num-envs", "8", "--device", "cpu", "--no-progress",
                 "--eval-episodes", "10", "--save", str(out)])  # fmt: skip
    assert code == 0 and out.exists()
    assert Trainer.load(out).iterations_done == 2048 // (8 * PPOConfig().num_steps)


def test_progress_bar_and_automatic_device(capsys):
    tr = Trainer(PPOConfig(**{**SMALL, "device": "auto"}))
    assert tr.device == pe.get_device("auto")
    assert tr.rollout.obs.device.type == tr.device.type and next(tr.agent.parameters()).device.type == tr.device.type
    tr.train(iterations=2, progress=True)
    err = capsys.readouterr().err
    assert f"PPO on {tr.device}" in err and "2/" in err


def test_cli_resume_continues_to_the_saved_budget(tmp_path, capsys):
    from ppo_edu.__main__ import main

    cfg = PPOConfig(**SMALL, seed=1)
    half = Trainer(cfg)
    half.train(iterations=cfg.num_iterations // 2, progress=False)
    path = half.save(tmp_path / "half.pt")
    assert main(["train", "--resume", str(path), "--no-progress", "--save", str(path)]) == 0
    assert f"iteration {cfg.num_iterations} of {cfg.num_iterations}" in capsys.readouterr().out
    straight = Trainer(cfg)
    straight.train(progress=False)
    for x, y in zip(_params(straight), _params(Trainer.load(path)), strict=True):
        assert torch.equal(x, y)


def test_cli_resume_refuses_new_run_settings(tmp_path, capsys):
    from ppo_edu.__main__ import main

    ckpt = tmp_path / "run.pt"
    assert main(["train", "--total-steps", "2048", "--num-envs", "8", "--no-progress", "--eval-episodes", "1",
                 "--save", str(ckpt)]) == 0
    assert main(["train", "--resume", str(ckpt), "--total-steps", "4096"]) == 2
    assert "--total-steps: a resumed run keeps the settings saved in its checkpoint" in capsys.readouterr().err
