"""k-step advantages and their λ-average against naive loops, GAE and the sympy identity."""

import pytest
import torch

from ppo_edu import advantages, symbolic


def _batch(seed, T=8, N=3):
    g = torch.Generator().manual_seed(seed)
    r, v, final = (torch.randn(T, N, dtype=torch.float64, generator=g) for _ in range(3))
    term = torch.rand(T, N, generator=g) < 0.2
    trunc = (torch.rand(T, N, generator=g) < 0.2) & ~term
    # as a rollout gives them: V(s_{t+1}) is the next row inside an episode (eq. 7.2 telescopes)
    nv = advantages.bootstrap_next_values(v, torch.randn(N, dtype=torch.float64, generator=g), trunc, final)
    return r, v, nv, term, trunc


def _naive_k_step(r, v, nv, term, trunc, gamma, k):
    """Â^(k)_t = Σ_{l<k} γ^l r_{t+l} + γ^{l_end} V(next) − V(s_t), walking forward step by step."""
    T, N = r.shape
    out = torch.zeros_like(r)
    for n in range(N):
        for t in range(T):
            total, disc = 0.0, 1.0
            for j in range(t, min(t + k, T)):
                total += disc * r[j, n]
                if term[j, n]:
                    break  # terminal: no bootstrap
                if trunc[j, n] or j == min(t + k, T) - 1:
                    total += disc * gamma * nv[j, n]  # bootstrap from V(s_{j+1})
                    break
                disc *= gamma
            out[t, n] = total - v[t, n]
    return out


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8, 20])
@pytest.mark.parametrize("seed", [0, 1])
def test_k_step_matches_naive_loop(k, seed):
    r, v, nv, term, trunc = _batch(seed)
    got = advantages.k_step_advantages(r, v, nv, term, trunc, 0.9, k)
    assert torch.allclose(got, _naive_k_step(r, v, nv, term, trunc, 0.9, k), atol=1e-12)


def test_k_step_hand_worked():
    # one episode of 3 steps, V ≡ 1, rewards 1, 2, 3, terminated at the end, γ = 0.5
    r = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    v = torch.ones(3, dtype=torch.float64)
    nv = torch.tensor([1.0, 1.0, 7.0], dtype=torch.float64)  # the 7 must be ignored: terminal
    term = torch.tensor([False, False, True])
    a2 = advantages.k_step_advantages(r, v, nv, term, None, 0.5, 2)
    # t=0: 1 + 0.5·2 + 0.25·V(s2)=1 → 2.25 − 1;  t=1: 2 + 0.5·3 − 1;  t=2: 3 − 1
    assert torch.allclose(a2, torch.tensor([1.25, 2.5, 2.0], dtype=torch.float64))


def test_k1_is_td_residual_and_long_k_is_gae_lambda_one():
    r, v, nv, term, trunc = _batch(2)
    assert torch.allclose(advantages.k_step_advantages(r, v, nv, term, trunc, 0.95, 1),
                          advantages.td_residuals(r, v, nv, term, 0.95))
    assert torch.allclose(advantages.k_step_advantages(r, v, nv, term, trunc, 0.95, 8),
                          advantages.gae(r, v, nv, term, trunc, 0.95, 1.0), atol=1e-12)


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.9, 1.0])
def test_lambda_average_of_k_step_is_gae(lam):
    r, v, nv, term, trunc = _batch(4, T=6)
    ks = torch.stack([advantages.k_step_advantages(r, v, nv, term, trunc, 0.9, k) for k in range(1, 7)])
    assert torch.allclose(advantages.lambda_average(ks, lam), advantages.gae(r, v, nv, term, trunc, 0.9, lam),
                          atol=1e-12)


def test_lambda_average_weights_sum_to_one():
    ones = torch.ones(5, 4, dtype=torch.float64)
    for lam in (0.0, 0.5, 1.0):
        assert torch.allclose(advantages.lambda_average(ones, lam), torch.ones(4, dtype=torch.float64))


def test_sympy_gae_identity():
    for horizon in (1, 2, 5):
        lhs, rhs, ok = symbolic.gae_identity(horizon)
        assert ok
    weight, ok = symbolic.gae_identity_coefficient()
    assert ok
    with pytest.raises(ValueError, match="horizon"):
        symbolic.gae_identity(0)


def test_bad_inputs():
    r, v, nv, term, trunc = _batch(0)
    with pytest.raises(ValueError, match="k: expected a positive integer"):
        advantages.k_step_advantages(r, v, nv, term, trunc, 0.9, 0)
    with pytest.raises(ValueError, match="gamma"):
        advantages.k_step_advantages(r, v, nv, term, trunc, 1.5, 2)
    with pytest.raises(ValueError, match="next_values"):
        advantages.k_step_advantages(r, v, nv[:-1], term, trunc, 0.9, 2)
    with pytest.raises(ValueError, match="lam"):
        advantages.lambda_average(torch.zeros(2, 3), -0.1)
    with pytest.raises(ValueError, match="k_step"):
        advantages.lambda_average(torch.zeros(3), 0.5)
