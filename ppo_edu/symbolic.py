"""The sympy derivations the notebooks display and assert.

Each function returns sympy objects (and, where a claim is made, a boolean that the
notebook asserts), so the maths is checked symbolically rather than typed in by hand.
"""

from __future__ import annotations

import sympy as sp

from .validate import check_int


# --- 01–04 policy gradient, baseline, advantage, importance sampling -------------------------
def _softmax_symbols(n_actions: int) -> tuple[tuple[sp.Symbol, ...], list[sp.Expr]]:
    check_int("n_actions", n_actions, minimum=2)
    theta = sp.symbols(f"theta_0:{n_actions}", real=True)
    z = sum(sp.exp(t) for t in theta)
    return theta, [sp.exp(t) / z for t in theta]


def log_derivative_trick() -> tuple[sp.Expr, sp.Expr, bool]:
    """∇p = p ∇log p for any positive differentiable p(θ), eq. (1.5).

    Returns (∇p, p ∇log p, whether sympy finds them equal).
    """
    theta = sp.symbols("theta", real=True)
    p = sp.Function("p", positive=True)(theta)
    lhs, rhs = sp.Derivative(p, theta), p * sp.Derivative(sp.log(p), theta)  # kept unevaluated for display
    return lhs, rhs, sp.simplify(lhs.doit() - rhs.doit()) == 0


def softmax_score(n_actions: int = 3) -> tuple[sp.Matrix, sp.Matrix, bool]:
    """∂ log π_i / ∂θ_j = 1[i = j] − π_j for π = softmax(θ), eq. (1.8).

    Returns (the Jacobian of log π computed by sympy, the closed form, whether they agree).
    Row i is the gradient of log π_i.
    """
    theta, pi = _softmax_symbols(n_actions)
    jac = sp.Matrix(n_actions, n_actions, lambda i, j: sp.diff(sp.log(pi[i]), theta[j]))
    closed = sp.Matrix(n_actions, n_actions, lambda i, j: (1 if i == j else 0) - pi[j])
    return jac, closed, all(sp.simplify(e) == 0 for e in (jac - closed))


def expected_score_is_zero(n_actions: int = 3) -> tuple[sp.Matrix, bool]:
    """E_{a~π}[∇_θ log π(a)] = Σ_a π(a) ∇log π(a) = ∇Σ_a π(a) = 0 for the softmax, eq. (2.1).

    Returns (the expectation, one entry per θ_j, simplified; whether every entry is 0).
    """
    theta, pi = _softmax_symbols(n_actions)
    expectation = sp.Matrix(
        [sp.simplify(sum(pi[i] * sp.diff(sp.log(pi[i]), theta[j]) for i in range(n_actions))) for j in range(n_actions)]
    )
    return expectation, all(e == 0 for e in expectation)


def baseline_unbiased(n_actions: int = 3) -> tuple[sp.Matrix, bool]:
    """E_{a~π}[(f(a) − b) ∇log π(a)] − E_{a~π}[f(a) ∇log π(a)] = 0 for any f and any b, eq. (2.2).

    Returns (the difference for symbolic f_0.., b; whether it is identically 0).
    """
    theta, pi = _softmax_symbols(n_actions)
    f = sp.symbols(f"f_0:{n_actions}", real=True)
    b = sp.symbols("b", real=True)
    diff = sp.Matrix([
        sp.simplify(sum(pi[i] * ((f[i] - b) - f[i]) * sp.diff(sp.log(pi[i]), theta[j]) for i in range(n_actions)))
        for j in range(n_actions)
    ])
    return diff, all(e == 0 for e in diff)


