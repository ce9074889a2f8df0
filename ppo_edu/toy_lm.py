"""A toy RLHF task that runs on a CPU in seconds and needs no downloads.

The pieces, as in RLHF for real language models:

* **prompts** (:data:`PROMPTS`): six short strings of 1 to 3 letters over ``a b c d e``. A batch
  holds them **left-padded** to :data:`PROMPT_WIDTH` columns, so every response starts in the
  same column, as in TRL;
* a **language**: a response continues its prompt with letters from a hand-written Markov chain
  and ends with ``.`` (EOS), or stops unfinished at :data:`MAX_LEN` tokens
  (:func:`sample_language`);
* a tiny autoregressive **policy** (:class:`TinyLM`, a GRU), first fitted to those responses by
  maximum likelihood on the response tokens only: the "SFT" model (:func:`fit_sft`), of which a
  frozen copy is the **reference** π_ref;
* a hidden **gold preference** (:func:`gold_reward`): the letter ``a`` is liked, an immediate
  repeat (``aa``, ``bb``, …, including a response that repeats the prompt's last letter) is
  disliked. It labels synthetic preference pairs;
* a **reward model** (:class:`BagOfTokensRM`) learned from those pairs with the Bradley–Terry
  loss. It scores a response by the tokens it contains, not their order, so it *cannot* see
  repeats: a proxy of the gold preference with a blind spot, like every real reward model.

One row of a batch (:class:`Batch`) is ``[left padding | prompt | response | right padding]``.
Padding uses the EOS id (as many language models do, ``pad_token = eos_token``), so the token ids
alone cannot tell padding from a real EOS: the ``attention_mask`` (prompt and response) and the
``response_mask`` (response only, its EOS included) can.

The response space is small (19 531 responses per prompt), so :func:`all_sequences` lists every
one and :func:`all_sequence_logprobs` gives their exact log-probabilities under each prompt:
expected scores and the KL between policy and reference are computed *exactly*, and so is the
best possible KL-regularised policy (:func:`kl_regularized_optimum`). PPO over tokens lives in
:mod:`ppo_edu.rlhf_train`.

Layout: batch-major (B, T) as in :mod:`ppo_edu.rlhf`. Exact quantities over all responses have
shape (K, M): K prompts, M responses.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from . import losses, rlhf
from .validate import as_bool_mask, as_tensor, check_ndim

Tensor = torch.Tensor

LETTERS = ("a", "b", "c", "d", "e")
EOS = len(LETTERS)  # token id of "." (end of sequence); also the padding id
PAD = EOS  # padding reuses the EOS id: only the masks tell them apart
BOS = EOS + 1  # input-only id fed before every row
N_TOKENS = len(LETTERS) + 1  # what the policy can emit: letters and EOS
MAX_LEN = 6  # longest response (tokens, EOS included)
PROMPTS = ("b", "e", "cd", "da", "bce", "eab")
PROMPT_WIDTH = max(len(p) for p in PROMPTS)  # prompts are left-padded to this many columns
LIKED = 0  # the gold preference likes "a"
REPEAT_PENALTY = 1.5
_NAMES = LETTERS + (".",)


# --- the language ------------------------------------------------------------------------------
def language_model_probs() -> tuple[Tensor, float]:
    """The Markov chain that defines the "pre-training" language.

    Returns (letter→letter transitions (5, 5), P(EOS) at every response position after the
    first). A response's first letter follows the prompt's last letter. Immediate repeats are
    rare (probability 0.04) and ``a`` is uncommon.
    """
    trans = torch.tensor(
        [
            [0.04, 0.36, 0.20, 0.20, 0.20],
            [0.12, 0.04, 0.44, 0.20, 0.20],
            [0.12, 0.20, 0.04, 0.44, 0.20],
            [0.12, 0.20, 0.20, 0.04, 0.44],
            [0.12, 0.44, 0.20, 0.20, 0.04],
        ],
        dtype=torch.float64,
    )
    return trans, 0.2


def _prompt_ids(prompt_ids: Any) -> Tensor:
    ids = check_ndim("prompt_ids", as_tensor("prompt_ids", prompt_ids, torch.long), (1,), "(B,)")
    if ids.numel() and not bool(((ids >= 0) & (ids < len(PROMPTS))).all()):
        raise ValueError(f"prompt_ids: expected indices into PROMPTS (0 … {len(PROMPTS) - 1}), got {ids.tolist()}")
    return ids


def prompt_tokens(prompt_ids: Any) -> tuple[Tensor, Tensor]:
    """The prompts as tokens, **left-padded** to :data:`PROMPT_WIDTH`: ``"cd" → [PAD, c, d]``.

    Shapes:
        prompt_ids: (B,);  tokens, mask: (B, PROMPT_WIDTH).
    """
    ids = _prompt_ids(prompt_ids)
    tokens = torch.full((ids.shape[0], PROMPT_WIDTH), PAD, dtype=torch.long)
    mask = torch.zeros(ids.shape[0], PROMPT_WIDTH, dtype=torch.bool)
    for row, i in enumerate(ids.tolist()):
        p = PROMPTS[i]
        tokens[row, PROMPT_WIDTH - len(p) :] = torch.tensor([_NAMES.index(ch) for ch in p])
        mask[row, PROMPT_WIDTH - len(p) :] = True
    return tokens, mask


def sample_prompts(n: int, generator: torch.Generator) -> Tensor:
    """``n`` prompt indices drawn uniformly from :data:`PROMPTS`. Shapes: result (n,)."""
    return torch.randint(0, len(PROMPTS), (n,), generator=generator)


@dataclass(frozen=True)
class Batch:
    """Prompts and responses, one per row: ``[left padding | prompt | response | right padding]``.

    ``attention_mask`` is 1 on the prompt and the response, ``response_mask`` on the response only
    (its EOS included): log-probabilities, KL, rewards, advantages and losses count only where
    ``response_mask`` is 1.

    Shapes:
        prompt_ids: (B,);  tokens, attention_mask, response_mask: (B, PROMPT_WIDTH + MAX_LEN).
    """

    prompt_ids: Tensor
    tokens: Tensor
    attention_mask: Tensor
    response_mask: Tensor

    @property
    def responses(self) -> Tensor:
        """The response columns only, right-padded. Shapes: (B, MAX_LEN)."""
        return self.tokens[:, PROMPT_WIDTH:]

    @property
    def responses_mask(self) -> Tensor:
        """The response mask of the response columns. Shapes: (B, MAX_LEN)."""
        return self.response_mask[:, PROMPT_WIDTH:]

    @property
    def ended(self) -> Tensor:
        """Whether each response ended with EOS (else it was cut at MAX_LEN). Shapes: (B,)."""
        r, m = self.responses, self.responses_mask
        return (m & (r == EOS)).any(dim=1)

    def __getitem__(self, i: Any) -> Batch:
        return Batch(self.prompt_ids[i], self.tokens[i], self.attention_mask[i], self.response_mask[i])

    def __len__(self) -> int:
        return int(self.tokens.shape[0])


def response_mask_of(attention_mask: Any, prompt_width: int = PROMPT_WIDTH) -> Tensor:
    """The response mask of rows ``[left-padded prompt | right-padded response]``.

        response_mask[b, t] = attention_mask[b, t] · 1[t ≥ prompt_width]

    The prompt is context (no action of the policy), the padding is nothing; the response's EOS
    *is* an action and counts. Never rebuild the mask from token ids: padding shares the EOS id.

    Shapes:
        attention_mask, result: (B, T) bool.
    """
    m = check_ndim("attention_mask", as_bool_mask("attention_mask", attention_mask, torch.empty(0)), (2,), "(B, T)")
    if isinstance(prompt_width, bool) or not isinstance(prompt_width, int) or not 0 <= prompt_width < m.shape[1]:
        raise ValueError(f"prompt_width: expected an integer in [0, {m.shape[1]}), got {prompt_width!r}")
    return m & (torch.arange(m.shape[1]) >= prompt_width)


def make_batch(prompt_ids: Any, responses: Any, responses_mask: Any) -> Batch:
    """Full rows from prompt indices and right-padded responses (tokens and mask of shape (B, MAX_LEN))."""
    ids = _prompt_ids(prompt_ids)
    r = check_ndim("responses", as_tensor("responses", responses, torch.long), (2,), "(B, MAX_LEN)")
    rm = as_bool_mask("responses_mask", responses_mask, r)
    if r.shape != (ids.shape[0], MAX_LEN) or rm.shape != r.shape:
        raise ValueError(f"responses: expected shape ({ids.shape[0]}, {MAX_LEN}), got {tuple(r.shape)}")
    p, pm = prompt_tokens(ids)
    tokens = torch.cat([p, torch.where(rm, r, PAD)], dim=1)
    attention = torch.cat([pm, rm], dim=1)
    return Batch(ids, tokens, attention, response_mask_of(attention))


def sample_language(n: int, generator: torch.Generator, prompt_ids: Any = None) -> Batch:
    """``n`` prompts (uniform, unless ``prompt_ids`` is given) continued by responses of the language."""
    trans, p_eos = language_model_probs()
    ids = sample_prompts(n, generator) if prompt_ids is None else _prompt_ids(prompt_ids)
    prev = torch.tensor([_NAMES.index(PROMPTS[i][-1]) for i in ids.tolist()], dtype=torch.long)
    tokens = torch.full((n, MAX_LEN), EOS, dtype=torch.long)
    mask = torch.zeros(n, MAX_LEN, dtype=torch.bool)
    alive = torch.ones(n, dtype=torch.bool)
    for t in range(MAX_LEN):
        eos = torch.zeros(n, dtype=torch.bool) if t == 0 else torch.rand(n, generator=generator) < p_eos
        letters = torch.multinomial(trans[prev], 1, generator=generator).squeeze(1)
        tok = torch.where(eos, EOS, letters)
        tokens[:, t] = torch.where(alive, tok, EOS)
        mask[:, t] = alive
        alive = alive & ~eos
        prev = letters
    return make_batch(ids, tokens, mask)


def language_logprobs(prompt_ids: Any, responses: Any, responses_mask: Any) -> Tensor:
    """Exact log-probability of each response given its prompt under :func:`language_model_probs`.

    Shapes:
        prompt_ids: (B,);  responses, responses_mask: (B, MAX_LEN);  result: (B,) float64
        (−inf for impossible responses, e.g. the empty response ".").
    """
    ids = _prompt_ids(prompt_ids)
    tok = check_ndim("responses", as_tensor("responses", responses, torch.long), (2,), "(B, T)")
    m = as_bool_mask("responses_mask", responses_mask, tok)
    trans, p_eos = language_model_probs()
    letter = tok.clamp(max=EOS - 1)
    prev = torch.tensor([_NAMES.index(PROMPTS[i][-1]) for i in ids.tolist()], dtype=torch.long)
    total = torch.zeros(tok.shape[0], dtype=torch.float64)
    for t in range(tok.shape[1]):
        if t == 0:
            p = torch.where(tok[:, 0] == EOS, torch.zeros_like(total), trans[prev, letter[:, 0]])
        else:
            p = torch.where(tok[:, t] == EOS, p_eos, (1 - p_eos) * trans[letter[:, t - 1], letter[:, t]])
        total = total + torch.where(m[:, t], p.log(), torch.zeros_like(total))
    return total


def decode(tokens: Any, mask: Any) -> list[str]:
    """Token rows as strings, masked-out positions dropped: ``[[0, 1, 5, 5], …] → ["ab.", …]``."""
    tok = as_tensor("tokens", tokens, torch.long)
    m = as_bool_mask("mask", mask, tok)
    return ["".join(_NAMES[int(t)] for t, keep in zip(row, mrow, strict=True) if keep) for row, mrow in zip(tok, m, strict=True)]


def encode(strings: list[str], max_len: int = MAX_LEN) -> tuple[Tensor, Tensor]:
    """Responses such as ``"ab."`` as (tokens, mask), right-padded to ``max_len``."""
    tokens = torch.full((len(strings), max_len), PAD, dtype=torch.long)
    mask = torch.zeros(len(strings), max_len, dtype=torch.bool)
    for i, s in enumerate(strings):
        if not s or len(s) > max_len or any(ch not in _NAMES for ch in s) or "." in s[:-1]:
            raise ValueError(f"strings: expected 1 to {max_len} of 'abcde.' with '.' only at the end, got {s!r}")
        tokens[i, : len(s)] = torch.tensor([_NAMES.index(ch) for ch in s])
        mask[i, : len(s)] = True
    return tokens, mask


def gold_reward(batch: Batch) -> Tensor:
    """The hidden preference: (number of ``a`` in the response) − 1.5 · (immediate repeats).

    A repeat is a response letter equal to the real letter just before it, which for the first
    response letter is the prompt's last letter (prompt ``"da"``, response ``"ab."``: one repeat).

    Shapes:
        batch rows: (B, T);  result: (B,) float64.
    """
    tok, real, resp = batch.tokens, batch.attention_mask, batch.response_mask
    letter = real & (tok < EOS)
    liked = (resp & (tok == LIKED)).sum(dim=1)
    repeats = (resp[:, 1:] & letter[:, 1:] & letter[:, :-1] & (tok[:, 1:] == tok[:, :-1])).sum(dim=1)
    return liked.double() - REPEAT_PENALTY * repeats.double()


# --- models ------------------------------------------------------------------------------------
class TinyLM(nn.Module):
    """A one-layer GRU over tokens: ``n_out = N_TOKENS`` gives a policy, ``n_out = 1`` a value model.

    Output t is computed from the real tokens before t (the input is BOS, y_0, …, y_{T−2}), so for
    a policy it is the logits of π(y_t | y_<t) and for a value model V(y_<t), the value of the
    state in which token t is chosen. Left padding (``attention_mask`` = 0 in the first
    :data:`PROMPT_WIDTH` columns) leaves the state unchanged, which is what an attention mask does
    in a transformer: a left-padded prompt gives the same outputs as the unpadded one. Right
    padding comes after every real token, so it cannot change a real token's output.
    """

    def __init__(self, n_out: int = N_TOKENS, hidden: int = 32) -> None:
        super().__init__()
        self.hidden = hidden
        self.embed = nn.Embedding(N_TOKENS + 1, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)
        self.head = nn.Linear(hidden, n_out)

    def step(self, token_in: Tensor, h: Tensor, real: Tensor | None = None) -> Tensor:
        """Feed one token per row (rows with ``real`` = False keep their state); returns the new state."""
        new = self.gru(self.embed(token_in)[:, None], h[None])[1][0]
        return new if real is None else torch.where(real[:, None], new, h)

    def initial_state(self, n: int) -> Tensor:
        """The state after BOS. Shapes: (n, hidden)."""
        return self.step(torch.full((n,), BOS, dtype=torch.long), torch.zeros(n, self.hidden))

    def forward(self, tokens: Tensor, attention_mask: Tensor) -> Tensor:
        """Outputs for every position of :class:`Batch` rows. Shapes: tokens, attention_mask (B, T) → (B, T, n_out)."""
        b, t = tokens.shape
        h, states = self.initial_state(b), []
        for i in range(min(PROMPT_WIDTH, t)):  # the left-padded part: one masked step at a time
            states.append(h)
            h = self.step(tokens[:, i], h, attention_mask[:, i].bool())
        states = torch.stack(states + [h], dim=1)[:, :t]
        if t > PROMPT_WIDTH + 1:  # the rest at once: states after each response token but the last
            rest, _ = self.gru(self.embed(tokens[:, PROMPT_WIDTH:-1]), h[None])
            states = torch.cat([states, rest], dim=1)
        return self.head(states)


def token_logprobs(policy: TinyLM, tokens: Tensor, attention_mask: Tensor) -> Tensor:
    """log π(y_t | y_<t) of every token of the rows (prompt and padding too: mask them!). (B, T) → (B, T)."""
    logp = torch.log_softmax(policy(tokens, attention_mask), dim=-1)
    return logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)


def values_of(critic: TinyLM, tokens: Tensor, attention_mask: Tensor) -> Tensor:
    """V(y_<t) for every position. Shapes: tokens, attention_mask (B, T) → (B, T)."""
    return critic(tokens, attention_mask).squeeze(-1)


def _prompt_states(model: TinyLM, prompt_ids: Tensor) -> Tensor:
    p, pm = prompt_tokens(prompt_ids)
    h = model.initial_state(p.shape[0])
    for i in range(PROMPT_WIDTH):
        h = model.step(p[:, i], h, pm[:, i])
    return h


@torch.no_grad()
def sample(policy: TinyLM, prompt_ids: Any, generator: torch.Generator) -> Batch:
    """One response from ``policy`` for each prompt index: a :class:`Batch`.

    A response stops after its EOS (a real, masked-in token); later positions are padding. A
    response without EOS stops at ``MAX_LEN``: it never ended.
    """
    ids = _prompt_ids(prompt_ids)
    n = ids.shape[0]
    tokens = torch.full((n, MAX_LEN), PAD, dtype=torch.long)
    mask = torch.zeros(n, MAX_LEN, dtype=torch.bool)
    alive = torch.ones(n, dtype=torch.bool)
    h = _prompt_states(policy, ids)
    for t in range(MAX_LEN):
        tok = torch.multinomial(torch.softmax(policy.head(h), dim=-1), 1, generator=generator).squeeze(1)
        tokens[:, t] = torch.where(alive, tok, PAD)
        mask[:, t] = alive
        alive = alive & (tok != EOS)
        h = policy.step(tokens[:, t], h)
    return make_batch(ids, tokens, mask)


class BagOfTokensRM(nn.Module):
    """Reward model s(y) = Σ_t w[y_t] over the response tokens: it sees *which* tokens, not their order."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(N_TOKENS))

    def forward(self, tokens: Tensor, response_mask: Tensor) -> Tensor:
        """Scores. Shapes: tokens, response_mask (B, T) → (B,)."""
        return (self.weight[tokens] * response_mask.to(self.weight.dtype)).sum(dim=1)


