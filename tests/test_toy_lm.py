"""ppo_edu.toy_lm: prompts and responses, the tiny policy, the reward model, exact enumeration."""

import math

import pytest
import torch

import ppo_edu as pe
from ppo_edu import toy_lm


@pytest.fixture(scope="module")
def toy():
    torch.set_num_threads(1)
    return toy_lm.make_toy(seed=0)


def _rows(prompt, responses):
    tokens, mask = toy_lm.encode(responses)
    return toy_lm.make_batch(torch.full((len(responses),), toy_lm.PROMPTS.index(prompt)), tokens, mask)


def test_encode_decode_and_gold_hand_worked():
    tokens, mask = toy_lm.encode(["aab.", "aaaaaa", "bcd.", "."])
    assert toy_lm.decode(tokens, mask) == ["aab.", "aaaaaa", "bcd.", "."]
    assert mask.sum(dim=1).tolist() == [4, 6, 4, 1]
    # gold = #a − 1.5·#repeats; prompt "b": "bcd." repeats the prompt's last letter once
    rows = toy_lm.make_batch(torch.zeros(4, dtype=torch.long), tokens, mask)
    assert toy_lm.gold_reward(rows).tolist() == [2 - 1.5, 6 - 1.5 * 5, -1.5, 0.0]
    # prompt "da" ends with a: "aab." has two repeats
    assert toy_lm.gold_reward(_rows("da", ["aab."])).tolist() == [2 - 3.0]
    with pytest.raises(ValueError, match="strings"):
        toy_lm.encode(["a.b"])
    with pytest.raises(ValueError, match="prompt_ids"):
        toy_lm.prompt_tokens([6])


def test_rows_are_left_padded_prompt_then_right_padded_response():
    rows = toy_lm.make_batch(torch.tensor([0, 2, 4]), *toy_lm.encode(["a.", "bcde.", "aaaaaa"]))
    names = toy_lm.decode(rows.tokens, rows.attention_mask)
    assert names == ["ba.", "cdbcde.", "bceaaaaaa"]
    assert rows.attention_mask.int().tolist() == [[0, 0, 1, 1, 1, 0, 0, 0, 0], [0, 1, 1, 1, 1, 1, 1, 1, 0], [1] * 9]
    # the response mask: response tokens only (EOS included), never the prompt or the padding
    assert rows.response_mask.int().tolist() == [
        [0, 0, 0, 1, 1, 0, 0, 0, 0],
        [0, 0, 0, 1, 1, 1, 1, 1, 0],
        [0, 0, 0, 1, 1, 1, 1, 1, 1],
    ]
    assert rows.ended.tolist() == [True, True, False]
    # padding has the EOS id: only the masks tell a real EOS from padding
    assert int(rows.tokens[0, 0]) == int(rows.tokens[0, 4]) == toy_lm.EOS


def test_gold_and_reward_model_ignore_prompt_and_padding():
    rows = _rows("da", ["b.", "b."])
    rows = toy_lm.Batch(rows.prompt_ids, rows.tokens.clone(), rows.attention_mask, rows.response_mask)
    rows.tokens[1, 5:] = 0  # padding that happens to hold a's
    assert toy_lm.gold_reward(rows).tolist() == [0.0, 0.0]
    rm = toy_lm.BagOfTokensRM()
    with torch.no_grad():
        rm.weight.copy_(torch.arange(6.0) + 1)
    assert rm(rows.tokens, rows.response_mask).tolist() == [2 + 6, 2 + 6]  # 'a' of the prompt not counted


def test_left_padding_does_not_change_the_model():
    torch.manual_seed(0)
    policy = toy_lm.TinyLM()
    rows = _rows("cd", ["ab.", "eee."])
    with torch.no_grad():
        padded = toy_lm.token_logprobs(policy, rows.tokens, rows.attention_mask)
        other_pad = rows.tokens.clone()
        other_pad[:, 0] = 3  # change the padding token: nothing real may move
        moved = toy_lm.token_logprobs(policy, other_pad, rows.attention_mask)
    m = rows.attention_mask
    assert torch.allclose(padded[m], moved[m])


