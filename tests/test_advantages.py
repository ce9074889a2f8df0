"""TD residuals, GAE, k-step advantages and their λ-average: hand-worked examples, naive reference loops, the λ limits, terminated vs truncated, the sympy identity."""

import pytest
import torch

import ppo_edu as pe
from ppo_edu import advantages, symbolic


def naive_gae(r, v, nv, term, trunc, gamma, lam):
    """Â_t = Σ_l (γλ)^l δ_{t+l}, summed forward until the episode of t ends."""
    T = len(r)
    delta = [r[t] + gamma * (0.0 if term[t] else nv[t]) - v[t] for t in range(T)]
    out = []
    for t in range(T):
        total, w = 0.0, 1.0
        for k in range(t, T):
            total += w * delta[k]
            if term[k] or trunc[k]:
                break
            w *= gamma * lam
        out.append(total)
    return out


def test_hand_worked_three_steps():
    # r = (1, 1, 1), V = (0.5, 0.4, 0.3), V(s_3) = 0.2, γ = 0.9, λ = 0.5, no episode end.
    r, v, nv = [1.0, 1.0, 1.0], [0.5, 0.4, 0.3], [0.4, 0.3, 0.2]
    d = pe.advantages.td_residuals(r, v, nv, None, 0.9)
    # δ_0 = 1 + 0.36 − 0.5 = 0.86,  δ_1 = 1 + 0.27 − 0.4 = 0.87,  δ_2 = 1 + 0.18 − 0.3 = 0.88
    assert d.tolist() == pytest.approx([0.86, 0.87, 0.88])
    a = pe.advantages.gae(r, v, nv, None, None, 0.9, 0.5)
    # Â_2 = 0.88,  Â_1 = 0.87 + 0.45·0.88 = 1.266,  Â_0 = 0.86 + 0.45·1.266 = 1.4297
    assert a.tolist() == pytest.approx([1.4297, 1.266, 0.88])


def test_termination_drops_bootstrap_and_stops_sum():
    r, v, nv = [1.0, 1.0, 1.0], [0.5, 0.4, 0.3], [0.4, 99.0, 0.2]
    a = pe.advantages.gae(r, v, nv, [False, True, False], None, 0.9, 0.5)
    # δ_1 = 1 − 0.4 = 0.6 (V(s_2) ignored: terminal), Â_1 = 0.6 (sum stops), Â_0 = 0.86 + 0.45·0.6
    assert a.tolist() == pytest.approx([0.86 + 0.45 * 0.6, 0.6, 0.88])


def test_truncation_bootstraps_but_stops_sum():
    r, v = [1.0, 1.0, 1.0], [0.5, 0.4, 0.3]
    nv = [0.4, 2.0, 0.2]  # V of the real final observation after step 1 is 2.0
    a = pe.advantages.gae(r, v, nv, None, [False, True, False], 0.9, 0.5)
    d1 = 1.0 + 0.9 * 2.0 - 0.4
    assert a.tolist() == pytest.approx([0.86 + 0.45 * d1, d1, 0.88])
    term = pe.advantages.gae(r, v, nv, [False, True, False], None, 0.9, 0.5)
    assert float(a[1] - term[1]) == pytest.approx(0.9 * 2.0)  # the bootstrap is the only difference


@pytest.mark.parametrize("gamma, lam", [(0.99, 0.95), (0.9, 0.0), (1.0, 1.0), (0.5, 0.7)])
def test_matches_naive_loop(gamma, lam):
    g = torch.Generator().manual_seed(3)
    T, N = 20, 4
    r, v, nv = (torch.randn(T, N, generator=g, dtype=torch.float64) for _ in range(3))
    term = torch.rand(T, N, generator=g) < 0.15
    trunc = (torch.rand(T, N, generator=g) < 0.1) & ~term
    got = pe.advantages.gae(r, v, nv, term, trunc, gamma, lam)
    for n in range(N):
        want = naive_gae(r[:, n].tolist(), v[:, n].tolist(), nv[:, n].tolist(), term[:, n].tolist(),
                         trunc[:, n].tolist(), gamma, lam)
        assert got[:, n].tolist() == pytest.approx(want, abs=1e-10)


def test_lambda_zero_is_td_residual():
    g = torch.Generator().manual_seed(4)
    r, v, nv = (torch.randn(10, 3, generator=g) for _ in range(3))
    term = torch.rand(10, 3, generator=g) < 0.2
    assert torch.allclose(pe.advantages.gae(r, v, nv, term, None, 0.97, 0.0),
                          pe.advantages.td_residuals(r, v, nv, term, 0.97))


