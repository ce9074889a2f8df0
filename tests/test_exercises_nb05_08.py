"""Exercises of notebooks 05–08: learner-style wrong answers are named, solutions pass, blanks are not attempted."""

import pytest
import torch

import ppo_edu as pe

EX = pe.exercises


def _blank(**kwargs):
    raise NotImplementedError


@pytest.mark.parametrize("name", ["clipped_loss", "adaptive_beta", "td0_step", "mc_episode", "gae",
                                  "k_step_advantage", "clipped_value_loss", "normalize_advantages", "clip_gradient",
                                  "error_decomposition", "gae_variance"])
def test_solution_passes_and_blank_is_not_attempted(name):
    ex = getattr(EX, name)
    assert ex.check(ex.solution_fn).passed
    assert ex.check(_blank).status == "not attempted"


# -- 05: the clipped loss, written the way learners get it wrong ----------------------------------
def test_clipped_loss_mistakes_written_by_hand():
    def max_instead(logp_new, logp_old, advantages, clip_eps):
        r = torch.exp(logp_new - logp_old.detach())
        return -torch.max(r * advantages, r.clamp(1 - clip_eps, 1 + clip_eps) * advantages).mean()

    def objective_not_loss(logp_new, logp_old, advantages, clip_eps):
        r = torch.exp(logp_new - logp_old.detach())
        return torch.min(r * advantages, r.clamp(1 - clip_eps, 1 + clip_eps) * advantages).mean()

    def no_detach(logp_new, logp_old, advantages, clip_eps):
        r = logp_new.exp() / logp_old.exp()  # same value, gradient leaks into logp_old
        return -torch.min(r * advantages, r.clamp(1 - clip_eps, 1 + clip_eps) * advantages).mean()

    def swapped(logp_new, logp_old, advantages, clip_eps):
        r = torch.exp(logp_old.detach() - logp_new)
        return -torch.min(r * advantages, r.clamp(1 - clip_eps, 1 + clip_eps) * advantages).mean()

    def as_float(logp_new, logp_old, advantages, clip_eps):
        r = torch.exp(logp_new - logp_old.detach())
        return -torch.min(r * advantages, r.clamp(1 - clip_eps, 1 + clip_eps) * advantages).mean().item()

    for fn, mistake in ((max_instead, "min_max_swapped"), (objective_not_loss, "sign_flipped"),
                        (no_detach, "ratio_not_detached"), (swapped, "ratio_swapped")):
        result = EX.clipped_loss.check(fn)
        assert result.mistake == mistake, result
    result = EX.clipped_loss.check(as_float)
    assert result.status == "error" and "no gradient" in result.message and ".item()" in result.message
    assert result.mistake == "loss_without_gradient" and "raised" not in result.message


def test_adaptive_beta_mistakes():
    def reversed_rule(beta, kl, kl_target):
        return beta / 2 if kl > 1.5 * kl_target else beta * 2 if kl < kl_target / 1.5 else beta

    def always_moves(beta, kl, kl_target):
        return beta * 2 if kl > kl_target else beta / 2

    assert EX.adaptive_beta.check(reversed_rule).mistake == "direction_reversed"
    assert EX.adaptive_beta.check(always_moves).mistake == "no_tolerance_band"
    package = EX.adaptive_beta.check(lambda beta, kl, kl_target: pe.losses.adaptive_beta(beta, kl, kl_target))
    assert package.mistake == "package_function" and "pe.losses.adaptive_beta" in package.message


# -- 06 ------------------------------------------------------------------------------------------
def test_td0_step_mistakes():
    def through_terminal(values, state, reward, next_state, terminated, alpha, gamma):
        new = values.clone()
        new[state] += alpha * (reward + gamma * values[next_state] - values[state])
        return new

    def away(values, state, reward, next_state, terminated, alpha, gamma):
        new = values.clone()
        target = reward + (0 if terminated else gamma * values[next_state])
        new[state] -= alpha * (target - values[state])
        return new

    assert EX.td0_step.check(through_terminal).mistake == "bootstrap_through_termination"
    assert EX.td0_step.check(away).mistake == "sign_flipped"


def test_mc_episode_mistakes():
    def whole_return(values, states, rewards, alpha, gamma):
        G = sum(gamma**t * rewards[t] for t in range(len(rewards)))
        new = values.clone()
        for s in states:
            new[s] += alpha * (G - new[s])
        return new

    def late(values, states, rewards, alpha, gamma):
        new = values.clone()
        for t, s in enumerate(states):
            G = sum(gamma ** (j - t - 1) * rewards[j] for j in range(t + 1, len(rewards)))
            new[s] += alpha * (G - new[s])
        return new

    assert EX.mc_episode.check(whole_return).mistake == "total_return_target"
    assert EX.mc_episode.check(late).mistake == "reward_to_go_off_by_one"


# -- 07 ------------------------------------------------------------------------------------------
def _gae_loop(rewards, values, next_values, terminated, truncated, gamma, lam, stop, boot_mask):
    adv, running = torch.zeros_like(rewards), torch.zeros_like(rewards[0])
    for t in reversed(range(rewards.shape[0])):
        delta = rewards[t] + gamma * (~boot_mask[t]).double() * next_values[t] - values[t]
        running = delta + gamma * lam * (~stop[t]).double() * running
        adv[t] = running
    return adv


