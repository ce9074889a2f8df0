"""The debugging lab: every broken run shows its own bug's signature and no other; the healthy run none."""

import numpy as np
import pytest

import ppo_edu as pe


@pytest.fixture(scope="module")
def runs():
    return pe.lab.run_lab(quick=True)  # 4 seeds × 4 iterations: the notebook's quick setting


def test_each_run_shows_exactly_its_signature(runs):
    for name, m in runs.items():
        shows = {s for s, v in pe.lab.symptoms(m).items() if v}
        want = {pe.lab.SIGNATURES[pe.lab.LAB_RUNS[name]]} if name in pe.lab.LAB_RUNS else set()
        assert shows == want, (name, pe.lab.symptom_table({name: m}))


def test_lab_bugs_are_trainer_bugs_and_every_one_is_used():
    assert set(pe.lab.SIGNATURES) <= set(pe.train.BUGS)
    assert sorted(pe.lab.LAB_RUNS.values()) == sorted(pe.lab.SIGNATURES)


def test_the_exact_identities(runs):
    # healthy: ρ = 1 exactly on the first minibatch; ρ ≡ 1 (recomputed log π_old): KL and clip exactly 0
    assert (runs["healthy"]["first_ratio_max_dev"] == 0).all()
    b = runs[next(k for k, v in pe.lab.LAB_RUNS.items() if v == "logp_old_recomputed")]
    assert (b["approx_kl_k3"] == 0).all() and (b["clip_fraction"] == 0).all()
    assert (runs["healthy"]["approx_kl_k3"] > 0).all()


def test_symptoms_on_hand_made_metrics():
    k = 3
    calm = {key: np.full(k, 0.5) for key in pe.train.DIAGNOSTICS}
    calm.update(first_ratio_max_dev=np.zeros(k), entropy=np.full(k, 0.6), return_std=np.full(k, 5.0),
                grad_norm=np.full(k, 8.0))  # fmt: skip
    assert not any(pe.lab.symptoms(calm).values())
    zero_kl = {**calm, "approx_kl_k1": np.zeros(k), "approx_kl_k3": np.zeros(k), "clip_fraction": np.zeros(k)}
    assert pe.lab.symptoms(zero_kl)["kl_and_clip_exactly_zero"]
    assert not pe.lab.symptoms({**zero_kl, "entropy": np.full(k, np.log(2))})["kl_and_clip_exactly_zero"]
    assert pe.lab.symptoms({**calm, "explained_variance": np.array([0.1, -0.6, 0.0])})["critic_moves_away"]
    assert pe.lab.symptoms({**calm, "first_ratio_max_dev": np.full(k, 1e-3)})["ratio_off_before_any_step"]
