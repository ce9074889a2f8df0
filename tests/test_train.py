"""The PPO trainer: config, advantages with truncation, the update, population, checkpoints, determinism."""

import ast
import copy
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
        (dict(target_kl=0.0), "target_kl"),
        (dict(reward_scale=-1.0), "reward_scale"),
        (dict(bug="typo"), "bug: expected one of None, 'logp_old_recomputed'"),
        (dict(epochs=2.0), "epochs: expected a positive integer"),
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


# -- second edition: KL early stopping, diagnostics, lab switches, checks off the hot path -----


def test_target_kl_stops_the_epochs_once_an_epochs_kl_exceeds_it():
    torch.manual_seed(1)  # the networks' initialisation: the same epoch counts every run
    agent = ActorCritic(4, 2, 16)
    obs, actions, adv, ret = (x[0] for x in _batch(1, 64, seed=2))
    b = _batch_for(agent, obs, actions, adv * 10, ret)
    d = pe.train.ppo_update(agent, torch.optim.Adam(agent.parameters(), lr=5e-2), b, _cfg(epochs=10, num_minibatches=4, target_kl=1e-4))
    assert d["epochs_done"] == 1  # this seed: the first epoch's KL already exceeds the target, so it stops there
    agent = ActorCritic(4, 2, 16)
    b = _batch_for(agent, obs, actions, adv * 10, ret)
    d = pe.train.ppo_update(agent, torch.optim.Adam(agent.parameters(), lr=5e-2), b, _cfg(epochs=10, num_minibatches=4))
    assert d["epochs_done"] == 10  # off: every epoch runs


def test_target_kl_refuses_a_population_whose_members_it_would_couple():
    """One member's KL would stop every member's epochs: P coupled runs are not P seeds."""
    agent = PopulationActorCritic(2, 4, 2, 8)
    obs, actions, adv, ret = _batch(2, 16)
    b = _batch_for(agent, obs, actions, adv, ret)
    with pytest.raises(ValueError, match="population of 2 would stop every member's epochs together"):
        pe.train.ppo_update(agent, torch.optim.Adam(agent.parameters()), b, _cfg(target_kl=0.01))
    with pytest.raises(ValueError, match="train each seed as its own run"):
        Trainer(PPOConfig(**{**SMALL, "population": 3, "target_kl": 0.01}))
    Trainer(PPOConfig(**{**SMALL, "target_kl": 0.01})).iteration()  # one agent: fine


