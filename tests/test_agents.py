"""Actor-critic networks: initialisation, log-probabilities, sampling, the population's batched weights."""

import copy
import math

import pytest
import torch
from torch import nn

import ppo_edu as pe
from ppo_edu.agents import ActorCritic, PopulationActorCritic


def _linears(seq):
    return [m for m in seq if isinstance(m, nn.Linear)]


def test_separate_actor_and_critic_with_orthogonal_init():
    torch.manual_seed(0)
    ac = ActorCritic(4, 2, (64, 64))
    a, c = _linears(ac.actor), _linears(ac.critic)
    assert [tuple(lin.weight.shape) for lin in a] == [(64, 4), (64, 64), (2, 64)]
    assert [tuple(lin.weight.shape) for lin in c] == [(64, 4), (64, 64), (1, 64)]
    assert not set(map(id, ac.actor.parameters())) & set(map(id, ac.critic.parameters()))
    for lin, gain in ((a[1], math.sqrt(2)), (c[1], math.sqrt(2))):  # square hidden layer: W Wᵀ = gain² I
        torch.testing.assert_close(lin.weight @ lin.weight.T, gain**2 * torch.eye(64), atol=1e-5, rtol=0)
    for lin, gain in ((a[0], math.sqrt(2)), (a[2], 0.01), (c[2], 1.0)):  # wide: orthonormal rows × gain
        w = lin.weight if lin.weight.shape[0] <= lin.weight.shape[1] else lin.weight.T
        torch.testing.assert_close(w @ w.T, gain**2 * torch.eye(w.shape[0]), atol=1e-6, rtol=1e-4)
    assert all(float(lin.bias.detach().abs().max()) == 0.0 for lin in a + c)


def test_initial_policy_is_nearly_uniform():
    torch.manual_seed(1)
    ac = ActorCritic(4, 2)
    probs = torch.softmax(ac.logits(torch.randn(1000, 4)), -1)
    assert float((probs.detach() - 0.5).abs().max()) < 0.05


def test_logp_and_entropy_match_torch_distributions():
    torch.manual_seed(2)
    ac = ActorCritic(4, 3, 16)
    obs = torch.randn(7, 5, 4)
    actions = torch.randint(0, 3, (7, 5))
    a, logp, ent, value = ac.get_action_and_value(obs, actions)
    dist = torch.distributions.Categorical(logits=ac.logits(obs))
    assert torch.equal(a, actions)
    torch.testing.assert_close(logp, dist.log_prob(actions))
    torch.testing.assert_close(ent, dist.entropy())
    assert value.shape == (7, 5)
    torch.testing.assert_close(value, ac.critic(obs)[..., 0])


def test_gumbel_sampling_follows_the_softmax():
    torch.manual_seed(3)
    ac = ActorCritic(4, 3, 8)
    with torch.no_grad():
        _linears(ac.actor)[-1].bias.copy_(torch.tensor([2.0, 0.0, -1.0]))
    obs = torch.zeros(200_000, 4)
    g = torch.Generator().manual_seed(0)
    actions, logp = ac.sample(obs, g)
    p = torch.softmax(ac.logits(obs[:1]), -1)[0]
    freq = torch.bincount(actions, minlength=3).float() / actions.numel()
    torch.testing.assert_close(freq, p.detach(), atol=4e-3, rtol=0)  # ~4 standard errors
    torch.testing.assert_close(logp, torch.log(p.detach())[actions])


def test_act_deterministic_is_argmax():
    torch.manual_seed(4)
    ac = ActorCritic(4, 2)
    obs = torch.randn(50, 4)
    assert torch.equal(ac.act(obs), ac.logits(obs).argmax(-1))


def test_population_members_are_independent_actor_critics():
    pop = PopulationActorCritic(3, 4, 2, (32, 16), generator=torch.Generator().manual_seed(0))
    obs = torch.randn(3, 10, 4)
    logits, values = pop.logits(obs), pop.value(obs)
    assert logits.shape == (3, 10, 2) and values.shape == (3, 10)
    for p in range(3):
        m = pop.member(p)
        torch.testing.assert_close(m.logits(obs[p]), logits[p])
        torch.testing.assert_close(m.value(obs[p]), values[p])
    # members differ (different initial weights)
    assert not torch.allclose(logits[0], logits[1])
    # load_member writes a stand-alone agent back
    torch.manual_seed(9)
    solo = ActorCritic(4, 2, (32, 16))
    pop.load_member(1, solo)
    torch.testing.assert_close(pop.logits(obs)[1], solo.logits(obs[1]))
    torch.testing.assert_close(pop.logits(obs)[0], logits[0])