# --- fitting -----------------------------------------------------------------------------------
def fit_sft(
    policy: TinyLM,
    data: Batch,
    steps: int = 300,
    lr: float = 0.01,
    batch_size: int = 256,
    generator: torch.Generator | None = None,
) -> list[float]:
    """Supervised fine-tuning: Adam on the cross-entropy of the **response** tokens; returns the losses.

    The prompt is context, not a target (TRL's "completion only" loss): the mean runs over
    ``response_mask``.
    """
    opt = torch.optim.Adam(policy.parameters(), lr=lr)
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    history = []
    for _ in range(steps):
        mb = data[torch.randint(0, len(data), (min(batch_size, len(data)),), generator=g)]
        logp = token_logprobs(policy, mb.tokens, mb.attention_mask)
        loss = -losses.masked_mean(logp, mb.response_mask.float())
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
    return history


def preference_pairs(n: int, generator: torch.Generator) -> dict[str, Any]:
    """``n`` synthetic preference pairs: one prompt, two responses of the language, labelled by gold.

    A "labeller" prefers y¹ over y² with probability σ(gold(y¹) − gold(y²)) (Bradley–Terry with
    the gold reward), so labels are noisy, as human ones are. Returns the chosen and the rejected
    :class:`Batch`.
    """
    ids = sample_prompts(n, generator)
    first, second = sample_language(n, generator, ids), sample_language(n, generator, ids)
    p_first = torch.sigmoid(gold_reward(first) - gold_reward(second))
    pick = torch.rand(n, generator=generator, dtype=torch.float64) < p_first
    col = pick.unsqueeze(1)

    def choose(a: Batch, b: Batch) -> Batch:
        return Batch(
            ids,
            torch.where(col, a.tokens, b.tokens),
            torch.where(col, a.attention_mask, b.attention_mask),
            torch.where(col, a.response_mask, b.response_mask),
        )

    return {"chosen": choose(first, second), "rejected": choose(second, first)}