def test_lambda_one_is_monte_carlo_return_minus_value():
    g = torch.Generator().manual_seed(5)
    T = 15
    r, v = torch.randn(T, 2, generator=g, dtype=torch.float64), torch.randn(T, 2, generator=g, dtype=torch.float64)
    term = torch.zeros(T, 2, dtype=torch.bool)
    term[6, 0] = term[T - 1, 0] = term[9, 1] = term[T - 1, 1] = True  # every episode terminates inside the batch
    nv = pe.advantages.bootstrap_next_values(v, torch.zeros(2, dtype=torch.float64))
    adv = pe.advantages.gae(r, v, nv, term, None, 0.95, 1.0)
    mc = pe.returns.discounted_returns(r, 0.95, dones=term)
    assert torch.allclose(adv, mc - v, atol=1e-12)


def test_bootstrap_next_values_uses_final_observation_on_truncation():
    v = torch.tensor([[1.0], [2.0], [3.0]])
    trunc = torch.tensor([[False], [True], [False]])
    final = torch.tensor([[0.0], [7.0], [0.0]])
    nv = pe.advantages.bootstrap_next_values(v, torch.tensor([4.0]), trunc, final)
    assert nv.flatten().tolist() == [2.0, 7.0, 4.0]
    with pytest.raises(ValueError, match="final_values: required where truncated"):
        pe.advantages.bootstrap_next_values(v, torch.tensor([4.0]), trunc)


def test_gae_carries_no_gradient():
    v = torch.tensor([0.5, 0.4], requires_grad=True)
    a = pe.advantages.gae([1.0, 1.0], v, torch.tensor([0.4, 0.0]), [False, True], None, 0.9, 0.9)
    assert not a.requires_grad


def test_normalize_over_all_entries():
    a = torch.tensor([[1.0, 2.0], [3.0, 10.0]])
    n = pe.advantages.normalize(a)
    assert float(n.mean()) == pytest.approx(0.0, abs=1e-6)
    assert float(n.std()) == pytest.approx(1.0, abs=1e-6)
    assert torch.allclose(n, (a - a.mean()) / a.std(), atol=1e-6)
    with pytest.raises(ValueError, match="at least 2 entries"):
        pe.advantages.normalize(torch.tensor([1.0]))


@pytest.mark.parametrize(
    "change, match",
    [
        ({"gamma": 1.01}, r"gamma: expected a number in \[0, 1\], got 1.01"),
        ({"lam": -0.5}, r"lam: expected a number in \[0, 1\], got -0.5"),
        ({"lam": float("nan")}, r"lam: expected a number in \[0, 1\]"),
        ({"values": [0.0, 0.0]}, r"values: expected the shape of rewards \(3,\), got \(2,\)"),
        ({"next_values": [0.0, float("inf"), 0.0]}, r"next_values: expected finite values, got 0 NaN and 1 inf"),
        ({"rewards": [1.0, float("nan"), 0.0]}, r"rewards: expected finite values, got 1 NaN"),
        ({"terminated": [True, False]}, r"terminated: expected the shape of rewards \(3,\), got \(2,\)"),
        ({"truncated": [[True, False, False]]}, r"truncated: expected the shape of rewards"),
    ],
)
def test_bad_input_raises(change, match):
    kwargs = dict(rewards=[1.0, 1.0, 1.0], values=[0.0] * 3, next_values=[0.0] * 3, terminated=None,
                  truncated=None, gamma=0.9, lam=0.9)
    kwargs.update(change)
    with pytest.raises(ValueError, match=match):
        pe.advantages.gae(**kwargs)


def test_an_empty_rollout_is_a_clear_error_not_an_index_error():
    empty = torch.zeros(0, 3)
    for fn in (
        lambda: pe.advantages.gae(empty, empty, empty, None, None, 0.99, 0.95),
        lambda: pe.advantages.td_residuals(empty, empty, empty, None, 0.99),
        lambda: pe.advantages.k_step_advantages(empty, empty, empty, None, None, 0.99, 2),
    ):
        with pytest.raises(ValueError, match=r"rewards: expected at least one time step \(T >= 1\), got shape \(0, 3\)"):
            fn()


def test_advantage_from_action_values_by_hand():
    q = torch.tensor([[1.0, 3.0], [2.0, 2.0]], dtype=torch.float64)
    pi = torch.tensor([[0.5, 0.5], [0.9, 0.1]], dtype=torch.float64)
    a = pe.advantages.from_action_values(q, pi)  # V = (2, 2)
    assert torch.equal(a, torch.tensor([[-1.0, 1.0], [0.0, 0.0]], dtype=torch.float64))
    assert torch.allclose((pi * a).sum(1), torch.zeros(2, dtype=torch.float64))  # Σ_a π A = 0
    with pytest.raises(ValueError, match="pi"):
        pe.advantages.from_action_values(q, torch.ones(2, 2))
    with pytest.raises(ValueError, match="q"):
        pe.advantages.from_action_values(torch.ones(3), torch.ones(3))


# --- k-step advantages and the λ-average ---


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
