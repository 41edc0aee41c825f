"""Loaders of real data sets: MNIST, Fashion-MNIST and scikit-learn's digits.

Nothing is downloaded: MNIST and Fashion-MNIST are read from files already on
disk, as IDX files (read by ``skdec.datasets._idx``) or a ``.npz`` archive.
"""

import os
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

from ._idx import (
    _IDX_IMAGES_MAGIC,
    _IDX_LABELS_MAGIC,
    _find_idx_file,
    _read_idx_expecting,
)

_ZIP_MAGIC = b"PK\x03\x04"
_MNIST_SHAPE = (28, 28)
_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_SUBSETS = ("train", "test", "all")
# Where the Debian package ``dataset-fashion-mnist`` installs the four
# gzipped IDX files, under the same names as MNIST's.
_FASHION_MNIST_PACKAGE = "dataset-fashion-mnist"
_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


# ---------------------------------------------------------------------------
# The IDX files of a split


def _load_idx_split(directory, split, **find_kwargs):
    """``(images, labels)`` of one split; ``find_kwargs`` go to _find_idx_file."""
    images_name, labels_name = _MNIST_FILES[split]
    images_path = _find_idx_file(directory, images_name, **find_kwargs)
    labels_path = _find_idx_file(directory, labels_name, **find_kwargs)
    images = _read_idx_expecting(images_path, _IDX_IMAGES_MAGIC)
    labels = _read_idx_expecting(labels_path, _IDX_LABELS_MAGIC)
    if images.shape[1:] != _MNIST_SHAPE:
        raise ValueError(
            f"'{images_path}' holds images of shape {images.shape[1:]}, "
            f"expected {_MNIST_SHAPE}."
        )
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"'{images_path}' holds {images.shape[0]} images but "
            f"'{labels_path}' holds {labels.shape[0]} labels."
        )
    return images, labels


# ---------------------------------------------------------------------------
# .npz archives


def _load_npz(path, subset):
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except Exception as exc:  # zipfile.BadZipFile, OSError, EOFError, ValueError
        raise ValueError(f"'{path}' is not a readable .npz archive: {exc}") from exc

    if {"x_train", "y_train", "x_test", "y_test"} <= arrays.keys():
        splits = ("train", "test") if subset == "all" else (subset,)
        pairs = [(arrays[f"x_{split}"], arrays[f"y_{split}"]) for split in splits]
    elif {"X", "y"} <= arrays.keys():
        if subset != "all":
            raise ValueError(
                f"'{path}' holds a single 'X', 'y' pair with no train/test "
                f"split; subset={subset!r} needs the arrays 'x_train', "
                "'y_train', 'x_test', 'y_test'. Use subset='all'."
            )
        pairs = [(arrays["X"], arrays["y"])]
    else:
        raise ValueError(
            f"'{path}' holds the arrays {sorted(arrays)}; expected 'x_train', "
            "'y_train', 'x_test', 'y_test' (Keras layout) or 'X', 'y'."
        )

    checked = []
    for images, labels in pairs:
        images = np.asarray(images)
        labels = np.asarray(labels)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.ndim != 1:
            raise ValueError(
                f"'{path}': labels must be 1-dimensional, got shape {labels.shape}."
            )
        if images.ndim < 2 or int(np.prod(images.shape[1:])) != np.prod(_MNIST_SHAPE):
            raise ValueError(
                f"'{path}': images must have shape (n, 28, 28) or (n, 784), got "
                f"{images.shape}."
            )
        if images.shape[0] != labels.shape[0]:
            raise ValueError(
                f"'{path}' holds {images.shape[0]} images but {labels.shape[0]} labels."
            )
        checked.append((images, labels))
    return checked


# ---------------------------------------------------------------------------
# MNIST and Fashion-MNIST


def _scale_images(X, source):
    """``X`` as float32 in ``[0, 1]``; see :func:`load_mnist` for the rules."""
    if X.size == 0:
        return X.astype(np.float32)
    if X.dtype.kind in "biu":
        low, high = X.min(), X.max()
        if low < 0 or high > 255:
            raise ValueError(
                f"'{source}': integer pixels must lie in [0, 255] to be scaled, "
                f"got values in [{low}, {high}]."
            )
        return X.astype(np.float32) / np.float32(255)
    if X.dtype.kind == "f":
        X = X.astype(np.float32)
        low, high = float(np.min(X)), float(np.max(X))
        if not (np.isfinite(low) and np.isfinite(high)) or low < 0 or high > 255:
            raise ValueError(
                f"'{source}': pixels must be finite and lie in [0, 255] (or "
                f"[0, 1]) to be scaled, got values in [{low}, {high}]."
            )
        return X / np.float32(255) if high > 1 else X
    raise ValueError(f"'{source}': pixels must be numeric, got dtype {X.dtype}.")


