"""The PPO losses and the diagnostics that go with them.

The probability ratio of the new policy to the one that collected the data is

    ρ_t(θ) = π_θ(a_t|s_t) / π_θ_old(a_t|s_t) = exp(log π_θ − log π_θ_old)           (5.1)

and PPO-clip maximises

    L^CLIP(θ) = E_t[ min( ρ_t Â_t, clip(ρ_t, 1 − ε, 1 + ε) Â_t ) ]                     (5.2)

Optimisers minimise, so :func:`clipped_surrogate_loss` returns −L^CLIP. ``logp_old`` and the
advantages are constants of the update: they are detached here, whatever the caller passes.

Shapes: any matching shapes, typically (B,) for a minibatch or (T, N) for a rollout; an
optional ``mask`` (same shape, 0/1) leaves padded entries out of every mean, as for language
models where sequences have different lengths.
"""

from __future__ import annotations

from typing import Any

import torch

from .validate import as_float, check_positive, check_same_shape

Tensor = torch.Tensor


def masked_mean(x: Tensor, mask: Any | None = None) -> Tensor:
    """Mean of ``x`` over the entries where ``mask`` is 1 (all entries if ``mask`` is None).

    Shapes:
        x, mask: any matching shape;  result: ().
    """
    if mask is None:
        return x.mean()
    m = as_float("mask", mask).to(x.device)
    check_same_shape("x", x, mask=m)
    total = m.sum()
    if float(total) <= 0:
        raise ValueError("mask: expected at least one entry equal to 1, got an all-zero mask")
    return (x * m).sum() / total


def ratio(logp_new: Any, logp_old: Any) -> Tensor:
    """ρ = exp(log π_new − log π_old), eq. (5.1); ``logp_old`` is detached.

    Shapes:
        logp_new, logp_old, result: any matching shape.
    """
    new, old = as_float("logp_new", logp_new), as_float("logp_old", logp_old)
    check_same_shape("logp_new", new, logp_old=old)
    return torch.exp(new - old.detach())


def clipped_surrogate(ratio: Any, advantages: Any, clip_eps: float) -> Tensor:
    """The per-sample PPO-clip objective min(ρÂ, clip(ρ, 1−ε, 1+ε)Â), eq. (5.2), to be maximised.

    Shapes:
        ratio, advantages, result: any matching shape.
    """
    r, a = as_float("ratio", ratio), as_float("advantages", advantages)
    check_same_shape("ratio", r, advantages=a)
    eps = check_positive("clip_eps", clip_eps)
    a = a.detach()
    return torch.minimum(r * a, torch.clamp(r, 1.0 - eps, 1.0 + eps) * a)


def clipped_surrogate_grad(ratio: Any, advantages: Any, clip_eps: float) -> Tensor:
    """∂/∂log π_θ(a_t|s_t) of the per-sample objective min(ρÂ, clip(ρ, 1−ε, 1+ε)Â), eq. (5.2g).

    ρÂ (since ∂ρ/∂log π = ρ), except in the clipped cases 3 (Â > 0, ρ > 1+ε) and 4 (Â < 0,
    ρ < 1−ε), where it is 0. Written out, not by autograd (the tests compare the two).

    Shapes:
        ratio, advantages, result: any matching shape.
    """
    r, a = as_float("ratio", ratio).detach(), as_float("advantages", advantages).detach()
    check_same_shape("ratio", r, advantages=a)
    eps = check_positive("clip_eps", clip_eps)
    clipped = ((a > 0) & (r > 1 + eps)) | ((a < 0) & (r < 1 - eps))
    return torch.where(clipped, torch.zeros_like(r), r * a)


def clipped_surrogate_loss(
    logp_new: Any,
    logp_old: Any,
    advantages: Any,
    clip_eps: float = 0.2,
    mask: Any | None = None,
) -> Tensor:
    """The PPO-clip policy loss −E_t[min(ρ_t Â_t, clip(ρ_t, 1−ε, 1+ε) Â_t)], eq. (5.2).

    Shapes:
        logp_new, logp_old, advantages, mask: any matching shape;  result: ().
    """
    rho = ratio(logp_new, logp_old)
    return -masked_mean(clipped_surrogate(rho, advantages, clip_eps), mask)


