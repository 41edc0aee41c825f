"""Numerical failures, degenerate data, convergence, interruption and memory."""

import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils.validation import check_is_fitted

from skdec import DECClusterer
from skdec._nn import log_soft_assignment, target_distribution

from .conftest import TINY


def _data(n_samples=90, n_features=6, seed=0):
    return np.random.default_rng(seed).random((n_samples, n_features), np.float32)


def _assert_valid_outputs(est, X):
    proba = est.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert np.isfinite(est.transform(X)).all()
    assert np.isfinite(est.cluster_centers_).all()
    labels = est.predict(X)
    assert ((labels >= 0) & (labels < est.n_clusters)).all()
    np.testing.assert_array_equal(labels, est.labels_)
    assert all(
        np.isfinite(record.get("loss", record.get("kl"))) for record in est.history_
    )


# ---------------------------------------------------------------------------
# Numerical failure


@pytest.mark.parametrize(
    ("params", "stage"),
    [
        (
            {"module__layerwise_dropout": 0.2, "pretrain_learning_rate": 1e8},
            "pretrain_layer_",
        ),
        ({"pretrain_learning_rate": 1e8}, "pretrain_end"),
        ({"learning_rate": 1e12}, "clustering"),
        (
            {"pretrain_epochs": 0, "pretrain_optimizer": "auto", "learning_rate": 1e12},
            "clustering",
        ),
    ],
    ids=["layerwise", "end-to-end", "clustering", "clustering-no-pretrain"],
)
def test_diverging_loss_stops_with_advice(params, stage):
    est = DECClusterer(3, **{**TINY, **params}, random_state=0)
    with pytest.raises(FloatingPointError, match=stage) as excinfo:
        est.fit(_data())
    assert "lower learning_rate" in str(excinfo.value)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


def test_divergence_after_the_last_refresh_is_caught():
    # One refresh at step 0, then three unchecked steps with an absurd rate.
    est = DECClusterer(
        3,
        **{**TINY, "update_interval": 50, "max_iter": 3},
        learning_rate=1e30,
        random_state=0,
    )
    X = _data()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X)
    except FloatingPointError as exc:
        assert "lower learning_rate" in str(exc)
        with pytest.raises(NotFittedError):
            check_is_fitted(est)
    else:
        _assert_valid_outputs(est, X)


@pytest.mark.parametrize("scale", [1e20, 1e300], ids=["float32", "float64"])
def test_far_out_of_range_input_never_gives_nan(scale):
    X = _data()
    est = DECClusterer(3, **TINY, random_state=0).fit(X)
    X_far = X.astype(np.float32 if scale < 1e38 else np.float64) * scale
    try:
        proba = est.predict_proba(X_far)
    except ValueError as exc:
        assert "scale" in str(exc)
    else:
        assert np.isfinite(proba).all()


# ---------------------------------------------------------------------------
# Degenerate data


def _constant_column():
    X = _data()
    X[:, 2] = 0.7
    return X, 3


def _identical_rows():
    return np.full((50, 6), 0.3, np.float32), 3


def _all_zeros():
    return np.zeros((50, 6), np.float32), 3


def _more_clusters_than_points():
    # Two distinct points repeated: at least two of the four clusters are empty.
    return np.repeat(_data(2), 30, axis=0), 4


@pytest.mark.parametrize(
    "make_data",
    [_constant_column, _identical_rows, _all_zeros, _more_clusters_than_points],
)
def test_degenerate_data_gives_no_nan(make_data):
    X, n_clusters = make_data()
    est = DECClusterer(n_clusters, **TINY, random_state=0)
    with warnings.catch_warnings():
        # k-means warns about duplicate points; that is expected here.
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X)
    _assert_valid_outputs(est, X)


def test_empty_cluster_target_has_no_nan():
    # Cluster 2 receives no mass at all: its frequency f_j is 0.
    q = torch.tensor([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0]], dtype=torch.float64)
    p = target_distribution(q)
    assert torch.isfinite(p).all()
    torch.testing.assert_close(p.sum(dim=1), torch.ones(2, dtype=torch.float64))
    assert (p[:, 2] == 0).all()


def test_far_away_points_do_not_underflow():
    # q_ij of every centroid underflows to 0 in the linear domain here.
    z = torch.tensor([[1e15, 0.0], [0.0, -3e15]])
    centroids = torch.tensor([[0.0, 0.0], [1.0, 1.0], [-1.0, 5.0]])
    log_q = log_soft_assignment(z, centroids, alpha=1.0)
    assert torch.isfinite(log_q).all()
    torch.testing.assert_close(log_q.exp().sum(dim=1), torch.ones(2))


# ---------------------------------------------------------------------------
# Convergence


def test_max_iter_before_tol_warns():
    est = DECClusterer(3, **{**TINY, "max_iter": 6, "update_interval": 2}, tol=0.0)
    with pytest.warns(ConvergenceWarning, match="max_iter=6"):
        est.fit(_data())
    assert est.n_iter_ == 6


@pytest.mark.parametrize(
    "params", [{"max_iter": 0}, {"tol": 1.0}], ids=["max_iter=0", "converged"]
)
def test_no_convergence_warning_when_not_due(params):
    est = DECClusterer(3, **{**TINY, **params}, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(_data())
    assert est.n_iter_ < est.max_iter or est.max_iter == 0


# ---------------------------------------------------------------------------
# Memory of batched inference

_MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, sys, tracemalloc
    import numpy as np
    from skdec import DECClusterer

    def status_kb(field):
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])

    n_samples, n_features = int(sys.argv[1]), int(sys.argv[2])
    rng = np.random.default_rng(0)
    est = DECClusterer(
        3, module__hidden_dims=(16,), module__latent_dim=2, pretrain_epochs=0,
        max_iter=0, n_init=1, random_state=0,
    ).fit(rng.random((200, n_features), np.float32))
    X = np.empty((n_samples, n_features), np.float32)
    for start in range(0, n_samples, 20000):
        X[start:start + 20000] = rng.random(X[start:start + 20000].shape, np.float32)

    baseline_kb = status_kb("VmRSS")
    tracemalloc.start()
    outputs = [est.predict(X), est.predict_proba(X), est.transform(X)]
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(json.dumps({
        "input_mb": X.nbytes / 2**20,
        "outputs_mb": sum(out.nbytes for out in outputs) / 2**20,
        # VmHWM is a high-water mark over the whole process: an upper bound
        # on the peak of any one of the three calls above the baseline.
        "rss_peak_mb": (status_kb("VmHWM") - baseline_kb) / 1024,
        "traced_peak_mb": traced_peak / 2**20,
    }))
    """
)


@pytest.mark.skipif(
    not os.path.exists("/proc/self/status"), reason="reads VmHWM from /proc"
)
def test_inference_memory_is_bounded():
    n_samples, n_features = 200_000, 784
    result = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, str(n_samples), str(n_features)],
        env={**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert measured["input_mb"] > 590  # the input really is 200000 x 784 float32
    extra_mb = measured["rss_peak_mb"] - measured["outputs_mb"]
    assert extra_mb <= 400, measured
    assert measured["traced_peak_mb"] - measured["outputs_mb"] <= 400, measured