def fit_reward_model(rm: BagOfTokensRM, pairs: dict[str, Any], steps: int = 300, lr: float = 0.05) -> list[float]:
    """Fit ``rm`` with the Bradley–Terry loss (:func:`ppo_edu.rlhf.bradley_terry_loss`); returns the losses."""
    opt = torch.optim.Adam(rm.parameters(), lr=lr)
    w, lo = pairs["chosen"], pairs["rejected"]
    history = []
    for _ in range(steps):
        loss = rlhf.bradley_terry_loss(rm(w.tokens, w.response_mask), rm(lo.tokens, lo.response_mask))
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
    return history


# --- exact quantities by enumeration -------------------------------------------------------------
def all_sequences(max_len: int = MAX_LEN) -> tuple[Tensor, Tensor]:
    """Every possible response: k letters then EOS (k < max_len), or max_len letters (unfinished).

    The order is the one of :func:`all_sequence_logprobs`: by length, then alphabetically.
    Shapes: tokens, mask (M, max_len) with M = Σ_{k<max_len} 5^k + 5^max_len.
    """
    rows, masks = [], []
    for k in range(max_len + 1):
        for letters in itertools.product(range(len(LETTERS)), repeat=k):
            rows.append(list(letters) if k == max_len else list(letters) + [EOS] * (max_len - k))
            masks.append([True] * min(k + 1, max_len) + [False] * (max_len - min(k + 1, max_len)))
    return torch.tensor(rows, dtype=torch.long), torch.tensor(masks, dtype=torch.bool)


