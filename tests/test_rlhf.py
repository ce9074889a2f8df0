"""ppo_edu.rlhf: per-token rewards, KL estimators, KL controllers, masked statistics."""

import math

import pytest
import torch

import ppo_edu as pe
from ppo_edu import rlhf

# A hand-worked batch: two sequences of different lengths, right-padded.
LOGP = torch.tensor([[-1.0, -2.0, -0.5, -9.0], [-0.2, -3.0, -3.0, -3.0]], dtype=torch.float64)
LOGP_REF = torch.tensor([[-1.5, -1.0, -0.5, 0.0], [-0.7, 0.0, 0.0, 0.0]], dtype=torch.float64)
MASK = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0]])
SCORES = torch.tensor([2.0, -1.0], dtype=torch.float64)


def naive_rewards(scores, logp, logp_ref, mask, beta):
    out = torch.zeros_like(logp)
    for b in range(logp.shape[0]):
        last = None
        for t in range(logp.shape[1]):
            if mask[b, t]:
                out[b, t] = -beta * (logp[b, t] - logp_ref[b, t])
                last = t
        out[b, last] += scores[b]
    return out


def test_per_token_rewards_hand_worked():
    # row 0: k1 = (0.5, -1, 0), score 2 on t=2; row 1: k1 = 0.5, score -1 on t=0; padding 0
    want = torch.tensor([[-0.05, 0.1, 2.0, 0.0], [-1.05, 0.0, 0.0, 0.0]], dtype=torch.float64)
    got = rlhf.per_token_rewards(SCORES, LOGP, LOGP_REF, MASK, beta=0.1)
    assert torch.allclose(got, want, atol=1e-12)


def test_per_token_rewards_row_sum_is_score_minus_beta_kl():
    got = rlhf.per_token_rewards(SCORES, LOGP, LOGP_REF, MASK, beta=0.3)
    want = SCORES - 0.3 * rlhf.sequence_kl(LOGP, LOGP_REF, MASK)
    assert torch.allclose(got.sum(dim=1), want)


def test_per_token_rewards_random_masks_match_naive_loop():
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        b, t = 5, 7
        logp = -torch.rand(b, t, generator=g, dtype=torch.float64) * 3
        logp_ref = -torch.rand(b, t, generator=g, dtype=torch.float64) * 3
        mask = torch.rand(b, t, generator=g) < 0.6  # gappy and left-padded rows included
        mask[:, 0] |= ~mask.any(dim=1)
        scores = torch.randn(b, generator=g, dtype=torch.float64)
        got = rlhf.per_token_rewards(scores, logp, logp_ref, mask, beta=0.2)
        assert torch.allclose(got, naive_rewards(scores, logp, logp_ref, mask, 0.2))
        assert bool((got[~mask] == 0).all())


def test_left_padding_score_on_last_real_token():
    mask = torch.tensor([[0, 0, 1, 1, 0], [1, 1, 1, 1, 1]])
    assert rlhf.last_token_index(mask).tolist() == [3, 4]
    z = torch.zeros(2, 5)
    got = rlhf.per_token_rewards(torch.tensor([1.0, 2.0]), z, z, mask, beta=0.5)
    assert got.tolist() == [[0, 0, 0, 1, 0], [0, 0, 0, 0, 2]]


def test_beta_zero_gives_score_only():
    got = rlhf.per_token_rewards(SCORES, LOGP, LOGP_REF, MASK, beta=0.0)
    assert got.tolist() == [[0, 0, 2, 0], [-1, 0, 0, 0]]


def test_estimator_choice_changes_the_penalty():
    got = rlhf.per_token_rewards(SCORES, LOGP, LOGP_REF, MASK, beta=1.0, estimator="abs")
    assert torch.allclose(got[0, :2], torch.tensor([-0.5, -1.0], dtype=torch.float64))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"beta": -0.1}, "beta"),
        ({"beta": float("nan")}, "beta"),
        ({"mask": torch.tensor([[1, 1, 1, 0], [0, 0, 0, 0]])}, "mask"),
        ({"mask": torch.tensor([[1, 2, 1, 0], [1, 0, 0, 0]])}, "mask"),
        ({"mask": torch.ones(2, 3)}, "mask"),
        ({"scores": torch.tensor([1.0, 2.0, 3.0])}, "scores"),
        ({"logp": torch.tensor([1.0, 2.0])}, "logp"),
        ({"logp_ref": torch.full((2, 4), float("nan"))}, "logp_ref"),
        ({"estimator": "k9"}, "estimator"),
    ],
)
def test_per_token_rewards_rejects_bad_input(kwargs, match):
    args = {"scores": SCORES, "logp": LOGP, "logp_ref": LOGP_REF, "mask": MASK, "beta": 0.1} | kwargs
    with pytest.raises(ValueError, match=match):
        rlhf.per_token_rewards(**args)