def test_target_kl_stops_right_after_the_first_epoch_whose_mean_kl_is_above_it():
    """Against a naive re-run: the k3 means of each epoch, computed by the log, decide the stop."""
    torch.manual_seed(0)
    agent = ActorCritic(4, 2, 16)
    obs, actions, adv, ret = (x[0] for x in _batch(1, 64, seed=3))
    ref = copy.deepcopy(agent)
    b = _batch_for(agent, obs, actions, adv * 10, ret)
    g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    kls = []
    opt = torch.optim.Adam(ref.parameters(), lr=2e-2)
    for _ in range(8):  # every epoch's mean k3 without early stopping, one epoch at a time, same shuffles
        kls.append(pe.train.ppo_update(ref, opt, b, _cfg(epochs=1, num_minibatches=4), g1)["approx_kl_k3"])
    target = sorted(kls)[len(kls) // 2]
    expected = next(i + 1 for i, kl in enumerate(kls) if kl > target)
    d = pe.train.ppo_update(agent, torch.optim.Adam(agent.parameters(), lr=2e-2), b, _cfg(epochs=8, num_minibatches=4, target_kl=target), g2)
    assert d["epochs_done"] == expected


def test_diagnostics_report_every_documented_key_and_spreads_match_the_batch():
    tr = Trainer(PPOConfig(**SMALL))
    stats = tr.iteration()
    assert set(stats.diagnostics) == set(pe.train.DIAGNOSTICS)
    m = tr.metrics()
    assert set(m) == {"env_steps", "return", *pe.train.DIAGNOSTICS}
    assert m["return"].shape == (1,) and m["epochs_done"][0] == SMALL["epochs"]
    assert 0.0 <= m["critic_saturation"][0] <= 1.0 and m["return_std"][0] > 0


def test_saturation_counts_units_beyond_0_99():
    agent = PopulationActorCritic(2, 4, 2, (3,))
    with torch.no_grad():
        agent.critic.weights[0][0].fill_(100.0)  # member 0's critic: every hidden unit saturated for these inputs
        agent.critic.weights[0][1].zero_()  # member 1's: tanh(0) = 0, none (not left to the random init)
        agent.actor.weights[0].zero_()
    h = agent.hidden_activations(torch.ones(2, 5, 4))
    assert h["critic"].shape == (2, 5, 3)
    assert bool((h["critic"][0].abs() > 0.99).all()) and not bool((h["critic"][1].abs() > 0.99).any())
    solo = agent.member(0)
    torch.testing.assert_close(solo.hidden_activations(torch.ones(5, 4))["critic"], h["critic"][0])
    # saturation(): half the population's critic units (member 0's), none of the actor's
    assert agent.saturation(torch.ones(2, 5, 4)) == {"actor": 0.0, "critic": 0.5}
    assert solo.saturation(torch.ones(5, 4))["critic"] == 1.0


def test_saturation_counts_layer_by_layer_as_over_the_concatenation():
    """Two hidden layers of different widths: the share is over all units, not a mean of layer shares."""
    agent = PopulationActorCritic(1, 4, 2, (2, 6))
    with torch.no_grad():
        agent.actor.weights[0].fill_(100.0)  # layer 1 (2 units) saturated; layer 2 (6 units) sees ±1 inputs
        agent.actor.weights[1].zero_()
        agent.actor.weights[1][0, :, :3] = 100.0  # 3 of layer 2's 6 units saturated
    obs = torch.ones(1, 7, 4)
    h = agent.hidden_activations(obs)["actor"]
    expected = float((h.abs() > 0.99).float().mean())
    assert expected == (2 + 3) / 8
    assert float(agent.saturation(obs)["actor"]) == expected


def test_explained_variance_is_nan_when_the_targets_are_constant():
    ev = pe.train.explained_variance_per_member(torch.randn(2, 10), torch.stack([torch.full((10,), 100.0), torch.randn(10)]))
    assert math.isnan(float(ev[0])) and math.isfinite(float(ev[1]))


def test_reward_scale_scales_the_critics_targets_not_the_reported_returns():
    a, b = Trainer(PPOConfig(**SMALL, seed=4, reward_scale=1.0)), Trainer(PPOConfig(**SMALL, seed=4, reward_scale=0.1))
    for tr in (a, b):  # V ≡ 0, so the targets R = Â + V are the λ-returns of the (scaled) rewards alone
        with torch.no_grad():
            tr.agent.critic.weights[-1].zero_()
            tr.agent.critic.biases[-1].zero_()
    sa, sb = a.iteration(), b.iteration()
    np.testing.assert_allclose(sa.episode_return, sb.episode_return)  # same first rollout, returns unscaled
    assert sb.diagnostics["return_std"] == pytest.approx(0.1 * sa.diagnostics["return_std"], rel=1e-4)


@pytest.mark.parametrize("bug", list(pe.train.BUGS))
def test_every_lab_bug_changes_the_run(bug):
    def env():  # episodes cut at 8 steps, so that truncations happen in a short test
        return pe.envs.TorchCartPole(SMALL["num_envs"], max_episode_steps=8, seed=7)

    clean = Trainer(PPOConfig(**SMALL, seed=5, ent_coef=0.01), env=env())
    buggy = Trainer(PPOConfig(**SMALL, seed=5, ent_coef=0.01, bug=bug), env=env())
    clean.train(iterations=3, progress=False)
    buggy.train(iterations=3, progress=False)
    diff = max(float((p - q).detach().abs().max()) for p, q in zip(clean.agent.parameters(), buggy.agent.parameters(), strict=True))
    assert diff > 1e-4


def test_wrong_action_bug_shows_in_the_first_ratio_and_recomputed_logp_hides_the_kl():
    tr = Trainer(PPOConfig(**SMALL, bug="wrong_action"))
    assert tr.iteration().diagnostics["first_ratio_max_dev"] > 0.0
    tr = Trainer(PPOConfig(**SMALL, bug="logp_old_recomputed"))
    d = tr.iteration().diagnostics
    assert d["approx_kl_k3"] == 0.0 and d["clip_fraction"] == 0.0


def test_validate_trusted_skips_only_the_value_scan():
    from ppo_edu import validate

    nan = torch.tensor([1.0, float("nan")])
    with pytest.raises(ValueError, match="expected finite values"):
        validate.check_finite("x", nan)
    with validate.trusted():
        assert validate.check_finite("x", nan) is nan and not validate.values_checked()
        with pytest.raises(ValueError, match="expected shape"):
            validate.check_ndim("x", nan, (2,), "(T, N)")
    assert validate.values_checked()


@pytest.mark.parametrize("value, message", [(0, "a positive integer"), (True, "a positive integer"), (2.0, "a positive integer")])
def test_check_int_rejects_non_integers_and_small_values(value, message):
    from ppo_edu import validate

    with pytest.raises(ValueError, match=f"n: expected {message}, got {value!r}"):
        validate.check_int("n", value)
    assert validate.check_int("n", np.int64(3)) == 3
    assert validate.check_int("seed", 0, minimum=0) == 0


def test_a_run_uses_exactly_seed_streams_consecutive_seeds():
    """SEED_STREAMS is what the trainer does: weights from s, sampling from s + 1, environments from s + 2."""
    s = 7
    tr = Trainer(PPOConfig(**{**SMALL, "seed": s}))
    assert tr.generator.initial_seed() == s + 1 and tr.env.generator.initial_seed() == s + 2
    ref = PopulationActorCritic(1, 4, 2, tr.config.hidden, generator=torch.Generator().manual_seed(s))
    assert all(torch.equal(a, b) for a, b in zip(tr.agent.parameters(), ref.parameters(), strict=True))
    assert max(s + 1, s + 2) < s + pe.train.SEED_STREAMS


def test_collect_equals_a_step_by_step_reference_loop():
    """The rollout (noise drawn at once, fields stacked at the end) is the naive loop: draw, act,
    step, store, one step at a time, from the same generators; and the reported return is the
    mean of the episodes that ended, per member."""
    cfg = PPOConfig(**{**SMALL, "population": 2, "num_envs": 4, "num_steps": 40})
    tr = Trainer(cfg)
    ref_env = pe.envs.TorchCartPole(8, seed=cfg.seed + 2)
    ref_obs, _ = ref_env.reset(seed=cfg.seed + 2)
    ref_gen = torch.Generator().manual_seed(cfg.seed + 1)
    agent = copy.deepcopy(tr.agent)
    rows, finished = [], [[], []]
    with torch.no_grad():
        for _ in range(cfg.num_steps):
            logits = agent.logits(ref_obs.view(2, 4, 4))
            u = torch.rand(logits.shape, generator=ref_gen).clamp_(min=torch.finfo(torch.float32).tiny)
            action = torch.argmax(logits - torch.log(-torch.log(u)), dim=-1).view(-1)
            logp = torch.log_softmax(logits, -1).view(-1, 2)[torch.arange(8), action]
            next_obs, reward, term, trunc, info = ref_env.step(action)
            rows.append((ref_obs, action, logp, reward, term, trunc, info["final_obs"]))
            for e in torch.nonzero(info["_final_obs"]).flatten().tolist():
                finished[e // 4].append(float(info["episode_return"][e]))
            ref_obs = next_obs
    got = tr.collect()
    names = ("obs", "actions", "logp", "rewards", "terminated", "truncated", "final_obs")
    for name, column in zip(names, zip(*rows, strict=True), strict=True):
        assert torch.equal(getattr(tr.rollout, name), torch.stack(column)), name
    assert torch.equal(tr.obs, ref_obs)
    expected = [np.mean(f) if f else np.nan for f in finished]
    assert any(finished)  # 40 steps of a fresh policy: some episodes end
    np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-5)
