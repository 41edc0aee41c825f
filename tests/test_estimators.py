"""One contract, every estimator: what DEC, IDEC and IIC share through the base.

Validation, interruption, random state, persistence, out-of-range input,
collapse and the shape of ``history_`` are tested on a tiny instance of each
estimator (``tiny_estimators`` in conftest), so a behaviour that drifts in
one of them fails here.
"""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils.validation import check_is_fitted

from .conftest import tiny_estimators

ESTIMATORS = tiny_estimators(n_clusters=3)
IDS = [type(est).__name__ for est in ESTIMATORS]


@pytest.fixture(params=ESTIMATORS, ids=IDS)
def estimator(request):
    return clone(request.param)


@pytest.fixture(scope="module")
def fitted(blobs_module):
    X, _ = blobs_module
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return {type(est).__name__: clone(est).fit(X) for est in ESTIMATORS}


@pytest.fixture(scope="module")
def blobs_module():
    from sklearn.datasets import make_blobs

    X, y = make_blobs(
        n_samples=150, centers=3, n_features=6, cluster_std=0.5, random_state=0
    )
    X = (X - X.min(0)) / (X.max(0) - X.min(0))
    return X.astype(np.float32), y


def _fit_quietly(est, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X)


# ---------------------------------------------------------------------------
# Validation before any work


@pytest.mark.parametrize(
    ("value", "message"),
    [(np.nan, "NaN"), (np.inf, "infinity")],
    ids=["nan", "inf"],
)
def test_non_finite_training_data_is_refused(estimator, blobs_module, value, message):
    X = blobs_module[0].copy()
    X[3, 2] = value
    with pytest.raises(ValueError, match=message):
        estimator.fit(X)
    with pytest.raises(NotFittedError):
        check_is_fitted(estimator)


@pytest.mark.parametrize("name", IDS)
def test_non_finite_inference_data_is_refused(fitted, blobs_module, name):
    X = blobs_module[0].copy()
    X[0, 0] = np.nan
    for method in ("predict", "predict_proba", "transform"):
        with pytest.raises(ValueError, match="NaN"):
            getattr(fitted[name], method)(X)


@pytest.mark.parametrize("name", IDS)
def test_other_width_is_refused(fitted, blobs_module, name):
    X = blobs_module[0][:, :4]
    with pytest.raises(ValueError, match="4 features"):
        fitted[name].predict(X)


def test_too_few_samples_is_refused(estimator):
    with pytest.raises(ValueError, match="n_samples=2 should be >="):
        estimator.fit(np.random.default_rng(0).random((2, 4)))


def test_bad_widths_are_refused(estimator, blobs_module):
    estimator.set_params(module__hidden_dims=(16, 0))
    with pytest.raises(ValueError, match="hidden_dims must contain positive widths"):
        estimator.fit(blobs_module[0])


# ---------------------------------------------------------------------------
# Out-of-range input


@pytest.mark.parametrize("name", IDS)
@pytest.mark.parametrize("method", ["predict", "predict_proba", "transform"])
def test_far_out_of_range_input_is_a_clear_error(fitted, blobs_module, name, method):
    X = blobs_module[0] * np.float32(1e30)
    with pytest.raises(ValueError, match="far outside the range seen during fit"):
        getattr(fitted[name], method)(X)


@pytest.mark.parametrize("name", IDS)
def test_input_somewhat_out_of_range_is_accepted(fitted, blobs_module, name):
    # Data on another (but sane) scale still predicts: only absurd input fails.
    proba = fitted[name].predict_proba(blobs_module[0] * 100)
    assert np.isfinite(proba).all()


# ---------------------------------------------------------------------------
# Interruption and failure leave the estimator as it was


class _Interrupt:
    """A callback that raises KeyboardInterrupt, as Ctrl-C would, while armed:
    when fit begins (``at="begin"``) or at the first record of a training
    stage after pretraining (``at="training"``: DEC's and IDEC's clustering
    stage, IIC's first pass)."""

    def __init__(self, at):
        self.at = at
        self.armed = True

    def on_fit_begin(self, estimator, X, **state):
        if self.armed and self.at == "begin":
            raise KeyboardInterrupt

    def on_record(self, estimator, record, **state):
        training = record["stage"] in ("clustering", "overcluster", "main")
        if self.armed and self.at == "training" and training:
            raise KeyboardInterrupt


