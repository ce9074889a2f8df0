"""PPO-penalty: exact categorical KL, the penalty loss and the adaptive-β rule."""

import math

import pytest
import torch

from ppo_edu import losses


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
