"""PPO losses: hand-worked values, the six clipping cases via autograd, value clipping, diagnostics; PPO-penalty (exact categorical KL, the penalty loss, adaptive β)."""

import math

import pytest
import torch

import ppo_edu as pe
from ppo_edu import losses


def test_ratio_detaches_old_logprobs():
    new = torch.tensor([0.0, -1.0], requires_grad=True)
    old = torch.tensor([0.0, -0.5], requires_grad=True)
    r = pe.losses.ratio(new, old)
    r.sum().backward()
    assert old.grad is None  # no gradient reaches the old policy
    assert new.grad.tolist() == pytest.approx([1.0, math.exp(-0.5)])


def test_clipped_loss_hand_worked():
    # ρ = (0.5, 1.0, 1.5), A = (1, −1, 1), ε = 0.2
    # min(ρA, clip(ρ)A) = (min(0.5, 0.8), min(−1, −1), min(1.5, 1.2)) = (0.5, −1, 1.2); mean 0.2333…
    logp_old = torch.zeros(3)
    logp_new = torch.log(torch.tensor([0.5, 1.0, 1.5]))
    loss = pe.losses.clipped_surrogate_loss(logp_new, logp_old, torch.tensor([1.0, -1.0, 1.0]), 0.2)
    assert float(loss) == pytest.approx(-(0.5 - 1.0 + 1.2) / 3, abs=1e-6)


def test_mask_leaves_padding_out():
    logp = torch.zeros(2, 3)
    adv = torch.tensor([[1.0, 2.0, 100.0], [3.0, 100.0, 100.0]])
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    loss = pe.losses.clipped_surrogate_loss(logp, logp, adv, 0.2, mask=mask)
    assert float(loss) == pytest.approx(-(1 + 2 + 3) / 3)


@pytest.mark.parametrize("eps", [0.1, 0.2, 0.3])
def test_gradient_zero_exactly_in_the_clipped_cases(eps):
    rows = pe.losses.six_cases_table(eps)
    assert [r["case"] for r in rows] == [1, 2, 3, 4, 5, 6]
    for row, (_, _, _, zero) in zip(rows, pe.losses.SIX_CASES, strict=True):
        assert row["clipped"] is zero, row
        if not zero:
            assert row["grad"] == pytest.approx(row["A"])  # unclipped: ∂(ρA)/∂ρ = A
    # the objective value itself: case 3 is capped at (1+ε)A, case 4 floored at (1−ε)A
    assert rows[2]["objective"] == pytest.approx((1 + eps) * 1.0)
    assert rows[3]["objective"] == pytest.approx((1 - eps) * -1.0)
    assert rows[0]["objective"] == pytest.approx(rows[0]["rho"])  # case 1: min picks ρA, not the clip


def test_gradient_through_log_probs_matches_cases():
    # dense sweep through the loss function itself, gradient w.r.t. log π_new
    rho = torch.linspace(0.3, 1.7, 141, dtype=torch.float64)
    for a in (1.0, -1.0):
        logp = torch.log(rho).clone().requires_grad_(True)
        loss = pe.losses.clipped_surrogate_loss(logp, torch.zeros_like(logp), torch.full_like(logp, a), 0.2)
        (g,) = torch.autograd.grad(loss, logp)
        clipped = (rho > 1.2) if a > 0 else (rho < 0.8)
        assert torch.all(g[clipped] == 0)
        assert torch.all(g[~clipped] != 0)


def test_value_loss_unclipped_and_clipped():
    v = torch.tensor([1.0, 3.0])
    ret = torch.tensor([2.0, 2.0])
    assert float(pe.losses.value_loss(v, ret)) == pytest.approx(0.5 * (1 + 1) / 2)
    # V_old = (0, 2.5), ε = 0.2: V_clip = (0.2, 2.7); squared errors max((1, 1), (3.24, 0.49)) = (3.24, 1)
    got = pe.losses.value_loss(v, ret, values_old=torch.tensor([0.0, 2.5]), clip_eps=0.2)
    assert float(got) == pytest.approx(0.5 * (3.24 + 1.0) / 2)


def test_value_clip_blocks_gradient_beyond_the_clip_when_it_is_worse():
    v = torch.tensor([1.0], requires_grad=True)
    loss = pe.losses.value_loss(v, torch.tensor([2.0]), values_old=torch.tensor([0.0]), clip_eps=0.2)
    loss.backward()
    # the clipped error (0.2 − 2)² is larger and does not depend on V: the gradient is 0
    assert v.grad.item() == 0.0


def test_entropy_and_kl():
    uniform = torch.zeros(4, 3)
    assert float(pe.losses.categorical_entropy(uniform)) == pytest.approx(math.log(3))
    old = torch.log(torch.tensor([0.5, 0.5, 0.5]))
    new = torch.log(torch.tensor([0.5, 1.0, 0.25]))
    log_rho = new - old
    assert float(pe.losses.approx_kl(new, old, "k1")) == pytest.approx(float((-log_rho).mean()))
    assert float(pe.losses.approx_kl(new, old, "k3")) == pytest.approx(float((log_rho.exp() - 1 - log_rho).mean()))
    assert float(pe.losses.approx_kl(new, old, "k3")) >= 0


