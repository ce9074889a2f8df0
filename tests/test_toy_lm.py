"""ppo_edu.toy_lm: the toy language, the tiny policy, the reward model, exact enumeration and PPO over tokens."""

import math

import pytest
import torch

import ppo_edu as pe
from ppo_edu import toy_lm


@pytest.fixture(scope="module")
def toy():
    torch.set_num_threads(1)
    return toy_lm.make_toy(seed=0)


def test_encode_decode_and_gold_hand_worked():
    tokens, mask = toy_lm.encode(["aab.", "aaaaaa", "bcd.", "."])
    assert toy_lm.decode(tokens, mask) == ["aab.", "aaaaaa", "bcd.", "."]
    assert mask.sum(dim=1).tolist() == [4, 6, 4, 1]
    # gold = #a − 1.5·#repeats
    assert toy_lm.gold_reward(tokens, mask).tolist() == [2 - 1.5, 6 - 1.5 * 5, 0.0, 0.0]
    with pytest.raises(ValueError, match="strings"):
        toy_lm.encode(["a.b"])


def test_gold_ignores_padding():
    tokens = torch.tensor([[0, 5, 0, 0, 0, 0]])  # "a." then padding that happens to hold a's
    mask = torch.tensor([[1, 1, 0, 0, 0, 0]])
    assert toy_lm.gold_reward(tokens, mask).item() == 1.0


def test_language_samples_are_well_formed():
    g = torch.Generator().manual_seed(0)
    tokens, mask = toy_lm.sample_language(500, g)
    assert bool((tokens[:, 0] != toy_lm.EOS).all())  # never an empty string
    lengths = mask.sum(dim=1)
    assert bool((mask == (torch.arange(toy_lm.MAX_LEN) < lengths[:, None])).all())  # right padding
    ended = lengths < toy_lm.MAX_LEN
    assert bool((tokens[ended, lengths[ended] - 1] == toy_lm.EOS).all())  # EOS is the last real token
    # P(EOS) = 0.2 at each later position: the mean number of letters is 1 + 0.8 + … + 0.8^5
    want = sum(0.8**k for k in range(6))
    letters = (mask & (tokens < toy_lm.EOS)).sum(dim=1).double()
    assert abs(letters.mean().item() - want) < 4 * letters.std().item() / math.sqrt(500)


def test_all_sequences_are_every_sequence_once():
    seqs, mask = toy_lm.all_sequences()
    assert seqs.shape == (sum(5**k for k in range(6)) + 5**6, 6)
    assert len(set(toy_lm.decode(seqs, mask))) == seqs.shape[0]


def test_tree_walk_matches_the_forward_pass_and_sums_to_one():
    torch.manual_seed(1)
    policy = toy_lm.TinyLM()
    logp_all = toy_lm.all_sequence_logprobs(policy)
    assert logp_all.exp().sum().item() == pytest.approx(1.0, abs=1e-9)
    seqs, mask = toy_lm.all_sequences()
    idx = torch.randperm(seqs.shape[0], generator=torch.Generator().manual_seed(0))[:300]
    with torch.no_grad():
        direct = (toy_lm.token_logprobs(policy, seqs[idx]) * mask[idx]).sum(dim=1).double()
    assert torch.allclose(direct, logp_all[idx], atol=1e-5)


def test_sampling_frequencies_match_exact_probabilities():
    torch.manual_seed(2)
    policy = toy_lm.TinyLM()
    with torch.no_grad():
        policy.head.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0, 0.5]))  # a few likely strings
    p_all = toy_lm.all_sequence_logprobs(policy).exp()
    n = 20_000
    tokens, mask = toy_lm.sample(policy, n, torch.Generator().manual_seed(3))
    counts: dict[str, int] = {}
    for s in toy_lm.decode(tokens, mask):
        counts[s] = counts.get(s, 0) + 1
    seqs, smask = toy_lm.all_sequences()
    names = toy_lm.decode(seqs, smask)
    for i in torch.argsort(p_all, descending=True)[:5].tolist():
        p = p_all[i].item()
        assert abs(counts.get(names[i], 0) / n - p) < 4 * math.sqrt(p * (1 - p) / n)


