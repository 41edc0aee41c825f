"""The search over n_clusters on a Dask cluster, through joblib's "dask" backend.

The clusters here listen on the loopback interface only and have no dashboard.
"""

import os
import re
import warnings
from contextlib import contextmanager

import joblib
import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skdec import DECClusterer
from skdec.metrics import accuracy_scorer

from .conftest import TINY

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

_THREAD_VARIABLES = ("MKL_NUM_THREADS", "OMP_NUM_THREADS")

# ---------------------------------------------------------------------------
# A local cluster that leaves this process as it found it


def _nanny_variables():
    """Names a Nanny writes into the environment of the process that starts it."""
    spawn = dask.config.get("distributed.nanny.pre-spawn-environ")
    return (*spawn, *_THREAD_VARIABLES, "PYTHONHASHSEED")


@contextmanager
def _environ_restored():
    # The Nanny exports its pre-spawn variables (OMP_NUM_THREADS=1, ...) in the
    # process that starts it, here the test process; put them back afterwards
    # so that later tests and their subprocesses see the environment unchanged.
    saved = {name: os.environ.get(name) for name in _nanny_variables()}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _local_cluster(n_workers):
    return distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        # The scheduler's HTTP server (health, metrics) on loopback, at a free
        # port, so that two clusters do not both ask for 8787; no dashboard.
        dashboard_address="127.0.0.1:0",
        scheduler_kwargs={"dashboard": False},
    )


def _expected_worker_threads(launch_environ):
    """torch's intra-op threads in a worker process started by a Nanny.

    The Nanny sets ``distributed.nanny.pre-spawn-environ`` (OMP_NUM_THREADS and
    MKL_NUM_THREADS, both 1 by default) before it spawns the worker, except for
    variables the launching environment already sets. torch reads
    MKL_NUM_THREADS first, then OMP_NUM_THREADS.
    """
    spawn = dask.config.get("distributed.nanny.pre-spawn-environ")
    for name in _THREAD_VARIABLES:
        value = launch_environ.get(name, spawn.get(name))
        if value is not None:
            return int(value)
    return None


@pytest.fixture(scope="module")
def launch_environ():
    """This process's environment before any Nanny has written into it."""
    return dict(os.environ)


@pytest.fixture(scope="module")
def client(launch_environ):
    with (
        _environ_restored(),
        _local_cluster(2) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


# ---------------------------------------------------------------------------
# Tests


def test_dask_default_gives_each_worker_process_one_torch_thread(
    client, launch_environ
):
    spawn = dask.config.get("distributed.nanny.pre-spawn-environ")
    assert spawn["OMP_NUM_THREADS"] == spawn["MKL_NUM_THREADS"] == 1
    expected = _expected_worker_threads(launch_environ)
    if not any(name in launch_environ for name in _THREAD_VARIABLES):
        assert expected == 1
        for name in _THREAD_VARIABLES:
            assert set(client.run(os.environ.get, name).values()) == {"1"}
    threads = client.run(torch.get_num_threads)
    assert len(threads) == 2
    assert set(threads.values()) == {expected}


def test_pre_spawn_environ_sets_the_worker_threads():
    # What docs/scaling.rst tells users to do to give each worker more threads.
    # MKL_NUM_THREADS has to be raised with OMP_NUM_THREADS: torch reads it first.
    # The launching environment overrides the configuration, so clear it here.
    spawn = {"OMP_NUM_THREADS": 2, "MKL_NUM_THREADS": 2}
    with (
        _environ_restored(),
        dask.config.set({"distributed.nanny.pre-spawn-environ": spawn}),
    ):
        for name in _THREAD_VARIABLES:
            os.environ.pop(name, None)
        with (
            _local_cluster(1) as cluster,
            distributed.Client(cluster, set_as_default=False) as other,
        ):
            assert list(other.run(torch.get_num_threads).values()) == [2]


def _search():
    return GridSearchCV(
        DECClusterer(**TINY, random_state=0),
        {"n_clusters": [2, 3, 4]},
        scoring=accuracy_scorer,
        cv=2,
        refit=False,
    )


def _calls_per_task(key):
    # joblib names a task "batch_of_<function>_<n>_calls-<token>".
    match = re.search(r"batch_of__fit_and_score_(\d+)_calls", str(key))
    return int(match.group(1)) if match else 0


@contextmanager
def _torch_threads(n):
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def test_grid_search_over_n_clusters_on_dask_equals_the_local_search(
    client, launch_environ, blobs
):
    X, y = blobs
    with (
        distributed.get_task_stream(client) as stream,
        joblib.parallel_backend("dask"),
    ):
        on_dask = _search().fit(X, y)
    # The thread count can change a fit's result (user guide, Reproducibility):
    # compare with a local search on as many threads as a worker has.
    with (
        _torch_threads(_expected_worker_threads(launch_environ)),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", ConvergenceWarning)
        local = _search().fit(X, y)

    # All 3 candidates x 2 folds were fitted and scored on the workers.
    tasks = [task for task in stream.data if _calls_per_task(task["key"])]
    assert sum(_calls_per_task(task["key"]) for task in tasks) == 6
    assert {task["worker"] for task in tasks} <= set(client.scheduler_info()["workers"])

    # Fixed random_state: the same scores in the worker processes as here.
    for name in ("split0_test_score", "split1_test_score", "mean_test_score"):
        np.testing.assert_array_equal(
            on_dask.cv_results_[name], local.cv_results_[name]
        )
    assert on_dask.best_params_ == local.best_params_
