"""Notebook 08's exercises: the clipped value loss and per-minibatch advantage normalisation."""

from __future__ import annotations

import torch

from .. import advantages as adv_module
from .. import losses
from ._core import Exercise, Mistake


# --- Exercise 8.1: the clipped value loss ---------------------------------------------------------
def _vcases() -> list[dict]:
    g = torch.Generator().manual_seed(81)
    out = [{"values": torch.tensor([1.5, 0.5, 1.05, -1.0], dtype=torch.float64),
            "returns": torch.tensor([2.0, 2.0, 0.0, -3.0], dtype=torch.float64),
            "values_old": torch.tensor([1.0, 1.0, 1.0, -0.5], dtype=torch.float64), "clip_eps": 0.2}]
    for n, eps in ((8, 0.2), (12, 0.5), (6, 0.1)):
        old = torch.randn(n, generator=g, dtype=torch.float64)
        out.append({"values": old + 0.5 * torch.randn(n, generator=g, dtype=torch.float64),
                    "returns": torch.randn(n, generator=g, dtype=torch.float64), "values_old": old, "clip_eps": eps})
    return out


def value_loss_solution(values, returns, values_old, clip_eps):
    v_clipped = values_old + torch.clamp(values - values_old, -clip_eps, clip_eps)
    return 0.5 * torch.maximum((values - returns) ** 2, (v_clipped - returns) ** 2).mean()


def _v_variant(values, returns, values_old, clip_eps, *, how):
    v_clip = values_old + torch.clamp(values - values_old, -clip_eps, clip_eps)
    a, b = (values - returns) ** 2, (v_clip - returns) ** 2
    return {"min": 0.5 * torch.minimum(a, b).mean(), "only": 0.5 * b.mean(), "half": torch.maximum(a, b).mean()}[how]


clipped_value_loss = Exercise(
    name="clipped_value_loss",
    title="The clipped value loss ½·mean(max((V − R)², (V_clip − R)²)), eq. (8.2)",
    reference=lambda values, returns, values_old, clip_eps: losses.value_loss(values, returns, values_old, clip_eps),
    cases=_vcases,
    solution_fn=value_loss_solution,
    mistakes=(
        Mistake("min_instead_of_max", "You took the min of the two errors: the clipped value loss is a pessimistic "
                "bound, the *max*, like the policy clip (the min would let the clip hide large errors).",
                lambda **kw: _v_variant(**kw, how="min")),
        Mistake("only_clipped_term", "You used only the clipped prediction: V_clip's gradient is 0 outside "
                "[V_old − ε, V_old + ε], so the critic could never move further; take the max with the unclipped "
                "error.",
                lambda **kw: _v_variant(**kw, how="only")),
        Mistake("missing_half", "The loss is ½·mean(…): the ½ makes its gradient (V − R).",
                lambda **kw: _v_variant(**kw, how="half")),
    ),
    hints=("V_clip = V_old + clamp(V − V_old, −ε, ε): the new prediction, moved at most ε from the old one.",
           "Square both errors against the returns, take the element-wise max, average, halve."),
)


# --- Exercise 8.2: advantage normalisation over a minibatch ------------------------------------------
def _ncases() -> list[dict]:
    g = torch.Generator().manual_seed(82)
    return [{"advantages": 3.0 * torch.randn(shape, generator=g, dtype=torch.float64) + 1.0}
            for shape in ((16, 4), (8, 2), (32, 3), (10, 5))]


def normalize_solution(advantages):
    return (advantages - advantages.mean()) / (advantages.std() + 1e-8)


normalize_advantages = Exercise(
    name="normalize_advantages",
    title="Normalise a minibatch of advantages over all its entries",
    reference=lambda advantages: adv_module.normalize(advantages),
    cases=_ncases,
    solution_fn=normalize_solution,
    mistakes=(
        Mistake("normalized_per_column", "You normalised each column (each environment) separately: PPO whitens the "
                "minibatch as a whole, one mean and one std over every entry.",
                lambda advantages: (advantages - advantages.mean(0)) / (advantages.std(0) + 1e-8)),
        Mistake("normalized_per_row", "You normalised each row (each time step) separately: use one mean and one std "
                "over every entry of the minibatch.",
                lambda advantages: (advantages - advantages.mean(1, keepdim=True))
                / (advantages.std(1, keepdim=True) + 1e-8)),
        Mistake("not_centred", "You divided by the std but did not subtract the mean.",
                lambda advantages: advantages / (advantages.std() + 1e-8)),
    ),
    hints=("One mean and one std over *all* entries: advantages.mean(), advantages.std().",),
)