def all_rows(prompt_id: int) -> Batch:
    """Prompt ``prompt_id`` with every response of :func:`all_sequences`: a Batch of M rows."""
    seqs, mask = all_sequences()
    return make_batch(torch.full((seqs.shape[0],), prompt_id, dtype=torch.long), seqs, mask)


def all_sequence_logprobs(policy: TinyLM, requires_grad: bool = False) -> Tensor:
    """log π(y | x) of every response of :func:`all_sequences` under every prompt, by walking the prefix tree.

    Each prefix is fed to the GRU once (3 906 steps per prompt instead of 19 531 × 6), which makes
    exact evaluation cheap enough to do at every PPO iteration. With ``requires_grad`` the result
    is differentiable in the policy's parameters.  Shapes: result (K, M) float64.
    """
    with torch.set_grad_enabled(requires_grad):
        n_letters, k = len(LETTERS), len(PROMPTS)
        h = _prompt_states(policy, torch.arange(k))
        prefix_logp = torch.zeros(k, 1, dtype=torch.float64)
        ended = []
        for depth in range(MAX_LEN):
            logp = torch.log_softmax(policy.head(h).double(), dim=-1).reshape(k, -1, N_TOKENS)
            ended.append(prefix_logp + logp[..., EOS])
            prefix_logp = (prefix_logp[..., None] + logp[..., :n_letters]).reshape(k, -1)
            if depth + 1 < MAX_LEN:
                h = h.repeat_interleave(n_letters, dim=0)
                h = policy.step(torch.arange(n_letters).repeat(h.shape[0] // n_letters), h)
        return torch.cat(ended + [prefix_logp], dim=1)


def distribution_stats(logp_all: Tensor, logp_ref_all: Tensor, score_all: Tensor, gold_all: Tensor) -> dict[str, float]:
    """Exact E[score], E[gold] and KL(π ‖ π_ref), averaged over the (uniform) prompts.

    Shapes:
        logp_all, logp_ref_all, score_all, gold_all: (K, M) (or (M,) for one prompt).
    """
    p = logp_all.exp()
    return {
        "score": float((p * score_all).sum(-1).mean()),
        "gold": float((p * gold_all).sum(-1).mean()),
        "kl": float((p * (logp_all - logp_ref_all)).sum(-1).mean()),
    }


def kl_regularized_optimum(logp_ref_all: Any, score_all: Any, beta: float) -> dict[str, Any]:
    """The best policy for E[s] − β KL(π ‖ π_ref), eq. (9.3), prompt by prompt:

        π*(y|x) = π_ref(y|x) exp(s(x,y)/β) / Z(x),   max = β E_x[log Z(x)],
        Z(x) = Σ_y π_ref(y|x) exp(s(x,y)/β).                                          (9.5)

    Returns ``{"logp", "objective", "score", "kl"}`` (the numbers averaged over prompts). β = 0
    is the limit: all mass on each prompt's best-scored response(s), objective = E_x[max s].

    Shapes:
        logp_ref_all, score_all: (K, M) or (M,);  "logp": the same.
    """
    lr = as_tensor("logp_ref_all", logp_ref_all, torch.float64)
    s = as_tensor("score_all", score_all, torch.float64).expand_as(lr)
    b = float(beta)
    if not b >= 0.0:
        raise ValueError(f"beta: expected a number >= 0, got {beta!r}")
    if b == 0.0:
        best = s == s.max(dim=-1, keepdim=True).values
        logits = torch.where(best, lr, torch.tensor(-torch.inf, dtype=torch.float64))
    else:
        logits = lr + s / b
    logp = logits - torch.logsumexp(logits, dim=-1, keepdim=True)
    p = logp.exp()
    kl = float((p * torch.where(p > 0, logp - lr, torch.zeros_like(lr))).sum(-1).mean())
    score = float((p * s).sum(-1).mean())
    return {"logp": logp, "objective": score - b * kl, "score": score, "kl": kl}


def bayes_ceiling(toy: Toy) -> dict[str, float]:
    """The best agreement any scorer can reach with the noisy labels of :func:`preference_pairs`, exactly.

    A pair (y¹, y²) of responses to one prompt, drawn from the language, is labelled y¹ ≻ y² with
    probability σ(g¹ − g²), g = gold. The best guess picks the higher gold and is right with
    probability max(σ(Δ), σ(−Δ)); a gold tie is a coin flip (½ for every scorer). So

        ceiling = E_x E_{y¹,y²} [ max(σ(g¹ − g²), σ(g² − g¹)) ],

    computed from each prompt's distribution of gold values. Returns ``{"ceiling", "ties"}``
    (ties: the probability that a pair has equal gold).
    """
    ceilings, ties = [], []
    for k in range(len(PROMPTS)):
        p, g = toy.lang_logp_all[k].exp(), toy.gold_all[k]
        values = torch.unique(g)
        pv = torch.stack([p[g == v].sum() for v in values])
        best = torch.sigmoid((values[:, None] - values[None, :]).abs())
        ceilings.append(float(pv @ best @ pv))
        ties.append(float((pv**2).sum()))
    return {"ceiling": sum(ceilings) / len(ceilings), "ties": sum(ties) / len(ties)}


# --- the whole toy ------------------------------------------------------------------------------
@dataclass
class Toy:
    """Everything the RLHF run needs, built by :func:`make_toy`. Exact tables are (K prompts, M responses)."""

    reference: TinyLM  # frozen SFT model π_ref
    reward_model: BagOfTokensRM
    sequences: Tensor  # every response (M, MAX_LEN)
    sequence_mask: Tensor  # its mask (M, MAX_LEN)
    ref_logp_all: Tensor  # log π_ref(y | x) (K, M)
    lang_logp_all: Tensor  # log-probability under the language (K, M)
    score_all: Tensor  # reward-model score (K, M)
    gold_all: Tensor  # gold reward (K, M)
    sft_losses: list[float] = field(default_factory=list)
    rm_losses: list[float] = field(default_factory=list)
    rm_heldout_accuracy: float = float("nan")  # agreement with held-out labels (a tie in score counts ½)
    heldout_pairs: int = 0


def make_toy(seed: int = 0, n_sft: int = 4000, n_pairs: int = 2000, sft_steps: int = 300) -> Toy:
    """Fit the SFT model and the reward model with fixed seeds; a few seconds on a CPU."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    sft = TinyLM()
    sft_losses = fit_sft(sft, sample_language(n_sft, g), steps=sft_steps, generator=g)
    sft.requires_grad_(False).eval()
    rm = BagOfTokensRM()
    rm_losses = fit_reward_model(rm, preference_pairs(n_pairs, g))
    rm.requires_grad_(False)
    test = preference_pairs(2000, g)
    w, lo = test["chosen"], test["rejected"]
    with torch.no_grad():
        s_w, s_l = rm(w.tokens, w.response_mask), rm(lo.tokens, lo.response_mask)
        acc = float(((s_w > s_l).double() + 0.5 * (s_w == s_l).double()).mean())  # a tie is ½, as in bayes_ceiling
    rows = [all_rows(k) for k in range(len(PROMPTS))]
    with torch.no_grad():
        score_all = torch.stack([rm(r.tokens, r.response_mask).double() for r in rows])
    gold_all = torch.stack([gold_reward(r) for r in rows])
    lang_all = torch.stack([language_logprobs(r.prompt_ids, r.responses, r.responses_mask) for r in rows])
    seqs, smask = all_sequences()
    return Toy(sft, rm, seqs, smask, all_sequence_logprobs(sft), lang_all, score_all, gold_all, sft_losses, rm_losses, acc, 2000)


# --- helpers for the notebook's figures ------------------------------------------------------------
def top_sequences(logp_all: Tensor, toy: Toy, k: int = 5, prompt: int = 0) -> list[tuple[str, float]]:
    """The ``k`` likeliest responses to prompt ``prompt`` under a (K, M) table, as (string, probability)."""
    row = logp_all[prompt] if logp_all.ndim == 2 else logp_all
    order = torch.argsort(row, descending=True)[:k]
    names = decode(toy.sequences[order], toy.sequence_mask[order])
    return [(s, float(row[i].exp())) for s, i in zip(names, order, strict=True)]


def beta_sweep(toy: Toy, betas: Any) -> dict[str, Any]:
    """E[score], E[gold] and KL of the best KL-regularised policy π*_β (eq. 9.5) for each β."""
    out: dict[str, Any] = {"beta": [float(b) for b in betas], "score": [], "gold": [], "kl": []}
    for b in out["beta"]:
        opt = kl_regularized_optimum(toy.ref_logp_all, toy.score_all, b)
        out["score"].append(opt["score"])
        out["kl"].append(opt["kl"])
        out["gold"].append(float((opt["logp"].exp() * toy.gold_all).sum(-1).mean()))
    out["gold_ref"] = float((toy.ref_logp_all.exp() * toy.gold_all).sum(-1).mean())
    return out


def controller_demo(toy: Toy, controller: Any, updates: int = 200, n_steps: int = 128) -> dict[str, list[float]]:
    """Drive a KL controller with the KL that its β would give at convergence, KL(π*_β ‖ π_ref).

    An idealised loop (the policy is assumed to reach π*_β between updates) that shows what the
    controller does without any training: returns the β and the KL of every update.
    """
    betas, kls = [], []
    for _ in range(updates):
        kl = kl_regularized_optimum(toy.ref_logp_all, toy.score_all, controller.value)["kl"]
        betas.append(controller.value)
        kls.append(kl)
        controller.update(kl, n_steps)
    return {"beta": betas, "kl": kls}


def nudged_policy(policy: TinyLM, token: int = LIKED, amount: float = 1.0) -> TinyLM:
    """A copy of ``policy`` whose output bias for ``token`` is raised by ``amount``: a π_θ ≠ π_ref to look at."""
    out = copy.deepcopy(policy)
    with torch.no_grad():
        out.head.bias[token] += amount
    return out


@torch.no_grad()
def reward_parts(policy: TinyLM, toy: Toy, row: Batch, beta: float) -> dict[str, Any]:
    """What :func:`ppo_edu.plots.rlhf_token_rewards` draws for one row (a :class:`Batch` of length 1).

    Returns the token labels, the KL part −β·k1_t (0 off the response), the score, the response
    mask and the attention mask (to tell prompt from padding).
    """
    lp = token_logprobs(policy, row.tokens, row.attention_mask)
    lr = token_logprobs(toy.reference, row.tokens, row.attention_mask)
    kl_part = -beta * rlhf.kl_per_token(lp, lr) * row.response_mask
    labels = list(decode(row.tokens, torch.ones_like(row.response_mask))[0])
    return {
        "labels": labels,
        "kl_part": kl_part[0].tolist(),
        "score": float(toy.reward_model(row.tokens, row.response_mask)[0]),
        "mask": row.response_mask[0].tolist(),
        "beta": beta,
        "attention": row.attention_mask[0].tolist(),
    }