def test_language_samples_are_well_formed():
    g = torch.Generator().manual_seed(0)
    rows = toy_lm.sample_language(500, g)
    r, m = rows.responses, rows.responses_mask
    assert bool((r[:, 0] != toy_lm.EOS).all())  # never an empty response
    lengths = m.sum(dim=1)
    assert bool((m == (torch.arange(toy_lm.MAX_LEN) < lengths[:, None])).all())  # right padding
    ended = lengths < toy_lm.MAX_LEN
    assert bool((r[ended, lengths[ended] - 1] == toy_lm.EOS).all())  # EOS is the last real token
    last = r[torch.arange(500), lengths - 1]
    assert bool((rows.ended == (last == toy_lm.EOS)).all()) and not bool(rows.ended.all())  # some never end
    # P(EOS) = 0.2 at each later position: the mean number of letters is 1 + 0.8 + … + 0.8^5
    want = sum(0.8**k for k in range(6))
    letters = (m & (r < toy_lm.EOS)).sum(dim=1).double()
    assert abs(letters.mean().item() - want) < 4 * letters.std().item() / math.sqrt(500)


def test_all_sequences_are_every_sequence_once():
    seqs, mask = toy_lm.all_sequences()
    assert seqs.shape == (sum(5**k for k in range(6)) + 5**6, 6)
    assert len(set(toy_lm.decode(seqs, mask))) == seqs.shape[0]


def test_tree_walk_matches_the_forward_pass_and_sums_to_one():
    torch.manual_seed(1)
    policy = toy_lm.TinyLM()
    logp_all = toy_lm.all_sequence_logprobs(policy)
    assert logp_all.shape == (len(toy_lm.PROMPTS), 19_531)
    assert torch.allclose(logp_all.exp().sum(dim=1), torch.ones(len(toy_lm.PROMPTS), dtype=torch.float64))
    for k in (0, 4):  # a 1-letter (2 columns of left padding) and a 3-letter prompt
        rows = toy_lm.all_rows(k)
        idx = torch.randperm(len(rows), generator=torch.Generator().manual_seed(k))[:300]
        mb = rows[idx]
        with torch.no_grad():
            direct = (toy_lm.token_logprobs(policy, mb.tokens, mb.attention_mask) * mb.response_mask).sum(1).double()
        assert torch.allclose(direct, logp_all[k, idx], atol=1e-5)


def test_sampling_frequencies_match_exact_probabilities():
    torch.manual_seed(2)
    policy = toy_lm.TinyLM()
    with torch.no_grad():
        policy.head.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0, 0.5]))  # a few likely responses
    p_all = toy_lm.all_sequence_logprobs(policy).exp()[3]
    n = 20_000
    rows = toy_lm.sample(policy, torch.full((n,), 3), torch.Generator().manual_seed(3))
    counts: dict[str, int] = {}
    for s in toy_lm.decode(rows.responses, rows.responses_mask):
        counts[s] = counts.get(s, 0) + 1
    names = toy_lm.decode(*toy_lm.all_sequences())
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
    rows = _rows("b", ["ab.", "."])
    lp = toy_lm.language_logprobs(rows.prompt_ids, rows.responses, rows.responses_mask)
    assert lp[0].item() == pytest.approx(math.log(0.12 * 0.8 * 0.36 * 0.2))  # b→a, a→b, then EOS
    assert lp[1].item() == -math.inf
    for k in range(len(toy_lm.PROMPTS)):
        rows = toy_lm.all_rows(k)
        total = toy_lm.language_logprobs(rows.prompt_ids, rows.responses, rows.responses_mask).exp().sum()
        assert total.item() == pytest.approx(1.0, abs=1e-12)


def test_toy_pieces_are_sensible(toy):
    assert toy.sft_losses[-1] < toy.sft_losses[0]  # SFT learned something
    p = toy.lang_logp_all.exp()
    real = p > 0
    kl = (p[real] * (toy.lang_logp_all[real] - toy.ref_logp_all[real])).sum().item() / len(toy_lm.PROMPTS)
    assert kl < 0.5  # KL(language ‖ SFT) in nats per response, averaged over prompts: a fair fit
    # the reward model learned the liked letter from the pairs alone
    w = toy.reward_model.weight
    assert w[toy_lm.LIKED] > w[1 : toy_lm.EOS].max() + 0.5
    ceiling = toy_lm.bayes_ceiling(toy)["ceiling"]
    se = math.sqrt(0.25 / toy.heldout_pairs)
    assert 0.5 + 4 * se < toy.rm_heldout_accuracy < ceiling + 4 * se  # better than chance, not above Bayes
    assert toy.ref_logp_all.exp().sum(1).tolist() == pytest.approx([1.0] * len(toy_lm.PROMPTS), abs=1e-9)