def test_bag_of_tokens_rm_ignores_order():
    rm = toy_lm.BagOfTokensRM()
    with torch.no_grad():
        rm.weight.copy_(torch.arange(6.0))
    tokens, mask = toy_lm.encode(["abc.", "cba.", "ab"])
    assert rm(tokens, mask).tolist() == [0 + 1 + 2 + 5, 0 + 1 + 2 + 5, 1.0]


def test_language_logprobs_hand_worked_and_normalised():
    tokens, mask = toy_lm.encode(["ab.", "."])
    lp = toy_lm.language_logprobs(tokens, mask)
    assert lp[0].item() == pytest.approx(math.log(0.10 * 0.8 * 0.36 * 0.2))
    assert lp[1].item() == -math.inf
    seqs, smask = toy_lm.all_sequences()
    assert toy_lm.language_logprobs(seqs, smask).exp().sum().item() == pytest.approx(1.0, abs=1e-12)


def test_toy_pieces_are_sensible(toy):
    assert toy.sft_losses[-1] < toy.sft_losses[0]  # SFT learned something
    lang = toy_lm.language_logprobs(toy.sequences, toy.sequence_mask)
    p = lang.exp()
    kl = (p[p > 0] * (lang[p > 0] - toy.ref_logp_all[p > 0])).sum().item()
    assert kl < 1.5  # KL(language ‖ SFT) in nats per sequence: a fair fit (an untrained model is far off)
    # the reward model learned the liked letter from the pairs alone
    w = toy.reward_model.weight
    assert w[toy_lm.LIKED] > w[1:toy_lm.EOS].max() + 0.5
    assert 0.55 < toy.rm_heldout_accuracy < 0.75  # noisy labels: far from perfect, better than chance
    assert toy.ref_logp_all.exp().sum().item() == pytest.approx(1.0, abs=1e-9)


def test_kl_regularized_optimum_is_gibbs_and_beats_other_policies(toy):
    s, lr = toy.score_all, toy.ref_logp_all
    for beta in (0.1, 0.3, 1.0):
        opt = toy_lm.kl_regularized_optimum(lr, s, beta)
        assert opt["objective"] == pytest.approx(beta * torch.logsumexp(lr + s / beta, 0).item(), abs=1e-9)
        for other in (lr, torch.log_softmax(lr + s / (2 * beta), 0), torch.log_softmax(lr + s / (0.5 * beta), 0)):
            stats = toy_lm.distribution_stats(other, lr, s, toy.gold_all)
            assert stats["score"] - beta * stats["kl"] <= opt["objective"] + 1e-9
    kls = [toy_lm.kl_regularized_optimum(lr, s, b)["kl"] for b in (0.05, 0.1, 0.3, 1.0, 3.0)]
    assert kls == sorted(kls, reverse=True)  # more β, less KL
    zero = toy_lm.kl_regularized_optimum(lr, s, 0.0)
    assert zero["score"] == pytest.approx(s.max().item())
    with pytest.raises(ValueError, match="beta"):
        toy_lm.kl_regularized_optimum(lr, s, -1.0)


def test_beta_zero_optimum_is_the_reward_hack(toy):
    # the reward model's favourite string repeats 'a': gold says that is bad
    opt = toy_lm.kl_regularized_optimum(toy.ref_logp_all, toy.score_all, 0.0)
    assert toy_lm.top_sequences(opt["logp"], toy, 1)[0][0] == "aaaaaa"
    sweep = toy_lm.beta_sweep(toy, [0.0, 0.3])
    assert sweep["gold"][0] < sweep["gold_ref"] < sweep["gold"][1]


def test_controller_demo_reaches_target(toy):
    ctl = pe.rlhf.AdaptiveKLController(0.05, target=4.0, horizon=1000)
    demo = toy_lm.controller_demo(toy, ctl, updates=200, n_steps=128)
    assert demo["kl"][0] > 10 and demo["kl"][-1] == pytest.approx(4.0, rel=1e-3)


