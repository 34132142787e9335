"""Independent runs on one machine or many: ``map_runs(fn, items, scheduler=None)``.

``scheduler=None`` runs ``fn(item)`` for each item here, one after another, and imports nothing from dask (the
serial path needs no optional dependency). Otherwise the runs go to Dask distributed (the optional extra
``pip install "cae-verify[dist]"``): ``scheduler="local"`` starts a ``LocalCluster`` on this machine (one worker
PROCESS per run slot, one thread each, for ``workers`` slots -- default: the usable cores), and any other string is
the address of a running scheduler (``dask scheduler`` / ``dask worker ADDRESS`` on the machines of a cluster),
e.g. ``"tcp://10.0.0.5:8786"``.

Results are identical to the serial run: each run is a pure function of its item (its seed included), results
come back in the order of ``items`` whatever order the runs finish in, and processes (not threads) keep each
run's torch RNG, whose global state ``fit`` seeds, to itself. ``fn`` and the items must be picklable
(module-level functions, ``functools.partial`` of them, dataclasses); on a real cluster every worker needs the
same installed packages.

Used by ``cae experiment NAME --scheduler`` (:func:`cae_experiments.runner.run_experiment`) and available to any
caller with independent runs, e.g. verification over many seeds::

    from cae_experiments.distributed import map_runs
    ledgers = list(map_runs(functools.partial(run_ledger_for_seed, examples=500), range(32), scheduler="local"))
"""
from __future__ import annotations

import os
from typing import Callable, Iterable, Iterator

#: Install hint shown when the optional engine is missing.
INSTALL_HINT = 'pip install "cae-verify[dist]" (Dask distributed)'


def check_scheduler(scheduler) -> None:
    """TypeError/ValueError unless ``scheduler`` is None, "local" or a non-empty address string."""
    if scheduler is None:
        return
    if not isinstance(scheduler, str):
        raise TypeError(f"scheduler must be None, 'local' or a scheduler address string, got {type(scheduler).__name__}")
    if not scheduler.strip():
        raise ValueError("scheduler must be None, 'local' or a scheduler address such as 'tcp://host:8786', got ''")


def _client(scheduler: str, workers: int | None):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise ImportError(f"scheduler={scheduler!r} needs Dask distributed: {INSTALL_HINT}") from exc
    if scheduler == "local":
        n = workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
        return Client(cluster), cluster
    return Client(scheduler), None


def map_runs(fn: Callable, items: Iterable, *, scheduler: str | None = None,
             workers: int | None = None) -> Iterator:
    """Yield ``fn(item)`` for every item, in the order of ``items`` (see the module docstring).

    ``scheduler``: None (serial, here), "local" (a local Dask cluster of ``workers`` single-threaded processes) or
    a Dask scheduler address. An exception in a run is raised here, as in the serial loop. The cluster and the
    client are closed when the iterator is exhausted or closed.
    """
    check_scheduler(scheduler)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be None or an int >= 1, got {workers!r}")
    items = list(items)
    if scheduler is None:
        for item in items:
            yield fn(item)
        return
    client, cluster = _client(scheduler, workers)
    try:
        futures = client.map(fn, items, pure=False)
        for future in futures:
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