def test_bayes_ceiling_hand_worked():
    # one prompt, gold ∈ {0, 1} with probability ½ each: ties ½ (coin flips), else σ(1) right
    class Fake:
        lang_logp_all = torch.log(torch.tensor([[0.5, 0.5]], dtype=torch.float64)).repeat(len(toy_lm.PROMPTS), 1)
        gold_all = torch.tensor([[0.0, 1.0]], dtype=torch.float64).repeat(len(toy_lm.PROMPTS), 1)

    out = toy_lm.bayes_ceiling(Fake())
    assert out["ties"] == pytest.approx(0.5)
    assert out["ceiling"] == pytest.approx(0.5 * 0.5 + 0.5 / (1 + math.exp(-1.0)))


def test_kl_regularized_optimum_is_gibbs_and_beats_other_policies(toy):
    s, lr = toy.score_all, toy.ref_logp_all
    for beta in (0.1, 0.3, 1.0):
        opt = toy_lm.kl_regularized_optimum(lr, s, beta)
        want = beta * torch.logsumexp(lr + s / beta, dim=1).mean().item()
        assert opt["objective"] == pytest.approx(want, abs=1e-9)
        for other in (lr, torch.log_softmax(lr + s / (2 * beta), 1), torch.log_softmax(lr + s / (0.5 * beta), 1)):
            stats = toy_lm.distribution_stats(other, lr, s, toy.gold_all)
            assert stats["score"] - beta * stats["kl"] <= opt["objective"] + 1e-9
    kls = [toy_lm.kl_regularized_optimum(lr, s, b)["kl"] for b in (0.05, 0.1, 0.3, 1.0, 3.0)]
    assert kls == sorted(kls, reverse=True)  # more β, less KL
    zero = toy_lm.kl_regularized_optimum(lr, s, 0.0)
    assert zero["score"] == pytest.approx(s.max(dim=1).values.mean().item())
    with pytest.raises(ValueError, match="beta"):
        toy_lm.kl_regularized_optimum(lr, s, -1.0)


def test_beta_zero_optimum_is_the_reward_hack(toy):
    # the reward model's favourite response repeats 'a': gold says that is bad
    opt = toy_lm.kl_regularized_optimum(toy.ref_logp_all, toy.score_all, 0.0)
    assert toy_lm.top_sequences(opt["logp"], toy, 1)[0][0] == "aaaaaa"
    sweep = toy_lm.beta_sweep(toy, [0.0, 0.3])
    assert sweep["gold"][0] < sweep["gold_ref"] < sweep["gold"][1]


def test_controller_demo_reaches_target(toy):
    ctl = pe.rlhf.AdaptiveKLController(0.05, target=4.0, horizon=1000)
    demo = toy_lm.controller_demo(toy, ctl, updates=200, n_steps=128)
    assert demo["kl"][0] > 10 and demo["kl"][-1] == pytest.approx(4.0, rel=1e-3)


def test_notebook_09_plots_draw():
    from matplotlib.figure import Figure

    figs = [
        pe.plots.rlhf_token_rewards(list(".cab..."), [0, 0, -0.1, 0.2, 0.0, 0.0, 0.0], 1.5, [0, 0, 1, 1, 1, 0, 0], 0.3,
                                    attention=[0, 1, 1, 1, 1, 0, 0]),
        pe.plots.rlhf_kl_estimators({"k1": [0.1, -0.2, 0.5], "k3": [0.1, 0.05, 0.3]}, 0.1),
        pe.plots.rlhf_training(
            {"a": {"score": [0, 1], "gold": [0, 1], "kl": [0, 2]}}, {"a": {"score": 1.0, "gold": 1.0, "kl": 2.0}}
        ),
        pe.plots.rlhf_beta_sweep(
            {"beta": [0.1, 1.0], "score": [2, 1], "gold": [0, 1], "kl": [3, 1], "gold_ref": 0.5}, 0.3, [("a.", 0.5)]
        ),
        pe.plots.rlhf_kl_controller([0.1, 0.2], [5.0, 4.0], 4.0),
        pe.plots.rlhf_methods({"a": [{"score": [0, 1], "gold": [0, 1], "kl": [0, 2]}] * 2,
                               "b": [{"score": [0, 2], "gold": [0, 0], "kl": [0, 3]}]}, 0.3,
                              {"objective": 1.0, "gold": 1.0, "kl": 2.0}),
    ]
    assert all(isinstance(f, Figure) for f in figs)
    assert [len(f.axes) for f in figs] == [1, 1, 3, 2, 2, 3]