def action_dependent_baseline_bias(n_actions: int = 3) -> tuple[sp.Matrix, bool, bool, sp.Matrix]:
    """What a baseline b(a) that depends on the action does to the expectation, notebook 02 (2.2').

    For π = softmax(θ), symbolic values f_0.. and one symbolic baseline b_i per action:

        E_{a~π}[(f(a) − b(a)) ∇log π(a)] − E_{a~π}[f(a) ∇log π(a)] = −Σ_i π_i b_i ∇log π_i,

    whose j-th component is −π_j (b_j − Σ_i π_i b_i) by (1.8): zero for every θ only if all b_i are
    equal (a constant, (2.2)). Returns (the difference, one entry per θ_j, simplified; whether it
    equals −π_j (b_j − Σ_i π_i b_i); whether it vanishes when every b_i is one symbol b; the
    difference at θ = 0 with b = (1, 0, …, 0), which is not zero).
    """
    theta, pi = _softmax_symbols(n_actions)
    f = sp.symbols(f"f_0:{n_actions}", real=True)
    b = sp.symbols(f"b_0:{n_actions}", real=True)

    def expectation(weight):
        return sp.Matrix([sum(pi[i] * weight[i] * sp.diff(sp.log(pi[i]), theta[j]) for i in range(n_actions))
                          for j in range(n_actions)])

    diff = (expectation([f[i] - b[i] for i in range(n_actions)]) - expectation(f)).applyfunc(sp.simplify)
    mean_b = sum(pi[i] * b[i] for i in range(n_actions))
    closed = sp.Matrix([-pi[j] * (b[j] - mean_b) for j in range(n_actions)])
    matches = all(sp.simplify(e) == 0 for e in (diff - closed))
    same = sp.symbols("b", real=True)
    vanishes_for_constant = all(sp.simplify(e.subs(dict.fromkeys(b, same))) == 0 for e in diff)
    example = diff.subs({**dict.fromkeys(theta, 0), **{b[i]: (1 if i == 0 else 0) for i in range(n_actions)}})
    return diff, matches, vanishes_for_constant, example.applyfunc(sp.nsimplify)


def optimal_baseline() -> tuple[sp.Expr, sp.Expr, bool]:
    """The constant b minimising E[‖g‖²(R − b)²] is b* = E[‖g‖² R] / E[‖g‖²], eq. (2.4).

    With the moments m0 = E‖g‖², m1 = E[‖g‖² R], m2 = E[‖g‖² R²], the second moment is the
    quadratic m2 − 2 b m1 + b² m0 (2.3). Returns (that quadratic, its minimiser, whether the
    minimiser is m1/m0 and the curvature 2·m0 is positive).
    """
    b = sp.symbols("b", real=True)
    m0 = sp.symbols("m0", positive=True)
    m1, m2 = sp.symbols("m1 m2", real=True)
    quad = m2 - 2 * b * m1 + b**2 * m0
    (best,) = sp.solve(sp.diff(quad, b), b)
    return quad, best, sp.simplify(best - m1 / m0) == 0 and bool(sp.diff(quad, b, 2).is_positive)


def importance_sampling_identity(n_actions: int = 3) -> tuple[sp.Expr, sp.Expr, bool]:
    """Σ_a μ(a) (π(a)/μ(a)) f(a) = Σ_a π(a) f(a) for symbolic π, μ > 0 and f, eq. (4.1).

    Returns (E_μ[w f], E_π[f], whether they are equal).
    """
    p = sp.symbols(f"pi_0:{n_actions}", positive=True)
    mu = sp.symbols(f"mu_0:{n_actions}", positive=True)
    f = sp.symbols(f"f_0:{n_actions}", real=True)
    ratio = [sp.Mul(p[i], sp.Pow(mu[i], -1, evaluate=False), evaluate=False) for i in range(n_actions)]
    lhs = sp.Add(*[sp.Mul(mu[i], ratio[i], f[i], evaluate=False) for i in range(n_actions)], evaluate=False)
    rhs = sum(p[i] * f[i] for i in range(n_actions))
    return lhs, rhs, sp.simplify(sp.expand(lhs) - rhs) == 0


