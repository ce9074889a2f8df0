"""ppo_edu.rlhf_train: the config, the response mask in every term, and what PPO, GRPO and RLOO do on the toy."""

import dataclasses

import pytest
import torch

from ppo_edu import rlhf, toy_lm
from ppo_edu.rlhf_train import RLHFConfig, compute_advantages, minibatch_loss, train_rlhf


@pytest.fixture(scope="module")
def toy():
    torch.set_num_threads(1)
    return toy_lm.make_toy(seed=0)


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"algorithm": "ppo2"}, "algorithm"),
        ({"beta": -0.1}, "beta"),
        ({"beta": float("nan")}, "beta"),
        ({"gamma": 1.5}, "gamma"),
        ({"clip_eps": 0.0}, "clip_eps"),
        ({"clip_value": -1.0}, "clip_value"),
        ({"max_grad_norm": 0.0}, "max_grad_norm"),
        ({"iterations": 0}, "iterations"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"ppo_epochs": True}, "ppo_epochs"),
        ({"kl_estimator": "kl"}, "kl_estimator"),
        ({"whiten_rewards": 1}, "whiten_rewards"),
        ({"batch_size": 10, "minibatches": 4}, "batch_size"),
        ({"algorithm": "grpo", "group_size": 1}, "group_size"),
        ({"algorithm": "rloo", "group_size": 8, "batch_size": 36, "minibatches": 4}, "batch_size"),
        ({"seed": -1}, "seed"),
    ],
)
def test_config_rejects_bad_values_naming_the_field(changes, match):
    with pytest.raises(ValueError, match=match):
        RLHFConfig(**changes)


def test_config_is_frozen_and_every_field_has_a_docstring():
    cfg = RLHFConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.beta = 1.0
    assert cfg.replace(beta=0.1).beta == 0.1 and cfg.beta == 0.3
    import inspect

    source = inspect.getsource(RLHFConfig)
    for f in dataclasses.fields(RLHFConfig):
        line = source.index(f"    {f.name}:")
        assert source[line:].split("\n")[1].strip().startswith('"""'), f"{f.name} has no docstring"


