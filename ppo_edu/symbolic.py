"""The sympy derivations the notebooks display and assert.

Each function returns sympy objects (and, where a claim is made, a boolean that the
notebook asserts), so the maths is checked symbolically rather than typed in by hand.
"""

from __future__ import annotations

import sympy as sp

# --- 01–04 policy gradient, baseline, advantage, importance sampling -------------------------


# --- 07 GAE -----------------------------------------------------------------------------------
