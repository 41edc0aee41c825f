"""Bad input and bad parameters: a clear error from skdec, before any work.

Each case asserts the exception type and a message that names the problem,
that no frame of the traceback is inside torch, and (through the fixtures
below) that fitting or inference had not started when it was raised.
"""

import os

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

import skdec._base
from skdec import DECClusterer

from .conftest import TINY

TORCH_DIR = os.path.dirname(torch.__file__)


def _raise_started(*args, **kwargs):
    raise AssertionError("work started before the input was validated")


@pytest.fixture
def no_training(monkeypatch):
    """Make the first step of training (placing X on the device) fail loudly."""
    monkeypatch.setattr(skdec._base, "to_training_tensor", _raise_started)


@pytest.fixture
def no_inference(monkeypatch):
    """Make the batched forward pass of inference fail loudly."""
    monkeypatch.setattr(skdec._base, "map_batches_numpy", _raise_started)


def _assert_not_from_torch(excinfo):
    for entry in excinfo.traceback:
        path = str(entry.path)
        assert not path.startswith(TORCH_DIR), f"raised from torch: {path}"


def _data(n_samples=40, n_features=4):
    return np.random.default_rng(0).random((n_samples, n_features))


@pytest.fixture(scope="module")
def fitted():
    return DECClusterer(3, **TINY, random_state=0).fit(_data())


def _with(value, row=0, col=0):
    X = _data()
    X[row, col] = value
    return X


def _object_array(value, col=0):
    X = _data().astype(object)
    X[0, col] = value
    return X


# The messages name the first bad column and the fix.
NAN = r"Input X contains NaN \(first in row 0, column 0\); drop the rows"
INF = r"Input X contains infinity \(first in row 5, column 2\); replace or drop"
ENCODE = r"\(column 2\); X must hold numbers: encode this column first"

# (id, X, exception, message) for inputs refused both by fit and at inference.
BAD_INPUTS = [
    ("nan", _with(np.nan), ValueError, NAN),
    ("inf", _with(np.inf, row=5, col=2), ValueError, INF),
    ("-inf", _with(-np.inf, row=5, col=2), ValueError, INF),
    ("strings", np.full((40, 4), "a"), ValueError, "could not convert string"),
    ("object-str", _object_array("a", 2), ValueError, "could not convert.*" + ENCODE),
    ("object-dict", _object_array({}, 2), TypeError, "not 'dict'.*" + ENCODE),
    ("object-none", _object_array(None), ValueError, NAN),
    ("complex", _data() + 1j, ValueError, "Complex data not supported"),
    ("empty", np.empty((0, 4)), ValueError, r"0 sample\(s\)"),
    ("no-features", np.empty((40, 0)), ValueError, r"0 feature\(s\)"),
    ("1-D", _data()[:, 0], ValueError, "Expected 2D array, got 1D array"),
    ("3-D", _data().reshape(40, 2, 2), ValueError, "dim 3"),
    ("scalar", np.float64(1.0), ValueError, "Expected 2D array, got scalar"),
]


