"""Importance sampling: ratios, estimators, their exact variance, effective sample size, the surrogate.

To estimate E_{a~π}[f(a)] with samples a_i ~ μ (the behaviour policy),

    E_{a~π}[f(a)] = Σ_a μ(a) (π(a)/μ(a)) f(a) = E_{a~μ}[w(a) f(a)],   w = π/μ          (4.1)

The estimator (1/N) Σ w_i f_i is unbiased, but its variance

    Var_μ[w f] = Σ_a π(a)² f(a)² / μ(a) − (E_π f)²                                      (4.2)

grows without bound as π moves away from μ. The effective sample size
ESS = (Σ w_i)² / Σ w_i² (4.3) says how many samples from π the N weighted ones are worth;
its expectation is about N / E_μ[w²].
"""

from __future__ import annotations

from typing import Any

import torch

from .validate import as_float, check_ndim, check_same_shape

Tensor = torch.Tensor


def _t(name: str, x: Any) -> Tensor:
    return as_float(name, x, int_dtype=torch.float64)


def _dist(name: str, p: Any) -> Tensor:
    t = check_ndim(name, _t(name, p), (1,), "(K,)")
    if bool((t < 0).any()) or abs(float(t.sum()) - 1) > 1e-6:
        raise ValueError(f"{name}: expected probabilities >= 0 that sum to 1, got sum {float(t.sum()):.6g}")
    return t


def ratios(logp_target: Any, logp_behaviour: Any) -> Tensor:
    """w = π(a)/μ(a) = exp(log π(a) − log μ(a)), computed from log-probabilities, eq. (4.1).

    Shapes:
        logp_target, logp_behaviour, result: any matching shape.
    """
    lt, lb = _t("logp_target", logp_target), _t("logp_behaviour", logp_behaviour)
    check_same_shape("logp_target", lt, logp_behaviour=lb)
    return torch.exp(lt - lb)


def is_estimate(f_values: Any, logp_target: Any, logp_behaviour: Any) -> Tensor:
    """The ordinary importance-sampling estimate (1/N) Σ_i w_i f(a_i) of E_π[f], unbiased, eq. (4.1).

    Shapes:
        f_values, logp_target, logp_behaviour: (N,) (or (N, ...) for several estimates);  result: (...).
    """
    f = _t("f_values", f_values)
    w = ratios(logp_target, logp_behaviour)
    check_same_shape("f_values", f, logp_target=w)
    if f.ndim == 0 or f.shape[0] == 0:
        raise ValueError(f"f_values: expected at least one sample along dim 0, got shape {tuple(f.shape)}")
    return (w * f).mean(0)


def self_normalised_estimate(f_values: Any, logp_target: Any, logp_behaviour: Any) -> Tensor:
    """Σ w_i f_i / Σ w_i: biased for finite N (consistent), usually lower variance than (4.1).

    Shapes:
        as :func:`is_estimate`.
    """
    f = _t("f_values", f_values)
    w = ratios(logp_target, logp_behaviour)
    check_same_shape("f_values", f, logp_target=w)
    return (w * f).sum(0) / w.sum(0)


def effective_sample_size(weights: Any) -> Tensor:
    """ESS = (Σ_i w_i)² / Σ_i w_i², eq. (4.3): N for equal weights, 1 when one weight dominates.

    Shapes:
        weights: (N,) or (N, M) (one ESS per column);  result: () or (M,).
    """
    w = check_ndim("weights", _t("weights", weights), (1, 2), "(N,) or (N, M)")
    if w.shape[0] == 0 or bool((w < 0).any()):
        raise ValueError(f"weights: expected at least one non-negative weight, got shape {tuple(w.shape)}")
    sq = (w**2).sum(0)
    if bool((sq <= 0).any()):
        raise ValueError("weights: expected at least one positive weight per column, got all zeros")
    return w.sum(0) ** 2 / sq


def kl_divergence(p: Any, q: Any) -> Tensor:
    """KL(p ‖ q) = Σ_a p(a) log(p(a)/q(a)) for two categorical distributions given as probabilities (0 log 0 = 0).

    (:func:`ppo_edu.losses.categorical_kl` is the same divergence from logits, with gradients, per row.)

    Shapes:
        p, q: (K,);  result: ().
    """
    pp, qq = _dist("p", p), _dist("q", q)
    check_same_shape("p", pp, q=qq)
    if bool(((qq == 0) & (pp > 0)).any()):
        return torch.tensor(float("inf"), dtype=pp.dtype)
    nz = pp > 0
    return (pp[nz] * (pp[nz].log() - qq[nz].log())).sum()