@pytest.mark.parametrize("at", ["begin", "training"])
def test_interrupted_first_fit_leaves_estimator_unfitted(estimator, blobs_module, at):
    estimator.set_params(callbacks=[_Interrupt(at)])
    params = estimator.get_params()
    with pytest.raises(KeyboardInterrupt):
        estimator.fit(blobs_module[0])
    with pytest.raises(NotFittedError):
        check_is_fitted(estimator)
    assert not [name for name in vars(estimator) if name.endswith("_")]
    assert estimator.get_params() == params


def test_interrupted_refit_keeps_the_previous_fit(estimator, blobs_module):
    X = blobs_module[0]
    interrupt = _Interrupt("training")
    interrupt.armed = False
    estimator.set_params(callbacks=[interrupt])
    _fit_quietly(estimator, X)
    before = dict(vars(estimator))
    proba = estimator.predict_proba(X)
    interrupt.armed = True
    with pytest.raises(KeyboardInterrupt):
        estimator.fit(X[:, :4])  # would change n_features_in_
    assert vars(estimator).keys() == before.keys()
    for name, value in before.items():
        assert vars(estimator)[name] is value, name
    np.testing.assert_array_equal(estimator.predict_proba(X), proba)


# ---------------------------------------------------------------------------
# Randomness


def test_global_random_states_are_untouched(estimator, blobs_module):
    np.random.seed(123)  # noqa: NPY002 (the legacy global state is the point)
    torch.manual_seed(123)
    numpy_state = np.random.get_state()[1].copy()  # noqa: NPY002
    torch_state = torch.get_rng_state().clone()
    _fit_quietly(estimator, blobs_module[0])
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)  # noqa: NPY002
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_same_random_state_same_labels(estimator, blobs_module):
    X = blobs_module[0]
    first = _fit_quietly(clone(estimator), X).labels_
    second = _fit_quietly(clone(estimator), X).labels_
    np.testing.assert_array_equal(first, second)


# ---------------------------------------------------------------------------
# Persistence and pickling


@pytest.mark.parametrize("name", IDS)
def test_save_load_round_trip(fitted, blobs_module, name, tmp_path):
    est, X = fitted[name], blobs_module[0]
    path = tmp_path / "model.skdec"
    est.save(path)
    loaded = type(est).load(path)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), est.predict_proba(X))
    assert loaded.history_ == est.history_
    # The out-of-range check survives the round trip.
    with pytest.raises(ValueError, match="far outside"):
        loaded.predict(X * np.float32(1e30))


@pytest.mark.parametrize("name", IDS)
def test_pickle_round_trip(fitted, blobs_module, name):
    est, X = fitted[name], blobs_module[0]
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(X), est.predict(X))


# ---------------------------------------------------------------------------
# Collapse


def test_collapse_warns_with_the_number_left(estimator):
    # Two distinct points repeated: at most two of the four clusters hold rows.
    X = np.repeat(np.random.default_rng(0).random((2, 6), np.float32), 30, axis=0)
    estimator.set_params(n_clusters=4)
    with pytest.warns(ConvergenceWarning, match=r"only [12] of the 4 clusters"):
        estimator.fit(X)
    assert np.unique(estimator.labels_).size < 4


@pytest.mark.parametrize("name", ["DECClusterer", "IDECClusterer"])
def test_no_collapse_warning_when_every_cluster_is_used(fitted, name):
    assert np.unique(fitted[name].labels_).size == 3


# ---------------------------------------------------------------------------
# One shape of training history


@pytest.mark.parametrize("name", IDS)
def test_history_is_one_clean_table(fitted, name):
    history = fitted[name].history_
    for record in history:
        assert isinstance(record["stage"], str)
        assert np.isfinite(record["loss"])
        assert record["seconds"] >= 0
    table = pd.DataFrame(history)
    assert {"stage", "loss", "seconds"} <= set(table.columns)
    assert len(table) == len(history)


@pytest.mark.parametrize("name", IDS)
def test_labels_equal_predict(fitted, blobs_module, name):
    est = fitted[name]
    np.testing.assert_array_equal(est.labels_, est.predict(blobs_module[0]))