@pytest.mark.parametrize(
    ("X", "error", "message"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
@pytest.mark.usefixtures("no_training")
def test_fit_refuses_bad_input(X, error, message):
    est = DECClusterer(3, **TINY)
    with pytest.raises(error, match=message) as excinfo:
        est.fit(X)
    _assert_not_from_torch(excinfo)
    assert not hasattr(est, "n_features_in_")


# (id, parameters, exception, message); InvalidParameterError is both a
# ValueError and a TypeError.
BAD_PARAMS = [
    ("n_clusters=0", {"n_clusters": 0}, ValueError, "'n_clusters' parameter"),
    ("n_clusters=-2", {"n_clusters": -2}, ValueError, "'n_clusters' parameter"),
    ("n_clusters=2.5", {"n_clusters": 2.5}, TypeError, "'n_clusters' parameter"),
    ("n_clusters='3'", {"n_clusters": "3"}, TypeError, "'n_clusters' parameter"),
    ("alpha<0", {"alpha": -1.0}, ValueError, "'alpha' parameter"),
    ("alpha=0", {"alpha": 0.0}, ValueError, "'alpha' parameter"),
    ("tol<0", {"tol": -0.1}, ValueError, "'tol' parameter"),
    ("tol>1", {"tol": 1.5}, ValueError, "'tol' parameter"),
    ("batch_size=0", {"batch_size": 0}, ValueError, "'batch_size' parameter"),
    ("width=0", {"module__hidden_dims": (16, 0)}, ValueError, "positive widths, got 0"),
    ("width<0", {"module__hidden_dims": (-3,)}, ValueError, "positive widths, got -3"),
    ("width=1.5", {"module__hidden_dims": (1.5,)}, TypeError, "integers, got 1.5"),
    ("hidden_dims=16", {"module__hidden_dims": 16}, TypeError, "sequence of positive"),
    (
        "latent_dim=0",
        {"module__latent_dim": 0},
        ValueError,
        "latent_dim must be a posi",
    ),
    ("max_iter<0", {"max_iter": -1}, ValueError, "'max_iter' parameter"),
    ("interval=0", {"update_interval": 0}, ValueError, "'update_interval'"),
    ("dropout=1", {"module__layerwise_dropout": 1.0}, ValueError, r"rate in \[0, 1\)"),
    ("lr=0", {"learning_rate": 0.0}, ValueError, "'learning_rate' parameter"),
    ("n_init=0", {"n_init": 0}, ValueError, "'n_init' parameter"),
    ("search", {"n_clusters_search": "kmeans"}, ValueError, "'n_clusters_search'"),
    ("augment", {"augment": (3, 3)}, ValueError, "augment=.3, 3. holds 9 values"),
    ("module__", {"module__width": 3}, TypeError, "unexpected keyword.*'width'"),
    ("epochs<0", {"pretrain_epochs": -1}, ValueError, "'pretrain_epochs' parameter"),
    ("device=tpu", {"device": "tpu"}, ValueError, "device='tpu' is not a valid"),
    ("device=''", {"device": ""}, ValueError, "device='' is not a valid"),
    ("device=mps", {"device": "mps"}, ValueError, "device='mps' is not supported"),
    ("device=0", {"device": 0}, TypeError, "'device' parameter"),
    ("device=cuda:7", {"device": "cuda:7"}, ValueError, "device='cuda:7'"),
]


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [case[1:] for case in BAD_PARAMS],
    ids=[case[0] for case in BAD_PARAMS],
)
@pytest.mark.usefixtures("no_training")
def test_fit_refuses_bad_parameter(params, error, message):
    est = DECClusterer(**{**TINY, "n_clusters": 3, **params})
    with pytest.raises(error, match=message) as excinfo:
        est.fit(_data())
    _assert_not_from_torch(excinfo)


@pytest.mark.usefixtures("no_training")
def test_fit_refuses_boolean_n_clusters():
    with pytest.raises(TypeError, match="n_clusters") as excinfo:
        DECClusterer(True, **TINY).fit(_data())
    _assert_not_from_torch(excinfo)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.usefixtures("no_training")
def test_fit_refuses_cuda_without_cuda():
    with pytest.raises(ValueError, match="CUDA is not available") as excinfo:
        DECClusterer(3, **TINY, device="cuda").fit(_data())
    _assert_not_from_torch(excinfo)


@pytest.mark.usefixtures("no_training")
def test_fit_refuses_fewer_samples_than_clusters():
    with pytest.raises(ValueError, match="n_samples=2 should be >= n_clusters=3"):
        DECClusterer(3, **TINY).fit(_data(n_samples=2))


INFERENCE = ["predict", "predict_proba", "transform", "score"]


@pytest.mark.parametrize("method", [*INFERENCE, "fit_predict"])
def test_methods_accept_numbers_as_strings_and_objects(fitted, method):
    # As in scikit-learn: values that convert to float are accepted.
    X = _data().astype(str).astype(object)
    est = DECClusterer(3, **TINY, random_state=0)
    if method == "fit_predict":
        assert est.fit_predict(X).shape == (40,)
    else:
        getattr(fitted, method)(X)


@pytest.mark.parametrize("method", [*INFERENCE, "save"])
def test_unfitted_estimator_refuses(method, tmp_path):
    arg = tmp_path / "model.skdec" if method == "save" else _data()
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(DECClusterer(3, **TINY), method)(arg)


@pytest.mark.parametrize("method", INFERENCE)
@pytest.mark.parametrize(
    ("X", "error", "message"),
    [
        (_data(n_features=3), ValueError, "X has 3 features, but DECClusterer is "),
        (_data(n_features=5), ValueError, "X has 5 features"),
        *[case[1:] for case in BAD_INPUTS],
    ],
    ids=["fewer-features", "more-features", *[case[0] for case in BAD_INPUTS]],
)
@pytest.mark.usefixtures("no_inference")
def test_inference_refuses_bad_input(fitted, method, X, error, message):
    with pytest.raises(error, match=message) as excinfo:
        getattr(fitted, method)(X)
    _assert_not_from_torch(excinfo)


@pytest.mark.usefixtures("no_training")
def test_dataframe_errors_name_the_column():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(_data(), columns=["a", "b", "c", "d"])
    df.loc[3, "c"] = np.inf
    with pytest.raises(ValueError, match=r"infinity \(first in row 3, column 'c'\)"):
        DECClusterer(3, **TINY).fit(df)
    df = pd.DataFrame(_data(), columns=["a", "b", "c", "d"]).assign(city="Oslo")
    match = r"could not convert string .*'city'.*OneHotEncoder or OrdinalEncoder"
    with pytest.raises(ValueError, match=match):
        DECClusterer(3, **TINY).fit(df)


@pytest.mark.usefixtures("no_training")
def test_streamed_errors_name_the_column(tmp_path):
    X = _with(np.inf, row=7, col=1)
    np.save(tmp_path / "X.npy", X)
    X = np.load(tmp_path / "X.npy", mmap_mode="r")
    with pytest.raises(ValueError, match=r"infinity \(first in row 7, column 1\)"):
        DECClusterer(3, **TINY).fit(X)


def test_dataframe_with_other_column_names_is_refused(monkeypatch):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(_data(), columns=["a", "b", "c", "d"])
    est = DECClusterer(3, **TINY, random_state=0).fit(df)
    monkeypatch.setattr(skdec._base, "map_batches_numpy", _raise_started)
    with pytest.raises(ValueError, match="feature names should match"):
        est.predict(df.rename(columns={"a": "z"}))
