"""Every data set the benchmarks use, each loaded here and nowhere else.

:func:`load` maps a name to ``{data set name: (X, y)}``. Data sets are drawn
with ``DATA_SEED``, so every method and seed of a run sees the same data.
Nothing is ever downloaded.
"""

import math
from pathlib import Path

import numpy as np
from sklearn.utils import resample

from skdec import datasets as _skdec_data

DATA_SEED = 0
# Rows are square images (flattened row-major); synthetic784 is 784 plain
# features although 784 is 28 squared.
IMAGE_DATASETS = {"digits", "fashion"}
TEXT_SAMPLES = 2000  # documents of the "text" data set (TF-IDF, sparse)
CELLS = 10_000  # cells of the "cells" data set (generated counts, preprocessed)
FASHION_SAMPLE = 5000  # the first rows of Fashion-MNIST's training split
# scanpy ships this real data set inside its package (no download).
PBMC_FILE = "datasets/10x_pbmc68k_reduced.h5ad"


def _standardised(name):
    """scikit-learn's tabular data set ``name``, each feature to mean 0, std 1."""
    import sklearn.datasets
    from sklearn.preprocessing import StandardScaler

    X, y = getattr(sklearn.datasets, f"load_{name}")(return_X_y=True)
    return StandardScaler().fit_transform(X).astype(np.float32), y


def load(name, *, seed=DATA_SEED, fashion=None, pbmc=None):
    """``{data set name: (X, y)}`` for one name: digits, wine, breast_cancer,
    synthetic, synthetic784, text, cells, pbmc68k, fashion5k or fashion (its
    test split). Fashion-MNIST is read from ``fashion`` or the Debian
    package's folder; FileNotFoundError says how to install it.

    >>> load("synthetic")["synthetic"][0].shape
    (2000, 50)
    """
    if name == "digits":
        return {name: _skdec_data.load_digits_scaled()}
    if name in ("wine", "breast_cancer"):
        return {name: _standardised(name)}
    if name == "synthetic":
        return {name: _skdec_data.make_nonlinear_blobs(random_state=seed)}
    if name == "synthetic784":
        return {name: mnist_sized(5000, seed=seed)}
    if name == "text":
        X, y = _skdec_data.make_topic_corpus(TEXT_SAMPLES, random_state=seed)
        return {name: (X.tocsr().astype(np.float32), y)}
    if name == "cells":
        counts, types = _skdec_data.make_single_cell_counts(
            CELLS, n_types=8, random_state=seed
        )
        return {name: (_skdec_data.preprocess_counts(counts), types)}
    if name == "pbmc68k":
        return {name: load_pbmc68k(pbmc)}
    if name == "fashion5k":
        X, y = _skdec_data.load_fashion_mnist(fashion, subset="train")
        X, y = X[:FASHION_SAMPLE], y[:FASHION_SAMPLE]
        return {f"fashion_train{FASHION_SAMPLE // 1000}k": (X.reshape(len(X), -1), y)}
    if name == "fashion":
        X, y = _skdec_data.load_fashion_mnist(fashion, subset="test")
        return {"fashion_test": (X.reshape(len(X), -1), y)}
    raise ValueError(f"unknown data set {name!r}")


def pbmc_path(pbmc=None):
    """``pbmc``, else the copy of ``pbmc68k_reduced`` inside scanpy, else None."""
    if pbmc is not None:
        return Path(pbmc)
    import importlib.util

    spec = importlib.util.find_spec("scanpy")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / PBMC_FILE
    return path if path.is_file() else None


def load_pbmc68k(pbmc=None):
    """scanpy's ``pbmc68k_reduced`` (700 real blood cells x 765 genes, already
    scaled) and its 10 ``bulk_labels``, read with anndata (no scanpy import)."""
    import warnings

    import anndata

    path = pbmc_path(pbmc)
    if path is None:
        raise FileNotFoundError(
            "pbmc68k_reduced needs scanpy (pip install scanpy), which ships it, "
            "or --pbmc PATH to its .h5ad file; nothing is downloaded."
        )
    with warnings.catch_warnings():
        # The file's neighbour graph is in an older place; we do not read it.
        warnings.simplefilter("ignore", FutureWarning)
        adata = anndata.read_h5ad(path)
    X = np.asarray(adata.X, dtype=np.float32)
    return X, np.asarray(adata.obs["bulk_labels"].cat.codes)


def mnist_sized(n_samples=70_000, *, seed=DATA_SEED):
    """Generated clusters of MNIST's width and number of classes
    (``make_nonlinear_blobs``, 10 clusters, 784 features)."""
    return _skdec_data.make_nonlinear_blobs(
        n_samples, n_clusters=10, n_features=784, random_state=seed
    )


def image_shape(name, n_features):
    """``(side, side)`` when rows of data set ``name`` (a key :func:`load`
    gives) are square images, else None.

    >>> image_shape("fashion_test", 784), image_shape("synthetic784", 784)
    ((28, 28), None)
    """
    side = math.isqrt(n_features)
    images = name.partition("_")[0] in IMAGE_DATASETS
    return (side, side) if images and side * side == n_features else None


def subsample(X, y, n_samples):
    """A stratified subsample of ``n_samples`` rows (for smoke runs)."""
    n = min(n_samples, X.shape[0])
    return resample(X, y, n_samples=n, replace=False, stratify=y, random_state=0)


def write_blobs(folder, n_samples, *, n_features=64, n_centers=10, seed=0):
    """Blobs as ``X.npy`` (float32) and ``y.npy`` (int8) in ``folder``, written
    100,000 rows at a time: centres of standard deviation 10 per feature and
    points of unit standard deviation around them (well separated)."""
    folder = Path(folder)
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=10.0, size=(n_centers, n_features))
    X = np.lib.format.open_memmap(
        folder / "X.npy", mode="w+", dtype=np.float32, shape=(n_samples, n_features)
    )
    y = np.empty(n_samples, dtype=np.int8)
    for start in range(0, n_samples, 100_000):
        stop = min(start + 100_000, n_samples)
        labels = rng.integers(n_centers, size=stop - start)
        noise = rng.standard_normal((stop - start, n_features), dtype=np.float32)
        X[start:stop] = noise + centers[labels].astype(np.float32)
        y[start:stop] = labels
    X.flush()
    del X
    np.save(folder / "y.npy", y)
    return folder / "X.npy", folder / "y.npy"


def write_corpus(folder, n_samples, *, n_features=20000, n_topics=6, seed=0):
    """A TF-IDF corpus as ``X.npz`` (CSR) and its topics as ``y.npy``."""
    import scipy.sparse as sp

    folder = Path(folder)
    X, y = _skdec_data.make_topic_corpus(
        n_samples, n_features=n_features, n_topics=n_topics, random_state=seed
    )
    sp.save_npz(folder / "X.npz", X.tocsr(), compressed=False)
    np.save(folder / "y.npy", np.asarray(y, dtype=np.int8))
    return folder / "X.npz", folder / "y.npy"