def _labels_int64(y, source):
    if y.dtype.kind in "biu":
        return y.astype(np.int64)
    if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        return y.astype(np.int64)
    raise ValueError(
        f"'{source}': labels must be integers, got dtype {y.dtype} with "
        "non-integer values."
    )


def _load_mnist_like(path, *, subset, scale, dataset, hint=""):
    """Guts of load_mnist and load_fashion_mnist; ``hint`` ends a not-found error."""
    if subset not in _SUBSETS:
        raise ValueError(f"subset must be one of {_SUBSETS}, got {subset!r}.")
    if not isinstance(scale, bool | np.bool_):
        raise ValueError(f"scale must be a bool, got {scale!r}.")
    path = Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(
            f"{dataset} path '{path}' does not exist; give a directory holding "
            f"the four IDX files or a .npz archive (nothing is downloaded).{hint}"
        )
    if path.is_dir():
        splits = ("train", "test") if subset == "all" else (subset,)
        pairs = [
            _load_idx_split(path, split, dataset=dataset, hint=hint) for split in splits
        ]
    else:
        with path.open("rb") as f:
            head = f.read(4)
        if path.suffix.lower() != ".npz" and head != _ZIP_MAGIC:
            raise ValueError(
                f"'{path}' is neither a directory holding the {dataset} IDX "
                "files nor a .npz archive."
            )
        pairs = _load_npz(path, subset)

    X = np.concatenate([images.reshape(images.shape[0], -1) for images, _ in pairs])
    y = np.concatenate([labels for _, labels in pairs])
    if scale:
        X = _scale_images(X, path)
    return X, _labels_int64(y, path)


def load_mnist(path, *, subset="all", scale=True):
    """Load MNIST from local files.

    Nothing is downloaded: the data must already be on disk, either as the
    four IDX files of the original distribution or as a ``.npz`` archive.

    Parameters
    ----------
    path : str or path-like
        Either

        - a directory holding the four IDX files ``train-images-idx3-ubyte``,
          ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
          ``t10k-labels-idx1-ubyte``; each may carry a ``.gz`` suffix and may
          use ``.`` instead of ``-`` before ``idx`` (e.g.
          ``train-images.idx3-ubyte``). Gzip compression is detected from the
          content, not the name. Only the files of the requested ``subset``
          are needed; or
        - a ``.npz`` archive with the arrays ``x_train``, ``y_train``,
          ``x_test``, ``y_test`` (the layout of Keras' ``mnist.npz``), or with
          the arrays ``X`` and ``y`` (then only ``subset="all"`` is possible).

    subset : {"train", "test", "all"}, default="all"
        Which split to return. ``"all"`` returns the training samples followed
        by the test samples (70,000 for the full MNIST).

    scale : bool, default=True
        If True, return the pixels as float32 in ``[0, 1]``: integer pixels are
        divided by 255, floating-point pixels are divided by 255 when their
        maximum exceeds 1 and are kept as they are otherwise. If False, return
        the pixels as stored (``uint8`` for IDX files), only reshaped.

    Returns
    -------
    X : ndarray of shape (n_samples, 784)
        The images, one flattened 28x28 image per row; float32 when
        ``scale=True``.

    y : ndarray of shape (n_samples,)
        The digit labels, as int64.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist or a needed IDX file is missing.
    ValueError
        If ``subset`` is invalid, or a file is corrupted, truncated, has the
        wrong magic number or arrays, or images and labels do not match.

    Examples
    --------
    A tiny stand-in for ``mnist.npz``, written to a temporary directory:

    >>> import os, tempfile
    >>> import numpy as np
    >>> from skdec.datasets import load_mnist
    >>> rng = np.random.RandomState(0)
    >>> arrays = {
    ...     "x_train": rng.randint(0, 256, size=(3, 28, 28), dtype=np.uint8),
    ...     "y_train": np.array([5, 0, 4], dtype=np.uint8),
    ...     "x_test": rng.randint(0, 256, size=(2, 28, 28), dtype=np.uint8),
    ...     "y_test": np.array([7, 2], dtype=np.uint8),
    ... }
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "mnist.npz")
    ...     np.savez(path, **arrays)
    ...     X, y = load_mnist(path)
    ...     X_test, y_test = load_mnist(path, subset="test", scale=False)
    >>> X.shape, X.dtype, y.tolist()
    ((5, 784), dtype('float32'), [5, 0, 4, 7, 2])
    >>> bool(X.min() >= 0 and X.max() <= 1)
    True
    >>> X_test.dtype, y_test.dtype
    (dtype('uint8'), dtype('int64'))
    """
    return _load_mnist_like(path, subset=subset, scale=scale, dataset="MNIST")


