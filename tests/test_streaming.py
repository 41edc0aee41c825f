"""Data read in batches: memory maps, h5py-like datasets and sparse matrices.

Streamed inputs must give the same model as the same data in memory, and no
step may read more than a bounded number of rows at once.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.exceptions import ConvergenceWarning

from skdec import DECClusterer
from skdec._batching import INFERENCE_BATCH_SIZE
from skdec._data import CHUNK_ROWS, RowSource, is_streamed

from .conftest import TINY, tiny_estimators

ESTIMATORS = tiny_estimators(n_clusters=3)
IDS = [type(est).__name__ for est in ESTIMATORS]


class RowDataset:
    """An h5py-like dataset: rows by slice or by increasing index array only.

    Records the largest number of rows read at once, so a test can tell
    that the estimator never read the whole of it.
    """

    def __init__(self, array):
        self._array = array
        self.shape, self.dtype = array.shape, array.dtype
        self.largest_read = 0

    def __getitem__(self, key):
        if not isinstance(key, slice):
            key = np.asarray(key)
            # h5py's rule: fancy indices must be increasing.
            assert np.all(np.diff(key) > 0), "indices must be increasing"
        rows = self._array[key]
        self.largest_read = max(self.largest_read, len(rows))
        return rows


@pytest.fixture(scope="module")
def X(blobs_streamed):
    return blobs_streamed


@pytest.fixture(scope="module")
def blobs_streamed():
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(
        n_samples=300, centers=3, n_features=6, cluster_std=0.5, random_state=0
    )
    X = (X - X.min(0)) / (X.max(0) - X.min(0))
    return X.astype(np.float32)


@pytest.fixture
def memmap(X, tmp_path):
    path = tmp_path / "X.npy"
    np.save(path, X)
    return np.load(path, mmap_mode="r")


def _fit(est, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X)


def test_what_is_streamed(X, memmap):
    assert is_streamed(memmap)
    assert is_streamed(sp.csr_matrix(X))
    assert is_streamed(RowDataset(X))
    assert not is_streamed(X)
    assert not is_streamed(X.tolist())
    # Tensors are converted as usual (np.asarray), not read as a dataset.
    assert not is_streamed(torch.from_numpy(X))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_memmap_gives_the_in_memory_model(estimator, X, memmap):
    from sklearn.base import clone

    in_memory = _fit(clone(estimator), X)
    streamed = _fit(clone(estimator), memmap)
    np.testing.assert_array_equal(streamed.labels_, in_memory.labels_)
    np.testing.assert_allclose(
        streamed.transform(memmap), in_memory.transform(X), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_array_equal(streamed.predict(memmap), in_memory.predict(X))
    assert streamed.score(memmap) == pytest.approx(in_memory.score(X))


def test_h5py_like_dataset_is_read_in_batches(X):
    data = RowDataset(X)
    dec = _fit(DECClusterer(3, **TINY, random_state=0), data)
    in_memory = _fit(DECClusterer(3, **TINY, random_state=0), X)
    np.testing.assert_array_equal(dec.labels_, in_memory.labels_)
    np.testing.assert_array_equal(dec.predict(data), in_memory.labels_)
    assert data.largest_read <= max(CHUNK_ROWS, INFERENCE_BATCH_SIZE)
    assert data.largest_read < len(X) or len(X) <= INFERENCE_BATCH_SIZE


def test_large_source_is_never_read_whole():
    rng = np.random.default_rng(0)
    X = rng.random((3 * CHUNK_ROWS, 4), dtype=np.float32)
    data = RowDataset(X)
    dec = DECClusterer(2, **{**TINY, "max_iter": 2, "pretrain_epochs": 1})
    _fit(dec.set_params(batch_size=512, random_state=0), data)
    dec.predict_proba(data)
    assert data.largest_read <= CHUNK_ROWS


def test_row_source_returns_rows_in_the_order_asked(X):
    import torch

    source = RowSource(RowDataset(X), scale=2.0)
    idx = torch.tensor([5, 1, 5, 0])
    np.testing.assert_array_equal(source[idx].numpy(), 2 * X[[5, 1, 5, 0]])
    np.testing.assert_array_equal(source[2:4].numpy(), 2 * X[2:4])


def test_integer_memmap_is_accepted_and_outputs_float64(X, tmp_path):
    path = tmp_path / "counts.npy"
    np.save(path, (X * 10).astype(np.int16))
    counts = np.load(path, mmap_mode="r")
    dec = _fit(DECClusterer(3, **TINY, random_state=0), counts)
    assert dec.transform(counts).dtype == np.float64
    assert dec.predict_proba(counts).dtype == np.float64


def test_nan_in_a_memmap_names_its_row(X, tmp_path):
    bad = X.copy()
    bad[217, 3] = np.nan
    path = tmp_path / "bad.npy"
    np.save(path, bad)
    dec = DECClusterer(3, **TINY)
    with pytest.raises(ValueError, match="NaN .*row 217"):
        dec.fit(np.load(path, mmap_mode="r"))
    assert not hasattr(dec, "n_features_in_")


def test_other_width_is_refused_for_streamed_input(X, memmap):
    dec = _fit(DECClusterer(3, **TINY, random_state=0), memmap)
    with pytest.raises(ValueError, match="4 features"):
        dec.predict(RowDataset(X[:, :4]))


def test_non_numeric_streamed_input_is_refused():
    data = RowDataset(np.array([["a", "b"]] * 10))
    with pytest.raises(TypeError, match="must hold numbers"):
        DECClusterer(2, **TINY).fit(data)


# ---------------------------------------------------------------------------
# Sparse input


def _tiny_entries(n_samples, n_features, seed, fmt="csr"):
    """Sparse data whose entries are tiny on average, as TF-IDF text's are."""
    X = sp.random(n_samples, n_features, density=0.1, format=fmt, random_state=seed)
    return X * 0.05


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_sparse_input_is_densified_per_batch_and_scaled(X, fmt):
    X_sparse = _tiny_entries(600, 40, 0, fmt)
    dec = _fit(DECClusterer(3, **TINY, random_state=0), X_sparse)
    dense = X_sparse.toarray()
    # Scaled inside the estimator to unit mean square, in fit and inference.
    assert dec._input_scale_ == pytest.approx(1 / np.sqrt(np.mean(dense**2)))
    np.testing.assert_array_equal(dec.predict(dense), dec.labels_)
    np.testing.assert_array_equal(dec.predict(X_sparse), dec.labels_)