def second_moment(target: Any, behaviour: Any) -> Tensor:
    """E_μ[w²] = Σ_a π(a)²/μ(a) = 1 + χ²(π ‖ μ): N / E_μ[w²] approximates the expected ESS.

    Shapes:
        target, behaviour: (K,);  result: ().
    """
    p, mu = _dist("target", target), _dist("behaviour", behaviour)
    check_same_shape("target", p, behaviour=mu)
    if bool(((mu == 0) & (p > 0)).any()):
        raise ValueError("behaviour: expected μ(a) > 0 wherever π(a) > 0 (otherwise IS cannot see those actions)")
    nz = p > 0
    return (p[nz] ** 2 / mu[nz]).sum()


def chi_squared(target: Any, behaviour: Any) -> Tensor:
    """χ²(π ‖ μ) = Σ_a (π(a) − μ(a))²/μ(a) = E_μ[w²] − 1, the divergence that sets the ESS, eq. (4.3b).

    Shapes:
        target, behaviour: (K,);  result: ().
    """
    return second_moment(target, behaviour) - 1.0  # Σ (π − μ)²/μ = Σ π²/μ − 2 Σ π + Σ μ


def ess_fraction(target: Any, behaviour: Any) -> Tensor:
    """The large-N ESS/N of weights w = π/μ, 1/E_μ[w²] = 1/(1 + χ²(π ‖ μ)), eq. (4.3b).

    It lies below exp(−KL(π ‖ μ)) (Jensen: KL = E_π[log w] ≤ log E_π[w] = log E_μ[w²]).

    Shapes:
        target, behaviour: (K,);  result: ().
    """
    return 1 / (1 + chi_squared(target, behaviour))


def trajectory_ess_fraction(target: Any, behaviour: Any, steps: int) -> Tensor:
    """The large-N ESS/N of whole-trajectory weights W = Π_{t<T} π(a_t)/μ(a_t) over T independent draws.

    The draws are independent, so E_μ[W²] = Π_t E_μ[w_t²] = (1 + χ²(π ‖ μ))^T and the fraction is
    (1 + χ²)^(−T): it falls exponentially with the length, eq. (4.4).

    Shapes:
        target, behaviour: (K,);  steps: an integer T ≥ 1;  result: ().
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps: expected an integer T >= 1, got {steps!r}")
    return ess_fraction(target, behaviour) ** steps


def is_variance(target: Any, behaviour: Any, f: Any) -> Tensor:
    """Exact variance of the one-sample IS estimate w(a) f(a), a ~ μ, eq. (4.2).

    Shapes:
        target, behaviour, f: (K,);  result: ().
    """
    p, mu = _dist("target", target), _dist("behaviour", behaviour)
    fv = _t("f", f)
    check_same_shape("target", p, behaviour=mu, f=fv)
    if bool(((mu == 0) & (p > 0)).any()):
        raise ValueError("behaviour: expected μ(a) > 0 wherever π(a) > 0 (otherwise IS is biased)")
    nz = p > 0
    return (p[nz] ** 2 * fv[nz] ** 2 / mu[nz]).sum() - (p * fv).sum() ** 2


def surrogate(logp_new: Any, logp_old: Any, weights: Any, mask: Any | None = None) -> Tensor:
    """The sample surrogate L(θ) = (1/N) Σ_n Σ_t ρ_t ψ_t, ρ_t = π_θ(a_t|s_t)/π_old(a_t|s_t), eq. (4.8).

    ``logp_old`` and ``weights`` are data (detached). At θ = θ_old every ρ_t = 1 and, since
    ∇ρ = ρ ∇log π, the gradient of L equals the REINFORCE estimate with weights ψ_t.

    Shapes:
        logp_new, logp_old, weights, mask: (T, N);  result: ().
    """
    new = check_ndim("logp_new", _t("logp_new", logp_new), (2,), "(T, N)")
    old, w = _t("logp_old", logp_old).detach(), _t("weights", weights).detach()
    check_same_shape("logp_new", new, logp_old=old, weights=w)
    m = torch.ones_like(new) if mask is None else _t("mask", mask).to(new.dtype)
    check_same_shape("logp_new", new, mask=m)
    return (torch.exp(new - old) * w * m).sum() / new.shape[1]