def test_kl_estimators_hand_worked():
    lp, lr = torch.tensor([math.log(0.5)]), torch.tensor([math.log(0.25)])  # k1 = log 2
    k1 = math.log(2)
    assert rlhf.kl_per_token(lp, lr, "k1").item() == pytest.approx(k1)
    assert rlhf.kl_per_token(lr, lp, "abs").item() == pytest.approx(k1)
    assert rlhf.kl_per_token(lp, lr, "k2").item() == pytest.approx(0.5 * k1**2)
    assert rlhf.kl_per_token(lp, lr, "k3").item() == pytest.approx(0.5 - 1 + k1)  # r = 1/2


def test_kl_estimators_exact_expectations_on_categoricals():
    g = torch.Generator().manual_seed(1)
    for _ in range(10):
        logp = torch.log_softmax(torch.randn(6, generator=g, dtype=torch.float64) * 2, 0)
        logq = torch.log_softmax(torch.randn(6, generator=g, dtype=torch.float64) * 2, 0)
        p = logp.exp()
        kl = float((p * (logp - logq)).sum())
        expect = {e: float((p * rlhf.kl_per_token(logp, logq, e)).sum()) for e in rlhf.KL_ESTIMATORS}
        assert expect["k1"] == pytest.approx(kl, abs=1e-12)  # unbiased
        assert expect["k3"] == pytest.approx(kl, abs=1e-12)  # unbiased too
        assert expect["abs"] > kl  # biased upwards whenever some k1 < 0
        assert bool((rlhf.kl_per_token(logp, logq, "k3") >= 0).all())
        assert bool((rlhf.kl_per_token(logp, logq, "k1") < 0).any())


def test_sequence_kl_ignores_padding():
    got = rlhf.sequence_kl(LOGP, LOGP_REF, MASK)
    assert torch.allclose(got, torch.tensor([-0.5, 0.5], dtype=torch.float64))


def test_masked_mean_and_whiten_hand_worked():
    x = torch.tensor([[1.0, 2.0, 100.0], [3.0, -50.0, 7.0]])
    m = torch.tensor([[1, 1, 0], [1, 0, 0]])
    assert rlhf.masked_mean(x, m).item() == pytest.approx(2.0)
    assert rlhf.masked_mean(x, m, dim=1).tolist() == [1.5, 3.0]
    assert rlhf.masked_var(x, m).item() == pytest.approx(1.0)  # unbiased: ((1+0+1)/2)
    assert rlhf.masked_var(x, m, unbiased=False).item() == pytest.approx(2 / 3)
    w = rlhf.masked_whiten(x, m)
    assert torch.allclose(w, torch.tensor([[-1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]), atol=1e-6)
    w2 = rlhf.masked_whiten(x, m, shift_mean=False)
    assert torch.allclose(w2[m.bool()], torch.tensor([1.0, 2.0, 3.0]), atol=1e-6)
    assert bool((w2[~m.bool()] == 0).all())
    assert rlhf.masked_mean(x, m).item() == pe.losses.masked_mean(x, m.float()).item()


def test_masked_statistics_reject_empty():
    with pytest.raises(ValueError, match="mask"):
        rlhf.masked_mean(torch.ones(2, 2), torch.tensor([[1, 0], [0, 0]]), dim=1)
    with pytest.raises(ValueError, match="mask"):
        rlhf.masked_var(torch.ones(2, 2), torch.tensor([[1, 0], [0, 0]]))
    with pytest.raises(ValueError, match="mask"):
        rlhf.masked_whiten(torch.ones(2, 2), torch.ones(2, 3))


def naive_gae(rewards, values, mask, gamma, lam):
    adv = torch.zeros_like(rewards)
    for b in range(rewards.shape[0]):
        idx = [t for t in range(rewards.shape[1]) if mask[b, t]]
        running = 0.0
        for j in reversed(range(len(idx))):
            t = idx[j]
            nxt = values[b, idx[j + 1]] if j + 1 < len(idx) else 0.0
            delta = rewards[b, t] + gamma * nxt - values[b, t]
            running = delta + gamma * lam * running
            adv[b, t] = running
    return adv


def test_token_advantages_match_naive_loop_with_padding():
    g = torch.Generator().manual_seed(3)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0]])
    r = torch.randn(3, 5, generator=g, dtype=torch.float64)
    v = torch.randn(3, 5, generator=g, dtype=torch.float64)
    for gamma, lam in ((1.0, 0.95), (0.9, 0.0), (1.0, 1.0)):
        adv, ret = rlhf.token_advantages(r, v, mask, gamma, lam)
        assert torch.allclose(adv, naive_gae(r, v, mask, gamma, lam))
        assert torch.allclose(ret, (adv + v) * mask)
        assert bool((adv[mask == 0] == 0).all())
    # γ = λ = 1: Â_t = (sum of the rewards from t to the end) − V_t
    adv, _ = rlhf.token_advantages(r, v, mask, 1.0, 1.0)
    assert adv[1, 0].item() == pytest.approx((r[1, 0] + r[1, 1] - v[1, 0]).item())