def test_gae_mistakes_written_by_hand():
    def no_mask(rewards, values, next_values, terminated, truncated, gamma, lam):
        return _gae_loop(rewards, values, next_values, terminated, truncated, gamma, lam,
                         torch.zeros_like(terminated), terminated)

    def through_termination(rewards, values, next_values, terminated, truncated, gamma, lam):
        return _gae_loop(rewards, values, next_values, terminated, truncated, gamma, lam,
                         terminated | truncated, torch.zeros_like(terminated))

    def truncation_as_end(rewards, values, next_values, terminated, truncated, gamma, lam):
        done = terminated | truncated
        return _gae_loop(rewards, values, next_values, terminated, truncated, gamma, lam, done, done)

    def off_by_one(rewards, values, next_values, terminated, truncated, gamma, lam):
        done = terminated | truncated
        shifted = torch.cat([done[1:], torch.zeros_like(done[:1])])
        return _gae_loop(rewards, values, next_values, terminated, truncated, gamma, lam, shifted, terminated)

    def truncation_ignored(rewards, values, next_values, terminated, truncated, gamma, lam):
        return _gae_loop(rewards, values, next_values, terminated, truncated, gamma, lam, terminated, terminated)

    for fn, mistake in ((no_mask, "missing_done_mask"), (through_termination, "bootstrap_through_termination"),
                        (truncation_as_end, "no_bootstrap_at_truncation"), (off_by_one, "done_mask_off_by_one"),
                        (truncation_ignored, "truncation_ignored")):
        assert EX.gae.check(fn).mistake == mistake


def test_k_step_mistake_missing_baseline():
    def q_not_a(rewards, values, next_values, terminated, gamma, k):
        return pe.advantages.k_step_advantages(rewards, values, next_values, terminated, None, gamma, k) + values

    assert EX.k_step_advantage.check(q_not_a, accept_package=True).mistake == "missing_baseline"
    assert EX.k_step_advantage.check(q_not_a).mistake == "package_function"


# -- 08 ------------------------------------------------------------------------------------------
def test_value_loss_and_normalisation_mistakes():
    def min_version(values, returns, values_old, clip_eps):
        vc = torch.clamp(values, values_old - clip_eps, values_old + clip_eps)
        return 0.5 * torch.min((values - returns) ** 2, (vc - returns) ** 2).mean()

    def seed_version(values, returns, values_old, clip_eps):  # the source notes' V_clip alone
        vc = torch.clamp(values, values_old - clip_eps, values_old + clip_eps)
        return 0.5 * ((vc - returns) ** 2).mean()

    assert EX.clipped_value_loss.check(min_version).mistake == "min_instead_of_max"
    assert EX.clipped_value_loss.check(seed_version).mistake == "only_clipped_term"

    def per_env(advantages):
        return (advantages - advantages.mean(0)) / (advantages.std(0) + 1e-8)

    assert EX.normalize_advantages.check(per_env).mistake == "normalized_per_column"


def test_clipped_loss_without_the_min_is_named():
    def clip_alone(logp_new, logp_old, advantages, clip_eps):
        r = torch.exp(logp_new - logp_old.detach())
        return -(r.clamp(1 - clip_eps, 1 + clip_eps) * advantages).mean()

    result = EX.clipped_loss.check(clip_alone)
    assert result.mistake == "clip_only", result


def test_clip_gradient_matches_autograd_and_names_the_clip_alone_mistake():
    for case in EX.clip_gradient.cases():
        rho = case["ratio"].clone().requires_grad_(True)
        logp = rho.log()  # ∂/∂log π through ρ = exp(log π − log π_old)
        obj = pe.losses.clipped_surrogate(torch.exp(logp), case["advantages"], case["clip_eps"]).sum()
        (by_autograd,) = torch.autograd.grad(obj, logp)
        assert torch.allclose(pe.losses.clipped_surrogate_grad(**case), by_autograd, atol=1e-12)
    # cases 1–6 by hand: ρÂ, ρÂ, 0, 0, ρÂ, ρÂ
    want = torch.tensor([0.5, 2.2, 0.0, 0.0, -0.45, -3.0], dtype=torch.float64)
    assert torch.allclose(pe.losses.clipped_surrogate_grad(**EX.clip_gradient.cases()[0]), want)

    def zero_outside(ratio, advantages, clip_eps):
        return torch.where((ratio - 1).abs() > clip_eps, torch.zeros_like(ratio), ratio * advantages)

    assert EX.clip_gradient.check(zero_outside).mistake == "clip_only"


def test_error_decomposition_adds_up_and_names_the_mse_mistake():
    case = EX.error_decomposition.cases()[1]
    bias2, variance = pe.value_learning.error_decomposition(**case).tolist()
    mse = float(((case["estimates"] - case["true_values"]) ** 2).mean())
    assert abs(bias2 + variance - mse) < 1e-12

    def around_truth(estimates, true_values):
        mean = estimates.mean(0)
        return torch.stack([((mean - true_values) ** 2).mean(), ((estimates - true_values) ** 2).mean()])

    assert EX.error_decomposition.check(around_truth).mistake == "variance_around_true_values"


def test_gae_variance_correlated_mistake_written_by_hand():
    def as_if_correlated(delta_variances, gamma, lam):
        sd = delta_variances.sqrt()
        return sum((gamma * lam) ** l * sd[l] for l in range(len(sd))) ** 2

    assert EX.gae_variance.check(as_if_correlated).mistake == "treated_as_correlated"