def surrogate_gradient_at_old(n_actions: int = 3) -> tuple[sp.Matrix, sp.Matrix, bool]:
    """∇_θ E_{a~π_old}[(π_θ(a)/π_old(a)) A(a)] at θ = θ_old equals E_{a~π_old}[A(a) ∇log π_θold(a)], eq. (4.7).

    Softmax policies over ``n_actions`` with symbolic logits θ, θ_old and advantages A.
    Returns (the surrogate's gradient at θ = θ_old, the policy-gradient expression, equal?).
    """
    theta, pi = _softmax_symbols(n_actions)
    old = sp.symbols(f"thetaold_0:{n_actions}", real=True)
    adv = sp.symbols(f"A_0:{n_actions}", real=True)
    at_old = dict(zip(theta, old, strict=True))
    pi_old = [e.subs(at_old) for e in pi]
    surrogate = sum(pi_old[i] * (pi[i] / pi_old[i]) * adv[i] for i in range(n_actions))
    grad_l = sp.Matrix([sp.diff(surrogate, t).subs(at_old) for t in theta])
    pg = sp.Matrix([
        sum(pi_old[i] * adv[i] * sp.diff(sp.log(pi[i]), t).subs(at_old) for i in range(n_actions)) for t in theta
    ])
    return grad_l, pg, all(sp.simplify(e) == 0 for e in (grad_l - pg))


# --- 07 GAE -----------------------------------------------------------------------------------
def gae_identity(horizon: int = 6) -> tuple[sp.Expr, sp.Expr, bool]:
    """The λ-average of k-step advantages equals the discounted sum of TD residuals, eq. (7.4).

    With Â^(k) = Σ_{l<k} γ^l δ_l (eq. 7.2) over a horizon of K steps (every Â^(k) with k ≥ K
    equals Â^(K), so the tail weights Σ_{k≥K}(1 − λ)λ^{k−1} = λ^{K−1} go to the last one):

        (1 − λ) Σ_{k=1}^{K−1} λ^{k−1} Â^(k) + λ^{K−1} Â^(K)  =  Σ_{l<K} (γλ)^l δ_l

    Returns (left side, right side, whether sympy finds their difference is 0).
    """
    check_int("horizon", horizon)
    gamma, lam = sp.symbols("gamma lambda", positive=True)
    delta = sp.symbols(f"delta_0:{horizon}")
    k_step = [sum(gamma**l * delta[l] for l in range(k)) for k in range(1, horizon + 1)]
    lhs = (1 - lam) * sum(lam ** (k - 1) * k_step[k - 1] for k in range(1, horizon)) + lam ** (horizon - 1) * k_step[-1]
    rhs = sum((gamma * lam) ** l * delta[l] for l in range(horizon))
    return lhs, rhs, sp.expand(lhs - rhs) == 0


def gae_identity_coefficient() -> tuple[sp.Expr, bool]:
    """The infinite-horizon identity, one δ at a time: the weight of δ_l in (1 − λ) Σ_{k≥1} λ^{k−1} Â^(k).

    δ_l appears in every Â^(k) with k > l, with factor γ^l, so its weight is
    (1 − λ) γ^l Σ_{k=l+1}^∞ λ^{k−1}; sympy sums the geometric series (for 0 < λ < 1) and the
    result must be (γλ)^l. Returns (the summed weight, whether it equals (γλ)^l).
    """
    gamma = sp.symbols("gamma", positive=True)
    lam = sp.symbols("lambda", positive=True)
    k, l = sp.symbols("k l", integer=True, nonnegative=True)
    weight = (1 - lam) * gamma**l * sp.Sum(lam ** (k - 1), (k, l + 1, sp.oo)).doit()
    weight = sp.simplify(sp.piecewise_fold(weight).subs(sp.Abs(lam) < 1, True))
    if isinstance(weight, sp.Piecewise):
        weight = weight.args[0][0]
    return sp.simplify(weight), sp.simplify(weight - (gamma * lam) ** l) == 0