def test_k1_and_k3_are_unbiased_for_the_exact_kl():
    p = torch.tensor([0.6, 0.3, 0.1], dtype=torch.float64)  # π_old
    q = torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64)  # π_new
    exact = float((p * (p / q).log()).sum())
    gen = torch.Generator().manual_seed(0)
    a = torch.multinomial(p, 400_000, replacement=True, generator=gen)
    for est in ("k1", "k3"):
        assert float(pe.losses.approx_kl(q.log()[a], p.log()[a], est)) == pytest.approx(exact, abs=5e-3)


def test_clip_fraction_and_explained_variance():
    assert float(pe.losses.clip_fraction(torch.tensor([0.7, 1.0, 1.1, 1.3]), 0.2)) == pytest.approx(0.5)
    y = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert float(pe.losses.explained_variance(y, y)) == pytest.approx(1.0)
    assert float(pe.losses.explained_variance(torch.full_like(y, 2.5), y)) == pytest.approx(0.0)
    assert math.isnan(float(pe.losses.explained_variance(y, torch.ones(4))))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: pe.losses.clipped_surrogate_loss(torch.zeros(3), torch.zeros(3), torch.zeros(3), 0.0),
         r"clip_eps: expected a number > 0, got 0.0"),
        (lambda: pe.losses.clipped_surrogate_loss(torch.zeros(3), torch.zeros(3), torch.zeros(3), -0.2),
         r"clip_eps: expected a number > 0, got -0.2"),
        (lambda: pe.losses.clipped_surrogate_loss(torch.zeros(3), torch.zeros(2), torch.zeros(3)),
         r"logp_old: expected the shape of logp_new \(3,\), got \(2,\)"),
        (lambda: pe.losses.clipped_surrogate_loss(torch.zeros(3), torch.zeros(3), torch.tensor([0.0, math.nan, 0.0])),
         r"advantages: expected finite values, got 1 NaN"),
        (lambda: pe.losses.value_loss(torch.zeros(2), torch.zeros(2), clip_eps=0.2), r"values_old: required"),
        (lambda: pe.losses.masked_mean(torch.ones(2), torch.zeros(2)), r"all-zero mask"),
        (lambda: pe.losses.approx_kl(torch.zeros(2), torch.zeros(2), "k2"), r"estimator: expected 'k1' or 'k3'"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- PPO-penalty ---


def test_categorical_kl_hand_worked_and_naive():
    p = torch.tensor([0.5, 0.5]).log()
    q = torch.tensor([0.25, 0.75]).log()
    want = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert abs(float(losses.categorical_kl(p, q)) - want) < 1e-6
    g = torch.Generator().manual_seed(0)
    zp, zq = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    P, Q = zp.softmax(-1), zq.softmax(-1)
    naive = torch.tensor([sum(P[i, a] * math.log(P[i, a] / Q[i, a]) for a in range(3)) for i in range(4)])
    assert torch.allclose(losses.categorical_kl(zp, zq), naive, atol=1e-6)
    assert torch.allclose(losses.categorical_kl(zp, zp), torch.zeros(4), atol=1e-7)


def test_kl_penalty_loss_value_and_gradient():
    logp_old = torch.tensor([-1.0, -0.5])
    logp_new = torch.tensor([-0.8, -0.7], requires_grad=True)
    adv = torch.tensor([1.0, -2.0])
    kl = torch.tensor([0.1, 0.3], requires_grad=True)
    loss = losses.kl_penalty_loss(logp_new, logp_old, adv, kl, beta=2.0)
    rho = torch.exp(logp_new.detach() - logp_old)
    assert torch.allclose(loss, -(rho * adv - 2.0 * kl.detach()).mean())
    loss.backward()
    assert torch.allclose(logp_new.grad, -(rho * adv) / 2)  # d(ρA)/dlogp = ρA
    assert torch.allclose(kl.grad, torch.tensor([1.0, 1.0]))  # β / 2 per sample
    # β = 0 is the plain (unclipped) surrogate
    assert torch.allclose(losses.kl_penalty_loss(logp_new, logp_old, adv, kl, 0.0), -(rho * adv).mean())


def test_adaptive_beta_rule():
    assert losses.adaptive_beta(1.0, kl=0.1, kl_target=0.01) == 2.0  # too far: double
    assert losses.adaptive_beta(1.0, kl=0.001, kl_target=0.01) == 0.5  # barely moved: halve
    assert losses.adaptive_beta(1.0, kl=0.012, kl_target=0.01) == 1.0  # inside [target/1.5, 1.5·target]
    assert losses.adaptive_beta(1.0, kl=0.015, kl_target=0.01) == 1.0  # the edge stays
    assert losses.adaptive_beta(3.0, kl=0.05, kl_target=0.01, factor=3.0) == 9.0


def test_bad_inputs():
    with pytest.raises(ValueError, match="beta"):
        losses.kl_penalty_loss(torch.zeros(2), torch.zeros(2), torch.zeros(2), torch.zeros(2), -1.0)
    with pytest.raises(ValueError, match="kl"):
        losses.kl_penalty_loss(torch.zeros(2), torch.zeros(2), torch.zeros(2), torch.zeros(3), 1.0)
    with pytest.raises(ValueError, match="kl_target"):
        losses.adaptive_beta(1.0, 0.1, 0.0)
    with pytest.raises(ValueError, match="kl: expected a number >= 0"):
        losses.adaptive_beta(1.0, float("nan"), 0.01)
    with pytest.raises(ValueError, match="factor"):
        losses.adaptive_beta(1.0, 0.1, 0.01, factor=0.5)
    with pytest.raises(ValueError, match="logits_q"):
        losses.categorical_kl(torch.zeros(2, 3), torch.zeros(2, 4))
