"""Property-based tests of predict_proba on random shapes and values.

The invariances of the metrics (relabelling, bounds) are in test_metrics.py.
"""

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.exceptions import ConvergenceWarning

from skdec import DECClusterer

_FITTED = {}


def _fitted(n_features, n_clusters, max_iter, seed):
    """A tiny fitted model, cached: fitting dominates the cost of an example."""
    key = (n_features, n_clusters, max_iter, seed)
    if key not in _FITTED:
        X = np.random.default_rng(seed).random((40, n_features), np.float32)
        est = DECClusterer(
            n_clusters,
            module__hidden_dims=(8,),
            module__latent_dim=2,
            pretrain_epochs=0,
            max_iter=max_iter,
            update_interval=2,
            n_init=1,
            random_state=seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            _FITTED[key] = est.fit(X)
    return _FITTED[key]


@st.composite
def models_and_inputs(draw):
    n_features = draw(st.integers(1, 5))
    est = _fitted(
        n_features,
        n_clusters=draw(st.integers(1, 4)),
        max_iter=draw(st.sampled_from([0, 6])),
        seed=draw(st.integers(0, 2)),
    )
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    # Up to 70 rows: below and above the 64-row padding of inference batches.
    n_samples = draw(st.integers(1, 70))
    # Far outside the [0, 1] training range as well, but not so far that the
    # squared distances overflow float32 (see test_reliability.py).
    values = st.floats(-1e6, 1e6, width=32)
    X = draw(arrays(dtype, (n_samples, n_features), elements=values))
    return est, X


@settings(max_examples=40, deadline=None)
@given(models_and_inputs())
def test_predict_proba_is_a_distribution(model_and_input):
    est, X = model_and_input
    proba = est.predict_proba(X)

    assert proba.shape == (len(X), est.n_clusters)
    assert proba.dtype == X.dtype
    assert np.isfinite(proba).all()
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    # The predicted cluster is one of highest probability.
    labels = est.predict(X)
    np.testing.assert_array_equal(proba[np.arange(len(X)), labels], proba.max(axis=1))


@settings(max_examples=20, deadline=None)
@given(models_and_inputs(), st.data())
def test_predict_proba_of_a_row_does_not_depend_on_its_batch(model_and_input, data):
    est, X = model_and_input
    i = data.draw(st.integers(0, len(X) - 1))
    # Equal to float32 precision: multi-threaded BLAS may round a row
    # differently by its position in the batch (seen: 1 ulp with 2 threads,
    # and 1e-6 of a probability for entries near 1e6, whose embedding keeps
    # fewer significant bits). A batch-dependent result would differ by far more.
    np.testing.assert_allclose(
        est.predict_proba(X)[i],
        est.predict_proba(X[i : i + 1])[0],
        rtol=1e-6,
        atol=1e-5,
    )