def value_loss(
    values: Any,
    returns: Any,
    values_old: Any | None = None,
    clip_eps: float | None = None,
    mask: Any | None = None,
) -> Tensor:
    """Critic loss ½ E[(V − R)²], optionally clipped around the old values.

    With ``clip_eps`` the prediction may not gain by moving more than ε from V_old:

        V_clip = V_old + clip(V − V_old, −ε, ε)
        L^V = ½ E[ max( (V − R)², (V_clip − R)² ) ]                                  (8.2)

    The max (not the min) makes it a pessimistic bound, like the policy clip.

    Shapes:
        values, returns, values_old, mask: any matching shape;  result: ().
    """
    v, target = as_float("values", values), as_float("returns", returns).detach()
    check_same_shape("values", v, returns=target)
    err = (v - target) ** 2
    if clip_eps is not None:
        if values_old is None:
            raise ValueError("values_old: required when clip_eps is given (the clip is around the old values)")
        eps = check_positive("clip_eps", clip_eps)
        old = as_float("values_old", values_old).detach()
        check_same_shape("values", v, values_old=old)
        v_clip = old + torch.clamp(v - old, -eps, eps)
        err = torch.maximum(err, (v_clip - target) ** 2)
    return 0.5 * masked_mean(err, mask)


def categorical_entropy(logits: Any, mask: Any | None = None) -> Tensor:
    """Mean entropy H = −Σ_a π(a) log π(a) of categorical policies given by ``logits``.

    Shapes:
        logits: (..., A);  mask: (...);  result: ().
    """
    z = as_float("logits", logits)
    if z.ndim < 1 or z.shape[-1] < 1:
        raise ValueError(f"logits: expected shape (..., A) with A >= 1, got {tuple(z.shape)}")
    logp = torch.log_softmax(z, dim=-1)
    ent = -(logp.exp() * logp).sum(dim=-1)
    return masked_mean(ent, mask)


def approx_kl(logp_new: Any, logp_old: Any, estimator: str = "k3", mask: Any | None = None) -> Tensor:
    """Sample estimate of KL(π_old ‖ π_new) from actions drawn by π_old.

    With log ρ = log π_new − log π_old:
        k1 = −log ρ                  unbiased, but single samples can be negative
        k3 = (ρ − 1) − log ρ         unbiased and never negative (lower variance)

    Shapes:
        logp_new, logp_old, mask: any matching shape;  result: ().
    """
    new, old = as_float("logp_new", logp_new), as_float("logp_old", logp_old)
    check_same_shape("logp_new", new, logp_old=old)
    log_rho = (new - old).detach()
    if estimator == "k1":
        per_sample = -log_rho
    elif estimator == "k3":
        per_sample = torch.expm1(log_rho) - log_rho
    else:
        raise ValueError(f"estimator: expected 'k1' or 'k3', got {estimator!r}")
    return masked_mean(per_sample, mask)


def clip_fraction(ratio: Any, clip_eps: float, mask: Any | None = None) -> Tensor:
    """Fraction of samples whose ratio lies outside [1 − ε, 1 + ε] (where the clip may act).

    Shapes:
        ratio, mask: any matching shape;  result: ().
    """
    r = as_float("ratio", ratio).detach()
    eps = check_positive("clip_eps", clip_eps)
    return masked_mean(((r - 1.0).abs() > eps).to(r.dtype), mask)


def explained_variance(predictions: Any, targets: Any) -> Tensor:
    """1 − Var[y − ŷ] / Var[y]: 1 is a perfect critic, 0 is no better than a constant, < 0 worse.

    Returns NaN when the targets have zero variance (nothing to explain).

    Shapes:
        predictions, targets: any matching shape;  result: ().
    """
    yhat, y = as_float("predictions", predictions).detach(), as_float("targets", targets).detach()
    check_same_shape("predictions", yhat, targets=y)
    var_y = y.var(unbiased=False)
    if float(var_y) == 0.0:
        return torch.tensor(float("nan"))
    return 1.0 - (y - yhat).var(unbiased=False) / var_y


SIX_CASES = (
    # (case, advantage sign, where the ratio is, gradient w.r.t. ρ is zero?)
    (1, "A > 0", "ρ < 1 − ε", False),
    (2, "A > 0", "1 − ε ≤ ρ ≤ 1 + ε", False),
    (3, "A > 0", "ρ > 1 + ε", True),
    (4, "A < 0", "ρ < 1 − ε", True),
    (5, "A < 0", "1 − ε ≤ ρ ≤ 1 + ε", False),
    (6, "A < 0", "ρ > 1 + ε", False),
)


