"""Test-session settings shared by the unit tests and the nbval notebook run.

Notebooks read ``PPO_EDU_QUICK``: under the test suite their long runs (training, large
Monte-Carlo sweeps) use the small CI budget; opened in JupyterLab they use the full one.
Kernels started by nbval inherit this process's environment, so setting it here is enough.
"""

import os

os.environ.setdefault("PPO_EDU_QUICK", "1")
# One intra-op thread per process (kernels included): the course's networks are tiny, and on a busy
# 2-core machine several processes each spinning up a thread pool slow every one of them down.
os.environ.setdefault("OMP_NUM_THREADS", "1")