@pytest.mark.parametrize("tiny", [True, False], ids=["tiny-entries", "unit-scale"])
def test_a_dense_array_and_its_sparse_copy_give_the_same_model(tiny):
    # The data decides rescaling and the optimiser, not its container.
    X_sparse = _tiny_entries(300, 30, 1)
    if not tiny:
        X_sparse = X_sparse * 20
    params = {**TINY, "pretrain_optimizer": "auto"}
    sparse_fit = _fit(DECClusterer(3, **params, random_state=0), X_sparse)
    dense_fit = _fit(DECClusterer(3, **params, random_state=0), X_sparse.toarray())
    assert sparse_fit._input_scale_ == dense_fit._input_scale_
    assert (sparse_fit._input_scale_ != 1.0) is tiny
    np.testing.assert_array_equal(sparse_fit.labels_, dense_fit.labels_)
    np.testing.assert_allclose(
        sparse_fit.transform(X_sparse), dense_fit.transform(X_sparse), atol=1e-5
    )


def test_sparse_with_nan_is_refused():
    X_sparse = sp.random(50, 10, density=0.3, format="csr", random_state=0)
    X_sparse.data[7] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        DECClusterer(2, **TINY).fit(X_sparse)


def test_auto_optimizer_is_adam_for_tiny_entries_and_sgd_otherwise():
    params = {**TINY, "pretrain_optimizer": "auto"}

    def labels(X, optimizer):
        est = DECClusterer(3, **params, random_state=0)
        if optimizer:
            est.set_params(pretrain_optimizer=optimizer)
        return _fit(est, X).labels_

    tiny = _tiny_entries(200, 30, 2)
    for X in (tiny, tiny.toarray()):
        np.testing.assert_array_equal(labels(X, None), labels(X, "adam"))
    unit = tiny.toarray() * 20
    for X in (unit, sp.csr_matrix(unit)):
        np.testing.assert_array_equal(labels(X, None), labels(X, "sgd"))
    assert not np.array_equal(labels(unit, "adam"), labels(unit, "sgd"))