def test_fixed_controller_never_moves():
    ctl = rlhf.FixedKLController(0.2)
    for kl in (0.0, 5.0, 100.0):
        assert ctl.update(kl, 128) == 0.2
    with pytest.raises(ValueError, match="beta"):
        rlhf.FixedKLController(-1.0)


def test_adaptive_controller_hand_worked():
    ctl = rlhf.AdaptiveKLController(0.2, target=6.0, horizon=10_000)
    assert ctl.update(9.0, 256) == pytest.approx(0.2 * (1 + 0.2 * 256 / 10_000))  # error 0.5 clipped to 0.2
    ctl = rlhf.AdaptiveKLController(0.2, target=6.0, horizon=10_000)
    assert ctl.update(6.3, 256) == pytest.approx(0.2 * (1 + 0.05 * 256 / 10_000))  # inside the clip
    ctl = rlhf.AdaptiveKLController(0.2, target=6.0, horizon=10_000)
    assert ctl.update(0.0, 256) == pytest.approx(0.2 * (1 - 0.2 * 256 / 10_000))  # error -1 clipped to -0.2
    ctl = rlhf.AdaptiveKLController(0.2, target=6.0, horizon=10_000)
    assert ctl.update(6.0, 256) == pytest.approx(0.2)


def test_adaptive_controller_reaches_the_target():
    # a policy whose KL answers β as KL = c / β: the controller must settle at β = c / target
    ctl = rlhf.AdaptiveKLController(0.05, target=4.0, horizon=1000)
    for _ in range(2000):
        ctl.update(2.0 / ctl.value, 100)
    assert ctl.value == pytest.approx(0.5, rel=1e-3)


@pytest.mark.parametrize(
    "args, match",
    [((0.0, 1.0, 10), "init_value"), ((0.1, 0.0, 10), "target"), ((0.1, 1.0, -1), "horizon")],
)
def test_adaptive_controller_rejects_bad_settings(args, match):
    with pytest.raises(ValueError, match=match):
        rlhf.AdaptiveKLController(*args)


def test_adaptive_controller_rejects_bad_update():
    ctl = rlhf.AdaptiveKLController(0.1, 1.0, 10)
    with pytest.raises(ValueError, match="current_kl"):
        ctl.update(float("nan"), 10)
    with pytest.raises(ValueError, match="n_steps"):
        ctl.update(1.0, 0)


def test_bradley_terry_loss_hand_worked():
    loss = rlhf.bradley_terry_loss(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 0.0]))
    assert loss.item() == pytest.approx((math.log1p(math.exp(-1)) + math.log(2)) / 2)
    with pytest.raises(ValueError, match="score_rejected"):
        rlhf.bradley_terry_loss(torch.tensor([1.0, 0.0]), torch.tensor([0.0]))