def six_cases_table(clip_eps: float = 0.2, advantage: float = 1.0) -> list[dict[str, Any]]:
    """The six clipping cases, each evaluated with autograd at a representative ratio.

    For each case returns ``{"case", "A", "rho", "objective", "grad", "clipped"}`` where
    ``grad`` = ∂/∂ρ of min(ρA, clip(ρ, 1−ε, 1+ε)A) computed by autograd and ``clipped`` says
    whether the gradient is exactly zero (the sample no longer pushes the policy).
    """
    eps = check_positive("clip_eps", clip_eps)
    a_mag = abs(check_positive("advantage", abs(advantage)))
    rhos = (1.0 - 2 * eps, 1.0, 1.0 + 2 * eps)
    rows = []
    for case, sign_text, where, _ in SIX_CASES:
        a = a_mag if sign_text == "A > 0" else -a_mag
        rho = torch.tensor(rhos[(case - 1) % 3], dtype=torch.float64, requires_grad=True)
        obj = clipped_surrogate(rho, torch.tensor(a, dtype=torch.float64), eps)
        (grad,) = torch.autograd.grad(obj, rho)
        rows.append(
            {
                "case": case,
                "A": a,
                "where": where,
                "rho": round(float(rho.detach()), 6),
                "objective": float(obj.detach()),
                "grad": float(grad),
                "clipped": float(grad) == 0.0,
            }
        )
    return rows


# --- PPO-penalty (notebook 05) -----------------------------------------------------------------
def categorical_kl(logits_p: Any, logits_q: Any) -> Tensor:
    """Exact KL(p ‖ q) = Σ_a p(a) (log p(a) − log q(a)) between categorical distributions, per row.

    Shapes:
        logits_p, logits_q: (..., A);  result: (...).
    """
    zp, zq = as_float("logits_p", logits_p), as_float("logits_q", logits_q)
    check_same_shape("logits_p", zp, logits_q=zq)
    if zp.ndim < 1:
        raise ValueError(f"logits_p: expected shape (..., A), got {tuple(zp.shape)}")
    logp, logq = torch.log_softmax(zp, -1), torch.log_softmax(zq, -1)
    return (logp.exp() * (logp - logq)).sum(-1)


def kl_penalty_loss(
    logp_new: Any,
    logp_old: Any,
    advantages: Any,
    kl: Any,
    beta: float,
    mask: Any | None = None,
) -> Tensor:
    """The PPO-penalty loss −E_t[ρ_t Â_t − β KL_t], eq. (5.3).

    ``kl`` holds KL(π_old(·|s_t) ‖ π_θ(·|s_t)) per sample, computed with gradient (e.g. by
    :func:`categorical_kl` of the old and new logits). β ≥ 0 is a number, adapted between
    updates by :func:`adaptive_beta`.

    Shapes:
        logp_new, logp_old, advantages, kl, mask: any matching shape;  result: ().
    """
    rho = ratio(logp_new, logp_old)
    a, d = as_float("advantages", advantages).detach(), as_float("kl", kl)
    check_same_shape("logp_new", rho, advantages=a, kl=d)
    b = float(beta)
    if not b >= 0.0:
        raise ValueError(f"beta: expected a number >= 0, got {beta!r}")
    return -masked_mean(rho * a - b * d, mask)


def adaptive_beta(beta: float, kl: float, kl_target: float, factor: float = 2.0, tolerance: float = 1.5) -> float:
    """The adaptive-β rule of PPO-penalty, eq. (5.4) (Schulman et al. 2017, §4).

    After an update whose mean KL is ``kl``:
    * kl > tolerance · target: the policy moved too far, β ← β · factor;
    * kl < target / tolerance: it barely moved, β ← β / factor;
    * otherwise β stays.
    """
    b = check_positive("beta", beta)
    target = check_positive("kl_target", kl_target)
    f, tol = check_positive("factor", factor), check_positive("tolerance", tolerance)
    d = float(kl)
    if not d >= 0.0:
        raise ValueError(f"kl: expected a number >= 0, got {kl!r}")
    if f <= 1.0 or tol <= 1.0:
        raise ValueError(f"factor and tolerance: expected numbers > 1, got factor={factor!r}, tolerance={tolerance!r}")
    if d > tol * target:
        return b * f
    if d < target / tol:
        return b / f
    return b
