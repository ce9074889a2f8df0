"""Small MDPs with exact solutions: the ground truth that estimators are measured against.

Sections follow the notebooks that use them.
"""

from __future__ import annotations

# --- 01–04 tabular MDPs, exact V, Q, A and exact ∇J ------------------------------------------


# --- 06–07 random walk and MDPs for TD/MC and GAE ---------------------------------------------