def test_rloo_advantages_hand_worked_and_naive_loop():
    r = torch.tensor([1.0, 2.0, 6.0, 0.0, 0.0, 3.0], dtype=torch.float64)
    # group 1: 1 − (2+6)/2 = −3, 2 − 3.5 = −1.5, 6 − 1.5 = 4.5; group 2: 0 − 1.5, 0 − 1.5, 3 − 0
    assert pe.rlhf.rloo_advantages(r, 3).tolist() == [-3.0, -1.5, 4.5, -1.5, -1.5, 3.0]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(24, generator=g, dtype=torch.float64)
    want = torch.tensor([x[i] - (x[i // 4 * 4 : i // 4 * 4 + 4].sum() - x[i]) / 3 for i in range(24)])
    assert torch.allclose(pe.rlhf.rloo_advantages(x, 4), want)
    # the leave-one-out form is G/(G−1) times the centred return
    assert torch.allclose(pe.rlhf.rloo_advantages(x, 4), 4 / 3 * (x - x.reshape(-1, 4).mean(1).repeat_interleave(4)))


def test_grpo_advantages_hand_worked():
    s = torch.tensor([1.0, 3.0, 2.0, 2.0], dtype=torch.float64)
    a = pe.rlhf.grpo_advantages(s, 2, eps=0.0 + 1e-12)
    # each pair: mean 2 (1, 3) and std √2; the tied pair gives 0 (no signal from that prompt)
    assert torch.allclose(a, torch.tensor([-1 / 2**0.5, 1 / 2**0.5, 0.0, 0.0], dtype=torch.float64))


@pytest.mark.parametrize("fn", [pe.rlhf.rloo_advantages, pe.rlhf.grpo_advantages])
def test_group_advantages_reject_bad_groups(fn):
    with pytest.raises(ValueError, match="group_size"):
        fn(torch.zeros(4), 1)
    with pytest.raises(ValueError, match="multiple of group_size"):
        fn(torch.zeros(5), 2)


def test_token_advantages_refuse_a_gappy_mask_and_accept_left_padding():
    """GAE would read a gap as a zero-reward, zero-value step inside the episode: an error, not a silent number."""
    r, v = torch.tensor([[0.0, 0.0, 0.0, 1.0]]), torch.tensor([[0.5, 0.5, 0.5, 0.5]])
    with pytest.raises(ValueError, match="one contiguous run, got a gap in row 0"):
        pe.rlhf.token_advantages(r, v, torch.tensor([[1, 1, 0, 1]]))
    left, _ = pe.rlhf.token_advantages(r, v, torch.tensor([[0, 1, 1, 1]]))
    right, _ = pe.rlhf.token_advantages(torch.tensor([[0.0, 0.0, 1.0, 0.0]]), v, torch.tensor([[1, 1, 1, 0]]))
    torch.testing.assert_close(left[0, 1:], right[0, :3])  # the same episode, shifted


def test_k3_as_a_loss_has_the_gradient_of_the_reverse_kl():
    """Notebook 09's claim, exactly: E_{y~π_θ}[∇ k3(y)] (samples held fixed, as in a loss) equals
    ∇ KL(π_ref ‖ π_θ), not ∇ KL(π_θ ‖ π_ref). k3 = r − 1 − log r with r = π_ref/π_θ."""
    g = torch.Generator().manual_seed(0)
    theta = torch.randn(6, generator=g, dtype=torch.float64, requires_grad=True)
    logp_ref = torch.log_softmax(torch.randn(6, generator=g, dtype=torch.float64), 0)
    logp = torch.log_softmax(theta, 0)
    log_r = logp_ref - logp
    k3 = log_r.exp() - 1 - log_r  # per outcome y
    (grad_k3,) = torch.autograd.grad((logp.exp().detach() * k3).sum(), theta)  # expectation, weights not differentiated
    (grad_rev,) = torch.autograd.grad((logp_ref.exp() * (logp_ref - torch.log_softmax(theta, 0))).sum(), theta)
    (grad_fwd,) = torch.autograd.grad((torch.softmax(theta, 0) * (torch.log_softmax(theta, 0) - logp_ref)).sum(), theta)
    torch.testing.assert_close(grad_k3, grad_rev, rtol=1e-12, atol=1e-12)
    assert (grad_k3 - grad_fwd).abs().max() > 1e-3  # and clearly not the forward KL's
