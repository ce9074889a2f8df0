"""Score functions, REINFORCE estimators and baselines for a tabular softmax policy.

The policy gradient of J(θ) = E_τ[R(τ)], R(τ) = Σ_t γ^t r_t, is (notebook 01)

    ∇J(θ) = E_τ[ Σ_t ψ_t ∇_θ log π_θ(a_t|s_t) ]                                       (1.7)

with ψ_t = R(τ) (1.7). Notebooks 02–03 show other weights ψ_t with the same expectation:
R(τ) − b (2.2), γ^t G_t (3.2) and γ^t A(s_t, a_t) (3.5). The REINFORCE estimator averages the
bracket over N sampled episodes.

The maths here is for the tabular softmax π_θ(a|s) = softmax(θ[s, :])[a], whose score is

    ∂ log π_θ(a|s) / ∂θ[s', b] = 1[s' = s] (1[b = a] − π_θ(b|s))                      (1.8)

Layout is time-major: episodes are (T, N) tensors with a ``mask`` (True on real steps).
"""

from __future__ import annotations

from typing import Any

import torch

from .validate import as_bool_mask, as_float, as_tensor, check_finite, check_ndim, check_same_shape, check_unit_interval

Tensor = torch.Tensor


def _theta(theta: Any) -> Tensor:
    t = check_finite("theta", as_tensor("theta", theta, torch.float64))
    return check_ndim("theta", t, (2,), "(S, A)")


def _indices(name: str, x: Any, n: int) -> Tensor:
    t = x if isinstance(x, torch.Tensor) else as_tensor(name, x, torch.int64)
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise ValueError(f"{name}: expected integer indices, got dtype {t.dtype}")
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= n):
        raise ValueError(f"{name}: expected indices in [0, {n - 1}], got values in [{int(t.min())}, {int(t.max())}]")
    return t.long()