def test_population_init_orthogonal_per_member():
    pop = PopulationActorCritic(2, 4, 2, (64, 64), generator=torch.Generator().manual_seed(1))
    w = pop.actor.weights[1]  # (P, 64, 64)
    for p in range(2):
        torch.testing.assert_close(w[p].T @ w[p], 2.0 * torch.eye(64), atol=1e-5, rtol=0)
    head = pop.actor.weights[2]  # (P, 64, 2): columns orthonormal × 0.01
    torch.testing.assert_close(head[0].T @ head[0], 1e-4 * torch.eye(2), atol=1e-9, rtol=1e-4)


def test_population_grad_clipping_is_per_member():
    pop = PopulationActorCritic(3, 4, 2, 8, generator=torch.Generator().manual_seed(2))
    obs = torch.randn(3, 6, 4)
    scale = torch.tensor([1.0, 100.0, 0.01]).view(3, 1)  # member 1 has a huge gradient
    (pop.value(obs) * scale).sum().backward()
    norms_before = torch.stack([
        torch.sqrt(sum((p.grad[m] ** 2).sum() for p in pop.parameters() if p.grad is not None)) for m in range(3)
    ])  # fmt: skip
    returned = pop.clip_grad_norm_(1.0)
    torch.testing.assert_close(returned, norms_before)
    norms_after = torch.stack([
        torch.sqrt(sum((p.grad[m] ** 2).sum() for p in pop.parameters() if p.grad is not None)) for m in range(3)
    ])  # fmt: skip
    expected = torch.minimum(norms_before, torch.ones(3))
    torch.testing.assert_close(norms_after, expected, rtol=1e-4, atol=1e-6)
    assert float(norms_before[1]) > 1.0 and float(norms_before[2]) < 1.0  # one clipped, one untouched

@pytest.mark.parametrize("grad_scale", [1e-3, 1e3])  # one gradient under the limit, one far over it
def test_single_member_clipping_is_torchs_clip_grad_norm_bit_for_bit(grad_scale):
    """A population of one clips with torch.nn.utils.clip_grad_norm_'s own arithmetic (the trainer's
    numbers did not move when the wrapper was bypassed): the same norm and the same gradients, exactly."""
    pop = PopulationActorCritic(1, 4, 2, (16, 16), generator=torch.Generator().manual_seed(3))
    obs = torch.randn(1, 32, 4, generator=torch.Generator().manual_seed(4))
    ((pop.logits(obs).sum() + pop.value(obs).sum()) * grad_scale).backward()
    ref = copy.deepcopy(pop)  # deepcopy leaves .grad behind: copy it
    for p, q in zip(pop.parameters(), ref.parameters(), strict=True):
        q.grad = p.grad.clone()
    want = torch.nn.utils.clip_grad_norm_(ref.parameters(), 0.5)
    got = pop.clip_grad_norm_(0.5)
    assert got.shape == (1,) and torch.equal(got[0], want)
    assert all(torch.equal(p.grad, q.grad) for p, q in zip(pop.parameters(), ref.parameters(), strict=True))
    assert (float(want) > 0.5) == (grad_scale > 1)  # the large case really clips



def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="obs_dim"):
        ActorCritic(0, 2)
    with pytest.raises(ValueError, match="hidden"):
        ActorCritic(4, 2, ())
    with pytest.raises(ValueError, match="population"):
        PopulationActorCritic(0, 4, 2)
    pop = PopulationActorCritic(2, 4, 2, 8)
    with pytest.raises(ValueError, match=r"obs: expected shape \(P=2, B, O=4\)"):
        pop.logits(torch.zeros(3, 5, 4))
    with pytest.raises(ValueError, match="index"):
        pop.member(2)


def test_sample_with_noise_drawn_beforehand_is_sample_from_the_generator():
    """A rollout draws all its steps' noise at once: the same actions as drawing step by step."""
    pop = PopulationActorCritic(2, 4, 2, 8, generator=torch.Generator().manual_seed(0))
    obs = torch.randn(5, 2, 16, 4)
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    step_by_step = [pop.sample(obs[t], g1) for t in range(5)]
    noise = pe.agents.log_neg_log_uniform((5, 2, 16, 2), g2)
    at_once = [pop.sample(obs[t], noise=noise[t]) for t in range(5)]
    for (a1, l1), (a2, l2) in zip(step_by_step, at_once, strict=True):
        assert torch.equal(a1, a2) and torch.equal(l1, l2)
    with pytest.raises(ValueError, match="noise: expected the logits' shape"):
        pop.sample(obs[0], noise=noise[0, :, :8])