def test_train_rlhf_is_deterministic(toy):
    cfg = toy_lm.RLHFConfig(beta=0.2, iterations=3)
    a, b = toy_lm.train_rlhf(toy, cfg), toy_lm.train_rlhf(toy, cfg)
    assert a["history"] == b["history"]


@pytest.mark.parametrize("seed", [0, 2])
def test_ppo_raises_score_with_bounded_kl_and_beta_zero_drifts(toy, seed):
    beta = 0.3
    kept = toy_lm.train_rlhf(toy, toy_lm.RLHFConfig(beta=beta, iterations=30, seed=seed))["history"]
    free = toy_lm.train_rlhf(toy, toy_lm.RLHFConfig(beta=0.0, iterations=30, seed=seed))["history"]
    opt = toy_lm.kl_regularized_optimum(toy.ref_logp_all, toy.score_all, beta)
    start = kept["score"][0]
    # the regularised objective climbs to near its exact maximum
    assert kept["score"][-1] - beta * kept["kl"][-1] > start + 0.8 * (opt["objective"] - start)
    # KL stays bounded: J(π) ≥ J(π_ref) implies KL ≤ (max s − E_ref s)/β; it is also far below β = 0's
    assert kept["kl"][-1] < (toy.score_all.max().item() - start) / beta
    assert kept["kl"][-1] < 0.5 * free["kl"][-1]
    # β = 0: the score is maximised, the gold preference falls below the SFT model's
    assert free["score"][-1] > kept["score"][-1]
    assert free["gold"][-1] < free["gold"][0] < kept["gold"][-1]


def test_train_rlhf_adaptive_beta_moves(toy):
    hist = toy_lm.train_rlhf(toy, toy_lm.RLHFConfig(beta=0.05, adaptive_kl_target=2.0, kl_horizon=500,
                                                    iterations=8))["history"]
    # iteration 0: π_θ = π_ref, KL = 0 < target: error clipped to −0.2, β shrinks by 1 − 0.2·128/500
    assert hist["kl"][0] == 0.0 and hist["beta"][1] == pytest.approx(0.05 * (1 - 0.2 * 128 / 500))
    # once the KL overshoots the target, β goes back up
    assert max(hist["batch_kl"]) > 2.0 and hist["beta"][-1] > min(hist["beta"])


def test_train_rlhf_rejects_bad_config(toy):
    with pytest.raises(ValueError, match="batch_size"):
        toy_lm.train_rlhf(toy, toy_lm.RLHFConfig(batch_size=10, minibatches=4))
    with pytest.raises(ValueError, match="beta"):
        toy_lm.train_rlhf(toy, toy_lm.RLHFConfig(beta=-0.1, iterations=1))


def test_notebook_09_plots_draw():
    from matplotlib.figure import Figure

    figs = [
        pe.plots.rlhf_token_rewards(list("ab..."), [-0.1, 0.2, 0.0, 0.0, 0.0], 1.5, [1, 1, 1, 0, 0], 0.3),
        pe.plots.rlhf_kl_estimators({"k1": [0.1, -0.2, 0.5], "k3": [0.1, 0.05, 0.3]}, 0.1),
        pe.plots.rlhf_training({"a": {"score": [0, 1], "gold": [0, 1], "kl": [0, 2]}},
                               {"a": {"score": 1.0, "gold": 1.0, "kl": 2.0}}),
        pe.plots.rlhf_beta_sweep({"beta": [0.1, 1.0], "score": [2, 1], "gold": [0, 1], "kl": [3, 1], "gold_ref": 0.5},
                                 0.3, [("a.", 0.5)]),
        pe.plots.rlhf_kl_controller([0.1, 0.2], [5.0, 4.0], 4.0),
    ]
    assert all(isinstance(f, Figure) for f in figs)
    assert [len(f.axes) for f in figs] == [1, 1, 3, 2, 2]
