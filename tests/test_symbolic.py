"""symbolic (01–04): each derivation holds, and the checks can fail (a wrong closed form is caught)."""

import sympy as sp

import ppo_edu as pe

sym = pe.symbolic


def test_log_derivative_trick():
    lhs, rhs, ok = sym.log_derivative_trick()
    assert ok and lhs.has(sp.Derivative)


def test_softmax_score_and_a_wrong_closed_form_is_detected():
    for k in (2, 3, 4):
        jac, closed, ok = sym.softmax_score(k)
        assert ok and jac.shape == (k, k)
    jac, closed, _ = sym.softmax_score(3)
    wrong = sp.Matrix(3, 3, lambda i, j: (1 if i == j else 0))  # forgetting the −π_j
    assert any(sp.simplify(e) != 0 for e in (jac - wrong))


def test_expected_score_zero_and_baseline_unbiased():
    vec, ok = sym.expected_score_is_zero(3)
    assert ok and vec.shape == (3, 1)
    diff, ok = sym.baseline_unbiased(3)
    assert ok and diff.shape == (3, 1)


def test_optimal_baseline():
    quad, best, ok = sym.optimal_baseline()
    m0, m1 = sp.symbols("m0", positive=True), sp.symbols("m1", real=True)
    assert ok and sp.simplify(best - m1 / m0) == 0


def test_importance_identity_and_surrogate_gradient():
    lhs, rhs, ok = sym.importance_sampling_identity(4)
    assert ok
    grad_l, pg_expr, ok = sym.surrogate_gradient_at_old(3)
    assert ok and grad_l.shape == (3, 1)


def test_bad_sizes_raise():
    import pytest

    with pytest.raises(ValueError, match="n_actions"):
        sym.softmax_score(1)