def load_fashion_mnist(path=None, *, subset="all", scale=True):
    """Load Fashion-MNIST from local files.

    Fashion-MNIST (Xiao et al., 2017) has MNIST's layout: 70,000 grey 28x28
    images (60,000 for training, then 10,000 for testing) in 10 classes, here
    of clothing. It is read like :func:`load_mnist`, from the same four IDX
    file names, and nothing is downloaded. By default it is read from
    ``/usr/share/datasets/fashion-mnist``, where the Debian package
    ``dataset-fashion-mnist`` installs the four gzipped IDX files
    (``apt-get install dataset-fashion-mnist``).

    Parameters
    ----------
    path : str or path-like, default=None
        A directory holding ``train-images-idx3-ubyte``,
        ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
        ``t10k-labels-idx1-ubyte`` (each possibly ``.gz``), or a ``.npz``
        archive, with the same variants as in :func:`load_mnist`. None reads
        ``/usr/share/datasets/fashion-mnist``.

    subset : {"train", "test", "all"}, default="all"
        Which split to return: ``"train"`` (60,000 images), ``"test"``
        (10,000) or ``"all"`` (the training images followed by the test
        images, 70,000). Only the files of the requested split are needed.

    scale : bool, default=True
        If True, return the pixels as float32 in ``[0, 1]`` (divided by 255).
        If False, return them as stored (``uint8`` for IDX files), only
        reshaped.

    Returns
    -------
    X : ndarray of shape (n_samples, 784)
        The images, one flattened 28x28 image per row; float32 when
        ``scale=True``.

    y : ndarray of shape (n_samples,)
        The class labels, as int64 in ``[0, 10)``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist or a needed IDX file is missing; the
        message names the Debian package ``dataset-fashion-mnist``.
    ValueError
        If ``subset`` is invalid, or a file is corrupted, truncated, has the
        wrong magic number or arrays, or images and labels do not match.

    See Also
    --------
    load_mnist : The same loader for MNIST, which has no default path.

    Notes
    -----
    The labels are 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat,
    5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag and 9 Ankle boot; each class has
    6,000 training and 1,000 test images.

    References
    ----------
    .. [1] H. Xiao, K. Rasul and R. Vollgraf, "Fashion-MNIST: a Novel Image
       Dataset for Benchmarking Machine Learning Algorithms", arXiv:1708.07747,
       2017.

    Examples
    --------
    With the package installed, the 10,000 test images:

    >>> from skdec.datasets import load_fashion_mnist
    >>> X, y = load_fashion_mnist(subset="test")  # doctest: +SKIP
    >>> X.shape, X.dtype, y.shape  # doctest: +SKIP
    ((10000, 784), dtype('float32'), (10000,))

    A tiny stand-in for the test split, written to a temporary directory:

    >>> import os, struct, tempfile
    >>> import numpy as np
    >>> images = np.zeros((2, 28, 28), dtype=np.uint8)
    >>> images[1] = 255
    >>> labels = np.array([9, 0], dtype=np.uint8)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with open(os.path.join(tmp, "t10k-images-idx3-ubyte"), "wb") as f:
    ...         header = struct.pack(">IIII", 0x00000803, 2, 28, 28)
    ...         _ = f.write(header + images.tobytes())
    ...     with open(os.path.join(tmp, "t10k-labels-idx1-ubyte"), "wb") as f:
    ...         _ = f.write(struct.pack(">II", 0x00000801, 2) + labels.tobytes())
    ...     X, y = load_fashion_mnist(tmp, subset="test")
    >>> X.shape, X.dtype, X.max(axis=1).tolist(), y.tolist()
    ((2, 784), dtype('float32'), [0.0, 1.0], [9, 0])
    """
    hint = (
        f" Fashion-MNIST is installed in '{_FASHION_MNIST_DIR}' by the Debian "
        f"package {_FASHION_MNIST_PACKAGE} (apt-get install "
        f"{_FASHION_MNIST_PACKAGE}); or pass the folder of its IDX files as path."
    )
    return _load_mnist_like(
        _FASHION_MNIST_DIR if path is None else path,
        subset=subset,
        scale=scale,
        dataset="Fashion-MNIST",
        hint=hint,
    )


# ---------------------------------------------------------------------------
# Digits


def load_digits_scaled():
    """Load scikit-learn's digits scaled to ``[0, 1]``.

    The 1,797 8x8 images of :func:`sklearn.datasets.load_digits` (bundled with
    scikit-learn, nothing is downloaded) have pixel values from 0 to 16; they
    are divided by 16, the usual scaling for DEC-style autoencoders.

    Returns
    -------
    X : ndarray of shape (1797, 64)
        The images, float32 in ``[0, 1]``.

    y : ndarray of shape (1797,)
        The digit labels, int64.

    Examples
    --------
    >>> from skdec.datasets import load_digits_scaled
    >>> X, y = load_digits_scaled()
    >>> X.shape, X.dtype, y.dtype
    ((1797, 64), dtype('float32'), dtype('int64'))
    >>> float(X.min()), float(X.max())
    (0.0, 1.0)
    """
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y.astype(np.int64)