def _episode_args(states: Any, actions: Any, mask: Any | None, theta: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    s = _indices("states", states, theta.shape[0])
    a = _indices("actions", actions, theta.shape[1])
    check_ndim("states", s, (1, 2), "(T,) or (T, N)")
    check_same_shape("states", s, actions=a)
    m = torch.ones_like(s, dtype=torch.bool) if mask is None else as_bool_mask("mask", mask, s)
    check_same_shape("states", s, mask=m)
    return s, a, m


def log_probs(theta: Any, states: Any, actions: Any) -> Tensor:
    """log π_θ(a_t|s_t) for the tabular softmax; differentiable in θ.

    Shapes:
        theta: (S, A);  states, actions: any shape (e.g. (T, N));  result: like states.
    """
    th = _theta(theta)
    s, a = _indices("states", states, th.shape[0]), _indices("actions", actions, th.shape[1])
    check_same_shape("states", s, actions=a)
    return torch.log_softmax(th, dim=-1)[s, a]


def score(theta: Any, states: Any, actions: Any) -> Tensor:
    """∇_θ log π_θ(a|s) in closed form, eq. (1.8): a one-hot row (1[b = a] − π(b|s)) at state s.

    Shapes:
        theta: (S, A);  states, actions: any shape (...);  result: (..., S, A).
    """
    th = _theta(theta)
    S, A = th.shape
    s, a = _indices("states", states, S), _indices("actions", actions, A)
    check_same_shape("states", s, actions=a)
    pi = torch.softmax(th, dim=-1)
    row = torch.nn.functional.one_hot(a, A).to(th.dtype) - pi[s]  # (..., A)
    return torch.nn.functional.one_hot(s, S).to(th.dtype)[..., None] * row[..., None, :]


def total_return_weights(rewards: Any, mask: Any, gamma: float) -> Tensor:
    """ψ_t = R(τ) = Σ_t' γ^t' r_t' on every real step of the episode, eq. (1.7).

    Shapes:
        rewards, mask: (T, N);  result: (T, N), zero on padded steps.
    """
    r, m, g = _rewards_mask(rewards, mask, gamma)
    powers = g ** torch.arange(r.shape[0], dtype=r.dtype)[:, None]
    return (powers * r * m).sum(0, keepdim=True) * m


def reward_to_go_weights(rewards: Any, mask: Any, gamma: float) -> Tensor:
    """ψ_t = γ^t G_t = Σ_{t' ≥ t} γ^{t'} r_{t'}, eq. (3.2): only rewards *after* a_t, discounted from t = 0.

    The γ^t in front is part of the gradient of the discounted objective J; practical code
    often drops it (notebook 03 measures what that costs).

    Shapes:
        rewards, mask: (T, N);  result: (T, N), zero on padded steps.
    """
    r, m, g = _rewards_mask(rewards, mask, gamma)
    powers = g ** torch.arange(r.shape[0], dtype=r.dtype)[:, None]
    discounted = powers * r * m
    return discounted.flip(0).cumsum(0).flip(0) * m


def _rewards_mask(rewards: Any, mask: Any, gamma: float) -> tuple[Tensor, Tensor, float]:
    r = check_finite("rewards", as_tensor("rewards", rewards))
    if not r.is_floating_point():
        r = r.to(torch.float64)
    check_ndim("rewards", r, (2,), "(T, N)")
    m = as_bool_mask("mask", mask, r)
    check_same_shape("rewards", r, mask=m)
    return r, m.to(r.dtype), check_unit_interval("gamma", gamma)


def discount_weights(values: Any, mask: Any, gamma: float) -> Tensor:
    """γ^t · x_t on real steps, zero on padding (turns A(s_t, a_t) into the weight of (3.5)).

    Shapes:
        values, mask: (T, N);  result: (T, N).
    """
    x, m, g = _rewards_mask(values, mask, gamma)
    return g ** torch.arange(x.shape[0], dtype=x.dtype)[:, None] * x * m


def _weighted_episode_args(theta: Any, states: Any, actions: Any, weights: Any, mask: Any | None):
    """theta as a tensor and the episode arguments checked, one episode (T,) made a batch (T, 1).

    Shapes: theta (S, A); states, actions, weights, mask (T, N) or (T,) → (S, A) and four (T, N).
    """
    th = _theta(theta)
    s, a, m = _episode_args(states, actions, mask, th)
    w = as_float("weights", weights, th, torch.float64)
    check_same_shape("states", s, weights=w)
    if s.ndim == 1:
        s, a, m, w = s[:, None], a[:, None], m[:, None], w[:, None]
    return th, s, a, m, w


def reinforce_estimates(theta: Any, states: Any, actions: Any, weights: Any, mask: Any | None = None) -> Tensor:
    """One gradient estimate per episode, ĝ_n = Σ_t ψ_t ∇log π_θ(a_t|s_t), eq. (1.9); average them for ĝ.

    Shapes:
        theta: (S, A);  states, actions, weights, mask: (T, N);  result: (N, S, A).
    """
    th, s, a, m, w = _weighted_episode_args(theta, states, actions, weights, mask)
    S, A = th.shape
    N = s.shape[1]
    pi = torch.softmax(th, dim=-1)
    rows = (w * m)[..., None] * (torch.nn.functional.one_hot(a, A).to(th.dtype) - pi[s])  # (T, N, A): (1.8) × ψ_t
    index = (torch.arange(N)[None, :] * S + s).reshape(-1)  # row n·S + s_t of the flattened (N·S, A) result
    out = torch.zeros(N * S, A, dtype=rows.dtype).index_add_(0, index, rows.reshape(-1, A))
    return out.reshape(N, S, A)


def score_sums(theta: Any, states: Any, actions: Any, mask: Any | None = None) -> Tensor:
    """∇_θ log p_θ(τ_n) = Σ_t ∇log π_θ(a_t|s_t) per episode (the environment's terms do not depend on θ).

    Shapes:
        theta: (S, A);  states, actions, mask: (T, N);  result: (N, S, A).
    """
    s = as_tensor("states", states, torch.int64)
    return reinforce_estimates(theta, states, actions, torch.ones(s.shape, dtype=torch.float64), mask)


def reinforce_loss(log_probs: Any, weights: Any, mask: Any | None = None) -> Tensor:
    """The pseudo-loss L(θ) = −(1/N) Σ_n Σ_t ψ_t log π_θ(a_t|s_t), eq. (1.11), to be *minimised*.

    Its autograd gradient is −ĝ, so one optimiser step on L is one step of gradient *ascent*
    on J. The weights are data (detached). Its value is not J and means nothing by itself.

    Shapes:
        log_probs, weights, mask: (T, N);  result: ().
    """
    lp = check_finite("log_probs", as_tensor("log_probs", log_probs))
    check_ndim("log_probs", lp, (2,), "(T, N)")
    w = as_float("weights", weights, lp, torch.float64).detach()
    check_same_shape("log_probs", lp, weights=w)
    m = torch.ones_like(lp, dtype=torch.bool) if mask is None else as_bool_mask("mask", mask, lp)
    check_same_shape("log_probs", lp, mask=m)
    return -(lp * w * m).sum() / lp.shape[1]


def total_variance(estimates: Any) -> Tensor:
    """tr Cov(ĝ_n): the summed variance of all gradient components over the N estimates (ddof = 1).

    This is E‖ĝ_n − ∇J‖², the variance of a one-episode estimate; the average of N of them
    has variance total_variance / N.

    Shapes:
        estimates: (N, ...) with N ≥ 2;  result: ().
    """
    g = check_finite("estimates", as_tensor("estimates", estimates))
    if g.ndim < 1 or g.shape[0] < 2:
        raise ValueError(f"estimates: expected shape (N, ...) with N >= 2, got {tuple(g.shape)}")
    flat = g.reshape(g.shape[0], -1)
    return ((flat - flat.mean(0)) ** 2).sum() / (flat.shape[0] - 1)


def baselined_estimates(score_sums: Any, returns: Any, baseline: Any) -> Tensor:
    """One gradient estimate per episode with a constant baseline, ĝ_n = (R(τ_n) − b) ∇log p_θ(τ_n), eq. (2.2).

    The baseline leaves the mean unchanged (E[∇log p_θ(τ)] = 0) and changes the variance (2.3).

    Shapes:
        score_sums: (N, ...) per-episode ∇log p_θ(τ_n);  returns: (N,);  baseline: ();  result: (N, ...).
    """
    g = check_finite("score_sums", as_tensor("score_sums", score_sums))
    R = check_ndim("returns", as_float("returns", returns, g, torch.float64), (1,), "(N,)")
    b = check_ndim("baseline", as_float("baseline", baseline, g, torch.float64), (0,), "() (one number)")
    if g.ndim < 1 or g.shape[0] != R.shape[0]:
        raise ValueError(f"score_sums: expected shape (N, ...) with N = {R.shape[0]}, got {tuple(g.shape)}")
    return (R - b).reshape(-1, *[1] * (g.ndim - 1)) * g


def optimal_constant_baseline(score_sums: Any, returns: Any) -> Tensor:
    """b* = E[‖∇log p(τ)‖² R(τ)] / E[‖∇log p(τ)‖²], the constant b that minimises (2.3), eq. (2.4).

    Shapes:
        score_sums: (N, ...) per-episode ∇log p_θ(τ_n);  returns: (N,);  result: ().
    """
    g = check_finite("score_sums", as_tensor("score_sums", score_sums))
    R = as_float("returns", returns, g, torch.float64)
    check_ndim("returns", R, (1,), "(N,)")
    if g.ndim < 1 or g.shape[0] != R.shape[0]:
        raise ValueError(f"score_sums: expected shape (N, ...) with N = {R.shape[0]}, got {tuple(g.shape)}")
    sq = (g.reshape(g.shape[0], -1) ** 2).sum(-1)
    if float(sq.sum()) <= 0:
        raise ValueError("score_sums: all zero, so every baseline gives the same variance")
    return (sq * R).sum() / sq.sum()


def baseline_variance_curve(score_sums: Any, returns: Any, baselines: Any) -> Tensor:
    """tr Cov of the one-episode estimates (R(τ_n) − b) ∇log p(τ_n) for each constant b, eq. (2.3).

    Shapes:
        score_sums: (N, ...);  returns: (N,);  baselines: (K,);  result: (K,).
    """
    g = check_finite("score_sums", as_tensor("score_sums", score_sums))
    R = as_float("returns", returns, g, torch.float64)
    b = check_ndim("baselines", as_float("baselines", baselines, g, torch.float64), (1,), "(K,)")
    if g.ndim < 1 or g.shape[0] != R.shape[0] or R.ndim != 1:
        raise ValueError(f"returns: expected shape (N,) matching score_sums {tuple(g.shape)}, got {tuple(R.shape)}")
    return torch.stack([total_variance((R - bk).reshape(-1, *[1] * (g.ndim - 1)) * g) for bk in b])


def second_moment_split(theta: Any, states: Any, actions: Any, weights: Any, mask: Any | None = None) -> Tensor:
    """Split ‖ĝ_n‖² of each one-episode estimate ĝ_n = Σ_t ψ_t ∇log π_θ(a_t|s_t) into two parts.

    ‖ĝ_n‖² = Σ_t ψ_t² ‖∇log π(a_t|s_t)‖²  (each step's own term)
           + Σ_{t ≠ t'} ψ_t ψ_t' ⟨∇log π(a_t|s_t), ∇log π(a_t'|s_t')⟩  (cross terms between steps of one episode).

    Averaged over episodes, the two parts sum to the second moment E‖ĝ‖²; the total variance
    (:func:`total_variance`) is that minus ‖E ĝ‖². For the tabular softmax the score (1.8) of a
    step lives in the row of its state, so only two visits to the *same* state give a cross term.

    Shapes:
        theta: (S, A);  states, actions, weights, mask: (T, N);  result: (N, 2), columns (own, cross).
    """
    th, s, a, m, w = _weighted_episode_args(theta, states, actions, weights, mask)
    est = reinforce_estimates(th, s, a, w, m)
    pi = torch.softmax(th, dim=-1)
    step_sq = ((torch.nn.functional.one_hot(a, th.shape[1]).to(th.dtype) - pi[s]) ** 2).sum(-1)  # ‖(1.8)‖², (T, N)
    own = ((w * m) ** 2 * step_sq).sum(0)
    total = (est**2).reshape(est.shape[0], -1).sum(-1)
    return torch.stack([own, total - own], dim=-1)


def bootstrap_total_variances(estimates: Any, n_boot: int, generator: torch.Generator | None = None,
                              chunk: int = 50) -> Tensor:
    """Paired bootstrap of :func:`total_variance` for K estimators scored on the same N episodes.

    Each of the ``n_boot`` resamples draws N episode indices with replacement, once, and computes
    the total variance (ddof = 1) of every estimator on those same episodes, so that differences
    between columns are paired (the spread of a difference is not inflated by the episodes' own noise).

    Shapes:
        estimates: a sequence of K tensors, each (N, ...) with the same N ≥ 2;  result: (n_boot, K).
    """
    flat = []
    for k, e in enumerate(estimates):
        t = check_finite(f"estimates[{k}]", as_tensor(f"estimates[{k}]", e, torch.float64))
        if t.ndim < 1 or t.shape[0] < 2 or (flat and t.shape[0] != flat[0].shape[0]):
            raise ValueError(f"estimates[{k}]: expected shape (N, ...) with one N >= 2 for all, got {tuple(t.shape)}")
        flat.append(t.reshape(t.shape[0], -1).to(torch.float64))
    if not flat:
        raise ValueError("estimates: expected at least one estimator")
    if int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot: expected an integer >= 1, got {n_boot!r}")
    N = flat[0].shape[0]
    stats = torch.cat([torch.cat([(f**2).sum(1, keepdim=True), f], 1) for f in flat], 1)  # per estimator: ‖ĝ_n‖², ĝ_n
    out = []
    for start in range(0, int(n_boot), int(chunk)):
        k = min(int(chunk), int(n_boot) - start)
        idx = torch.randint(N, (k, N), generator=generator)
        counts = torch.zeros(k, N, dtype=torch.float64).scatter_add_(1, idx, torch.ones(k, N, dtype=torch.float64))
        moments = counts @ stats / N  # (k, Σ_K (1 + D))
        cols, offset = [], 0
        for f in flat:
            D = f.shape[1]
            mean = moments[:, offset + 1: offset + 1 + D]
            cols.append((moments[:, offset] - (mean**2).sum(1)) * N / (N - 1))
            offset += 1 + D
        out.append(torch.stack(cols, 1))
    return torch.cat(out)


def mc_gradient_errors(estimates: Any, exact: Any, sizes: Any) -> Tensor:
    """Root-mean-square error ‖ĝ_N − ∇J‖ of the N-episode average, for each N in ``sizes``.

    The pool of one-episode estimates is cut into disjoint batches of N; the RMS is over batches.

    Shapes:
        estimates: (M, ...) with M ≥ 2·max(sizes);  exact: (...);  sizes: (K,);  result: (K,).
    """
    g = check_finite("estimates", as_tensor("estimates", estimates))
    ex = as_float("exact", exact, g, torch.float64)
    if tuple(ex.shape) != tuple(g.shape[1:]):
        raise ValueError(f"exact: expected shape {tuple(g.shape[1:])}, got {tuple(ex.shape)}")
    out = []
    for n in [int(v) for v in as_tensor("sizes", sizes, torch.int64).tolist()]:
        k = g.shape[0] // n if n > 0 else 0
        if n < 1 or k < 2:
            raise ValueError(f"sizes: expected 1 <= N <= M/2 = {g.shape[0] // 2}, got {n}")
        means = g[: k * n].reshape(k, n, *g.shape[1:]).mean(1)
        out.append(((means - ex) ** 2).reshape(k, -1).sum(-1).mean().sqrt())
    return torch.stack(out)


# --- 02 the best constant baseline of a bandit, and learning with a baseline -----------------
def bandit_optimal_baseline(logits: Any, rewards: Any) -> Tensor:
    """Exact b* (2.4) of a one-step softmax bandit: Σ_a π(a)‖e_a − π‖² r(a) / Σ_a π(a)‖e_a − π‖².

    With one state, the episode is one action a ~ π = softmax(logits), its return is r(a) and its
    score is ∇log π(a) = e_a − π (1.8), so the expectations of (2.4) are finite sums over a.

    Shapes:
        logits, rewards: (K,) with K ≥ 2;  result: ().
    """
    z = check_finite("logits", as_tensor("logits", logits, torch.float64))
    check_ndim("logits", z, (1,), "(K,)")
    r = check_finite("rewards", as_float("rewards", rewards, z, torch.float64))
    check_same_shape("logits", z, rewards=r)
    if z.shape[0] < 2:
        raise ValueError(f"logits: expected K >= 2 actions, got {z.shape[0]}")
    pi = torch.softmax(z, -1)
    sq = ((torch.eye(len(z), dtype=pi.dtype) - pi) ** 2).sum(-1)  # ‖e_a − π‖², one per action
    return (pi * sq * r).sum() / (pi * sq).sum()


def optimal_coordinate_baselines(score_sums: Any, returns: Any) -> Tensor:
    """One constant per coordinate i of the gradient, b_i = E[g_i² R(τ)] / E[g_i²] with g = ∇log p_θ(τ).

    Each b_i minimises the variance of coordinate i of (R − b_i) g_i on its own (the argument of
    (2.3)–(2.4) for one coordinate), so together they give a total variance no larger than that of
    the single constant b* (2.4), which is one of the choices they minimise over (Peters & Schaal 2008).
    A coordinate whose g_i is zero on every episode gets b_i = 0 (any value gives the same variance).

    Shapes:
        score_sums: (N, ...) per-episode ∇log p_θ(τ_n);  returns: (N,);  result: (...).
    """
    g = check_finite("score_sums", as_tensor("score_sums", score_sums))
    R = as_float("returns", returns, g, torch.float64)
    check_ndim("returns", R, (1,), "(N,)")
    if g.ndim < 2 or g.shape[0] != R.shape[0]:
        raise ValueError(f"score_sums: expected shape (N, ...) with N = {R.shape[0]}, got {tuple(g.shape)}")
    sq = g**2
    weights = sq.sum(0)
    num = (sq * R.reshape(-1, *[1] * (g.ndim - 1))).sum(0)
    return torch.where(weights > 0, num / torch.where(weights > 0, weights, 1.0), torch.zeros_like(num))


def bandit_estimator_variance(logits: Any, values: Any, baseline: Any) -> Tensor:
    """Exact tr Var of the one-sample estimate (q(a) − b) ∇log π(a), a ~ π = softmax(logits), of a bandit.

    With ∇log π(a) = e_a − π (1.8): E[(q − b)²‖e_a − π‖²] − ‖Σ_a π(a) q(a)(e_a − π)‖², the
    second moment minus the squared mean (the mean does not depend on b, (2.1)).

    Shapes:
        logits, values: (K,) with K ≥ 2;  baseline: ();  result: ().
    """
    z = check_finite("logits", as_tensor("logits", logits, torch.float64))
    check_ndim("logits", z, (1,), "(K,)")
    q = check_finite("values", as_float("values", values, z, torch.float64))
    check_same_shape("logits", z, values=q)
    b = check_ndim("baseline", as_float("baseline", baseline, z, torch.float64), (0,), "() (one number)")
    if z.shape[0] < 2:
        raise ValueError(f"logits: expected K >= 2 actions, got {z.shape[0]}")
    pi = torch.softmax(z, -1)
    scores = torch.eye(len(z), dtype=pi.dtype) - pi  # row a: ∇log π(a) = e_a − π
    mean = (pi * q) @ scores
    return (pi * (q - b) ** 2 * (scores**2).sum(-1)).sum() - (mean**2).sum()


BASELINES = ("none", "previous_batch")


def _exact_objectives(mdp: Any, pi: Tensor) -> Tensor:
    """J = ν0ᵀ V^π for a stack of K tabular policies, by K linear solves (1.3). pi: (K, S, A) → (K,)."""
    r_pi = (pi * mdp.R).sum(-1)
    P_pi = torch.einsum("ksa,sat->kst", pi, mdp.P)
    eye = torch.eye(mdp.n_states, dtype=torch.float64)
    return torch.linalg.solve(eye - mdp.gamma * P_pi, r_pi) @ mdp.mu0


def _draw(probs: Tensor, generator: torch.Generator) -> Tensor:
    """One index per row of ``probs`` (rows may sum to less than 1: the rest is the last index)."""
    u = torch.rand(probs.shape[:-1], generator=generator, dtype=torch.float64)
    return (u[..., None] >= probs.cumsum(-1)).sum(-1)


def reinforce_learning_curves(mdp: Any, n_runs: int, n_updates: int, n_episodes: int, lr: float,
                              baseline: str = "none", return_offset: float = 0.0, seed: int = 0,
                              max_steps: int = 200) -> Tensor:
    """Exact J(θ_k) of ``n_runs`` independent REINFORCE learners on a tabular MDP, from θ_0 = 0.

    Every update samples ``n_episodes`` episodes per learner and ascends (1.9),
    θ ← θ + lr · (1/N) Σ_n (R(τ_n) + c − b) ∇log p_θ(τ_n), with c the ``return_offset`` (every
    return shifted by the same c) and b the baseline: 0 (``"none"``) or the mean shifted return
    of the learner's *previous* batch (``"previous_batch"``, 0 at the first update), which
    depends only on past data and so leaves each update unbiased (2.2). J is the exact
    objective of ``mdp`` (the offset would only add c to it). The learners run in parallel.

    Shapes:
        result: (n_runs, n_updates + 1), float64.
    """
    if baseline not in BASELINES:
        raise ValueError(f"baseline: expected one of {BASELINES}, got {baseline!r}")
    for name, value in (("n_runs", n_runs), ("n_updates", n_updates), ("n_episodes", n_episodes),
                        ("max_steps", max_steps)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
    K, N, S = int(n_runs), int(n_episodes), mdp.n_states
    gen = torch.Generator().manual_seed(int(seed))
    next_p = torch.cat([mdp.P, (1 - mdp.P.sum(-1, keepdim=True)).clamp_min(0)], dim=-1)  # last: episode ends
    theta = torch.zeros(K, S, mdp.n_actions, dtype=torch.float64)
    b = torch.zeros(K, 1, dtype=torch.float64)
    history = [_exact_objectives(mdp, torch.softmax(theta, -1))]
    rows = torch.arange(K)[:, None].expand(K, N)
    for _ in range(int(n_updates)):
        pi = torch.softmax(theta, -1)
        s = _draw(mdp.mu0.expand(K, N, S), gen)
        alive = torch.ones(K, N, dtype=torch.bool)
        R = torch.zeros(K, N, dtype=torch.float64)
        score = torch.zeros(K, N, S, mdp.n_actions, dtype=torch.float64)  # ∇log p(τ) per episode
        for t in range(int(max_steps)):
            p_s = pi[rows, s]  # (K, N, A)
            a = _draw(p_s, gen).clamp_max(mdp.n_actions - 1)
            step_score = torch.nn.functional.one_hot(a, mdp.n_actions).double() - p_s
            score[rows, torch.arange(N)[None, :].expand(K, N), s] += alive[..., None] * step_score
            R += alive * mdp.gamma**t * mdp.R[s, a]
            nxt = _draw(next_p[s, a], gen)
            alive = alive & (nxt < S)
            if not bool(alive.any()):
                break
            s = torch.where(alive, nxt, 0)
        R = R + float(return_offset)
        theta = theta + float(lr) * ((R - b)[..., None, None] * score).mean(1)
        if baseline == "previous_batch":
            b = R.mean(1, keepdim=True)
        history.append(_exact_objectives(mdp, torch.softmax(theta, -1)))
    return torch.stack(history, dim=1)