def _fake_batch(seed=0, algorithm="ppo", group_size=1):
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    policy = toy_lm.TinyLM()
    prompts = toy_lm.sample_prompts(8 // group_size, g).repeat_interleave(group_size)
    batch = toy_lm.sample(policy, prompts, g)
    b, t = batch.tokens.shape
    logp = -torch.rand(b, t, generator=g)
    logp_ref = -torch.rand(b, t, generator=g)
    values = torch.randn(b, t, generator=g)
    scores = torch.randn(b, generator=g)
    cfg = RLHFConfig(algorithm=algorithm, group_size=group_size, batch_size=8, minibatches=2)
    return cfg, batch, logp, logp_ref, values, scores


@pytest.mark.parametrize("algorithm, group_size", [("ppo", 1), ("rloo", 4), ("grpo", 4)])
def test_prompt_and_padding_never_count(algorithm, group_size):
    """Change log-probs and values on every position off the response mask: nothing may move.

    An implementation that masks with the attention mask (prompt included) or with no mask
    (padding included) fails here.
    """
    cfg, batch, logp, logp_ref, values, scores = _fake_batch(1, algorithm, group_size)
    m = batch.response_mask
    assert bool((~m & batch.attention_mask).any()) and bool((~batch.attention_mask).any())  # prompt and padding
    off = ~m
    noise = torch.randn(logp.shape, generator=torch.Generator().manual_seed(5))
    bent = [torch.where(off, x + noise, x) for x in (logp, logp_ref, values)]
    v = values * m if algorithm == "ppo" else None
    v_bent = bent[2] * m if algorithm == "ppo" else None
    adv, ret = compute_advantages(cfg, scores, logp, logp_ref, v, m, 0.3)
    adv2, ret2 = compute_advantages(cfg, scores, bent[0], bent[1], v_bent, m, 0.3)
    assert torch.allclose(adv, adv2) and bool((adv[off] == 0).all())
    if algorithm == "ppo":
        assert torch.allclose(ret, ret2)
    extra = {"values_new": values, "returns": ret, "values_old": v} if algorithm == "ppo" else {}
    extra2 = {"values_new": bent[2], "returns": ret, "values_old": v} if algorithm == "ppo" else {}
    new = logp + 0.1 * noise
    loss = minibatch_loss(cfg, new, logp, logp_ref, adv, m, 0.3, **extra)
    loss2 = minibatch_loss(cfg, torch.where(off, new - noise, new), bent[0], bent[1], adv, m, 0.3, **extra2)
    assert torch.allclose(loss, loss2)
    # and a change on a response token does move the loss
    assert not torch.allclose(loss, minibatch_loss(cfg, torch.where(m, new + noise, new), logp, logp_ref, adv, m, 0.3, **extra))


def test_a_mask_that_includes_the_prompt_changes_the_rewards():
    cfg, batch, logp, logp_ref, values, scores = _fake_batch(2)
    right = rlhf.per_token_rewards(scores, logp, logp_ref, batch.response_mask, 0.3)
    wrong = rlhf.per_token_rewards(scores, logp, logp_ref, batch.attention_mask, 0.3)
    assert not torch.allclose(right.sum(1), wrong.sum(1))  # the prompt's log-ratios leak into the return
    assert torch.allclose(right.sum(1), scores - 0.3 * rlhf.sequence_kl(logp, logp_ref, batch.response_mask))


def test_missing_eos_penalty_and_whiten_rewards_run(toy):
    out = train_rlhf(toy, RLHFConfig(iterations=1, missing_eos_penalty=1.0, whiten_rewards=True))
    assert len(out["history"]["kl"]) == 2


def test_train_rlhf_is_deterministic(toy):
    cfg = RLHFConfig(beta=0.2, iterations=2)
    a, b = train_rlhf(toy, cfg), train_rlhf(toy, cfg)
    assert a["history"] == b["history"]


def test_ppo_raises_score_with_bounded_kl_and_beta_zero_over_optimises(toy):
    beta, n = 0.3, 12
    kept = train_rlhf(toy, RLHFConfig(beta=beta, iterations=n))["history"]
    free = train_rlhf(toy, RLHFConfig(beta=0.0, iterations=n))["history"]
    opt = toy_lm.kl_regularized_optimum(toy.ref_logp_all, toy.score_all, beta)
    start = kept["score"][0]
    # the regularised objective climbs most of the way to its exact maximum
    assert kept["score"][-1] - beta * kept["kl"][-1] > start + 0.7 * (opt["objective"] - start)
    # KL stays bounded: J(π) ≥ J(π_ref) implies KL ≤ (E max s − E_ref s)/β; it is also far below β = 0's
    assert max(kept["kl"]) < (toy.score_all.max(1).values.mean().item() - start) / beta
    assert kept["kl"][-1] < 0.5 * free["kl"][-1]
    # β = 0: the gold preference first rises (the hump), then falls below the SFT model's
    assert max(free["gold"]) > free["gold"][0] + 0.5
    assert free["gold"][-1] < free["gold"][0] < kept["gold"][-1]


@pytest.mark.parametrize("algorithm", ["grpo", "rloo"])
def test_group_methods_improve_the_objective(toy, algorithm):
    beta = 0.3
    h = train_rlhf(toy, RLHFConfig(algorithm=algorithm, group_size=8, beta=beta, iterations=8))["history"]
    j = [s - beta * k for s, k in zip(h["score"], h["kl"], strict=True)]
    assert j[-1] > j[0] + 0.5 and h["gold"][-1] > h["gold"][0] + 0.5


def test_train_rlhf_adaptive_beta_moves(toy):
    hist = train_rlhf(toy, RLHFConfig(beta=0.05, adaptive_kl_target=2.0, kl_horizon=500, iterations=6))["history"]
    # iteration 0: π_θ = π_ref, KL = 0 < target: error clipped to −0.2, β shrinks by 1 − 0.2·128/500
    assert hist["kl"][0] == 0.0 and hist["beta"][1] == pytest.approx(0.05 * (1 - 0.2 * 128 / 500))
    # once the KL overshoots the target, β goes back up
    assert max(hist["batch_kl"]) > 2.0 and hist["beta"][-1] > min(hist["beta"])


def test_train_rlhf_rejects_a_non_config(toy):
    with pytest.raises(ValueError, match="config"):
        train_rlhf(toy, {"beta": 0.3})


def test_vf_coef_only_matters_through_the_gradient_clip(toy):
    """Policy and critic are separate networks and Adam divides by each parameter's gradient scale."""
    runs = [train_rlhf(toy, RLHFConfig(iterations=2, vf_coef=c, max_grad_norm=None))["history"] for c in (0.1, 1.0)]
    for key in ("score", "gold", "kl"):
        assert runs[0][key] == pytest.approx(runs[1][key], abs=1e-4)
