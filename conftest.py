"""Test-session settings shared by the unit tests and the nbval notebook run.

Notebooks read ``PPO_EDU_QUICK``: under the test suite their long runs (training, large
Monte-Carlo sweeps) use the small CI budget; opened in JupyterLab they use the full one.
Kernels started by nbval inherit this process's environment, so setting it here is enough.
"""

import os

os.environ.setdefault("PPO_EDU_QUICK", "1")
