"""Hypothesis profiles: ``ci`` (default; derandomised, bounded) and ``thorough`` (long searches); one thread per
process.

Select a profile with the environment variable ``CAE_HYPOTHESIS_PROFILE=thorough python -m pytest``.

The suite runs on two worker processes (pytest-xdist, ``-n 2`` in pyproject.toml), one per core of the CI machine;
every process it starts (notebook kernels, ``cae`` subprocesses) inherits one BLAS/OpenMP thread, so that two
workers never oversubscribe the cores (multi-threaded kernels on the tiny matrices here are slower anyway).
"""
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, database=None, deadline=None, max_examples=100,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", derandomize=False, deadline=None, max_examples=5000,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("CAE_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """Run torch and the BLAS/LAPACK pools on one thread. The tensors and matrices in the tests are tiny
    (p <= 50); multi-threaded eigh/cholesky/matmul on them is 10-100x slower than single-threaded on a 2-core
    machine (measured by the cae_core engineers under load). Restored after the session."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        yield
    torch.set_num_threads(before)
