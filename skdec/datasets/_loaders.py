"""Data sets for benchmarks, examples and the command line.

This module holds small, dependency-free (NumPy and scikit-learn only) helpers
to obtain the data sets used to evaluate Deep Embedded Clustering:

- :func:`load_mnist` reads MNIST from files already on disk (the four IDX
  files of the original distribution, or a Keras-style ``.npz`` archive).
  Nothing is ever downloaded.
- :func:`load_fashion_mnist` reads Fashion-MNIST, in the same formats, by
  default from the folder where the Debian package ``dataset-fashion-mnist``
  installs it.
- :func:`read_idx` parses a single IDX file, optionally gzip-compressed.
- :func:`make_nonlinear_blobs` generates Gaussian clusters that are trivially
  separable in a low-dimensional latent space but are seen through a fixed
  random non-linear map, so that k-means on the observed features is clearly
  below perfect.
- :func:`make_topic_corpus` generates a sparse TF-IDF matrix of documents
  drawn from a few topics, DEC's text setting (REUTERS) at any size.
- :func:`subsample_imbalanced` reproduces the class-imbalance experiment of the
  DEC paper (Xie et al., 2016).
- :func:`load_digits_scaled` returns scikit-learn's bundled digits scaled to
  ``[0, 1]``.
"""

import gzip
import numbers
import os
import zlib
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits, make_blobs
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils.validation import check_consistent_length, column_or_1d

__all__ = [
    "load_digits_scaled",
    "load_fashion_mnist",
    "load_mnist",
    "make_nonlinear_blobs",
    "make_topic_corpus",
    "read_idx",
    "subsample_imbalanced",
]

# IDX type codes (third byte of the magic number) -> big-endian NumPy dtype.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_IDX_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
_IDX_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
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
# IDX files


def _read_bytes(path):
    """Bytes of ``path``, decompressed when they start with the gzip magic."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: '{path}'.")
    data = path.read_bytes()
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(
                f"'{path}' starts with the gzip magic bytes but could not be "
                f"decompressed (corrupted or truncated file): {exc}"
            ) from exc
    return data


def _parse_idx(data, path):
    """``(magic, array)`` from the raw bytes of an IDX file."""
    if len(data) < 4:
        raise ValueError(
            f"'{path}' is not an IDX file: it holds {len(data)} bytes, fewer "
            "than the 4 bytes of the magic number."
        )
    magic = int.from_bytes(data[:4], "big")
    type_code, ndim = data[2], data[3]
    if data[:2] != b"\x00\x00" or type_code not in _IDX_DTYPES or ndim == 0:
        raise ValueError(
            f"'{path}' is not an IDX file: invalid magic number 0x{magic:08X} "
            "(expected 0x0000TTNN with a known type code TT and NN >= 1 "
            "dimensions, e.g. 0x00000803 for images, 0x00000801 for labels)."
        )
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise ValueError(
            f"'{path}' is truncated: the header announces {ndim} dimensions "
            f"({header_len} header bytes) but the file holds {len(data)} bytes."
        )
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[type_code]
    expected = header_len + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        problem = "truncated" if len(data) < expected else "corrupted"
        raise ValueError(
            f"'{path}' is {problem}: its header announces shape {shape} of "
            f"{dtype.name} ({expected} bytes in all) but it holds {len(data)} "
            "bytes."
        )
    array = np.frombuffer(data, dtype, offset=header_len).reshape(shape)
    # A writable copy in native byte order.
    return magic, array.astype(dtype.newbyteorder("="))


def read_idx(path):
    """Read an IDX file, the format of the original MNIST distribution.

    The file may be gzip-compressed: compression is detected from its first
    two bytes (``1f 8b``), whatever its name.

    Parameters
    ----------
    path : str or path-like
        The IDX file. Its magic number (``0x0000TTNN``) gives the element type
        ``TT`` and the number of dimensions ``NN``; the ``NN`` big-endian
        32-bit sizes follow, then the data.

    Returns
    -------
    array : ndarray
        The data, of the shape and type given by the header, in native byte
        order.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not an existing file.
    ValueError
        If the file is not a valid IDX file: wrong magic number, truncated or
        corrupted data, or a byte length that does not match the header.

    Examples
    --------
    >>> import os, struct, tempfile
    >>> import numpy as np
    >>> from skdec.datasets import read_idx
    >>> labels = np.array([5, 0, 4], dtype=np.uint8)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "labels-idx1-ubyte")
    ...     with open(path, "wb") as f:
    ...         _ = f.write(struct.pack(">II", 0x00000801, 3) + labels.tobytes())
    ...     read_idx(path)
    array([5, 0, 4], dtype=uint8)
    """
    return _parse_idx(_read_bytes(path), path)[1]


def _read_idx_expecting(path, magic):
    """Read an IDX file whose magic number must be ``magic``."""
    found, array = _parse_idx(_read_bytes(path), path)
    if found != magic:
        kind = "images" if magic == _IDX_IMAGES_MAGIC else "labels"
        raise ValueError(
            f"'{path}' has magic number 0x{found:08X}, expected 0x{magic:08X} "
            f"for MNIST {kind}."
        )
    return array


def _find_idx_file(directory, name, *, dataset="MNIST", hint=""):
    """Path of the IDX file ``name`` in ``directory``, under its usual variants.

    ``hint`` ends the error message when no variant is found.
    """
    stems = [name, name.replace("-idx", ".idx")]
    candidates = [stem + suffix for stem in stems for suffix in ("", ".gz")]
    for candidate in candidates:
        path = directory / candidate
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"{dataset} file '{name}' not found in '{directory}' (looked for "
        f"{', '.join(repr(c) for c in candidates)}).{hint}"
    )


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
# Generated data

# First-layer width is latent_dim + 1: a narrow first layer makes the local
# gain of the map very different between clusters (some sit on the steep part
# of a tanh unit, others on its flat part), which is what defeats k-means.
_MAP_GAIN = 8.0  # first-layer gain, relative to the half-width of center_box
_MAP_LEAK = 0.02  # tanh(u) + leak * u is strictly increasing: nothing collapses
_MAP_HIDDEN = 64  # width of the second (softplus) layer


def _check_int(value, name, minimum):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    return int(value)


def make_topic_corpus(
    n_samples=2000,
    *,
    n_features=20000,
    n_topics=6,
    words_per_topic=200,
    topic_share=0.3,
    doc_length=(50, 200),
    random_state=None,
):
    """Generate a TF-IDF matrix of documents drawn from a few topics.

    The vocabulary follows a Zipf-like background distribution; each topic
    favours its own ``words_per_topic`` words. A document of the topic picks
    each of its ``doc_length`` words from the topic's words with probability
    ``topic_share`` and from the background otherwise. The word counts are
    turned into TF-IDF with unit-norm rows (``TfidfTransformer``), the usual
    input of text clustering. The matrix is built sparse, so large corpora
    (100,000 x 20,000) fit in memory.

    Parameters
    ----------
    n_samples : int, default=2000
        Number of documents.

    n_features : int, default=20000
        Size of the vocabulary.

    n_topics : int, default=6
        Number of topics, the true clusters; documents are split evenly.

    words_per_topic : int, default=200
        Number of words each topic favours (drawn without overlap).

    topic_share : float, default=0.3
        Probability that a word of a document comes from its topic's words.

    doc_length : tuple of int, default=(50, 200)
        Smallest and largest number of words of a document (uniform).

    random_state : int, RandomState instance or None, default=None
        Seeds the vocabulary, the topics and the documents.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features)
        TF-IDF of each document, rows of unit norm, float64.

    y : ndarray of shape (n_samples,)
        Topic of each document.

    Examples
    --------
    >>> from skdec.datasets import make_topic_corpus
    >>> X, y = make_topic_corpus(100, n_features=500, n_topics=3,
    ...                          words_per_topic=20, random_state=0)
    >>> X.shape, X.format, sorted(set(y.tolist()))
    ((100, 500), 'csr', [0, 1, 2])
    """
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfTransformer

    n_samples = _check_int(n_samples, "n_samples", 1)
    n_features = _check_int(n_features, "n_features", 1)
    n_topics = _check_int(n_topics, "n_topics", 1)
    words_per_topic = _check_int(words_per_topic, "words_per_topic", 1)
    if n_topics * words_per_topic > n_features:
        raise ValueError(
            f"n_topics * words_per_topic = {n_topics * words_per_topic} exceeds "
            f"n_features={n_features}."
        )
    if not 0 <= topic_share <= 1:
        raise ValueError(f"topic_share must be in [0, 1], got {topic_share}.")
    low, high = doc_length
    low, high = _check_int(low, "doc_length[0]", 1), _check_int(high, "doc_length", 1)
    if high < low:
        raise ValueError(f"doc_length={doc_length!r} must be (low, high), low <= high.")
    rng = check_random_state(random_state)

    background = 1.0 / np.arange(1, n_features + 1) ** 1.1
    background = rng.permutation(background / background.sum())
    topic_words = rng.permutation(n_features)[: n_topics * words_per_topic]
    topic_words = topic_words.reshape(n_topics, words_per_topic)

    y = np.arange(n_samples) % n_topics
    rng.shuffle(y)
    lengths = rng.randint(low, high + 1, size=n_samples)
    docs = np.repeat(np.arange(n_samples), lengths)
    from_topic = rng.random_sample(len(docs)) < topic_share
    words = rng.choice(n_features, size=len(docs), p=background)
    picks = rng.randint(words_per_topic, size=int(from_topic.sum()))
    words[from_topic] = topic_words[y[docs[from_topic]], picks]

    counts = sp.csr_matrix(
        (np.ones(len(docs)), (docs, words)), shape=(n_samples, n_features)
    )
    counts.sum_duplicates()
    return TfidfTransformer().fit_transform(counts).tocsr(), y


def make_nonlinear_blobs(
    n_samples=2000,
    *,
    n_clusters=6,
    n_features=50,
    latent_dim=5,
    cluster_std=1.0,
    center_box=(-10.0, 10.0),
    random_state=None,
    return_latent=False,
):
    """Generate Gaussian clusters seen through a random non-linear map.

    Isotropic Gaussian clusters are drawn in a ``latent_dim``-dimensional
    latent space with :func:`sklearn.datasets.make_blobs`; with the defaults
    they are far apart (centers drawn in ``center_box``, ``cluster_std=1``), so
    k-means on the latent points recovers them (almost) perfectly. The latent
    points are then pushed through a fixed random non-linear map to
    ``n_features`` dimensions and each feature is standardised.

    The map is a small random network: a dense layer of ``latent_dim + 1``
    units with the strictly increasing activation ``tanh(u) + 0.02 u`` (and a
    gain of 8 relative to the half-width of ``center_box``), a dense layer of
    64 softplus units, and a final linear layer. Its weights are drawn from a
    random state derived from ``random_state``. Because the map stretches
    some clusters and squeezes others, k-means on ``X`` is clearly below
    perfect while the clusters stay separable: with the defaults, over
    ``random_state`` 0 to 19, ``KMeans(n_clusters=6, n_init=20)`` reaches an
    adjusted Rand index of 0.67 on average (from 0.37 to 0.90, 0.88 for
    ``random_state=0``) on ``X``, against at least 0.996 (1.0 for 18 of the
    20) on the latent points, while a 5-nearest-neighbour classifier on ``X``
    is still 99.6% accurate on average (5-fold cross-validation). This makes
    it a quick test bed for methods such as DEC that learn a non-linear
    embedding before clustering.

    Parameters
    ----------
    n_samples : int, default=2000
        Number of samples, split as equally as possible between clusters.

    n_clusters : int, default=6
        Number of clusters.

    n_features : int, default=50
        Number of observed features.

    latent_dim : int, default=5
        Dimension of the latent space in which the clusters are Gaussian.

    cluster_std : float, default=1.0
        Standard deviation of each cluster in the latent space.

    center_box : tuple of float (min, max), default=(-10.0, 10.0)
        Bounding box of the cluster centers in the latent space. The map is
        scaled to this box.

    random_state : int, RandomState instance or None, default=None
        Seed for the clusters and the map. Pass an int for reproducible
        output.

    return_latent : bool, default=False
        If True, also return the latent points.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The observed features, float32, each with zero mean and unit variance.

    y : ndarray of shape (n_samples,)
        The cluster of each sample, int64 in ``[0, n_clusters)``.

    Z : ndarray of shape (n_samples, latent_dim)
        The latent points, float32. Only returned if ``return_latent=True``.

    Examples
    --------
    >>> from sklearn.cluster import KMeans
    >>> from sklearn.metrics import adjusted_rand_score
    >>> from skdec.datasets import make_nonlinear_blobs
    >>> X, y, Z = make_nonlinear_blobs(random_state=0, return_latent=True)
    >>> X.shape, X.dtype, y.shape, y.dtype
    ((2000, 50), dtype('float32'), (2000,), dtype('int64'))
    >>> km = KMeans(n_clusters=6, n_init=20, random_state=0)
    >>> bool(adjusted_rand_score(y, km.fit_predict(Z)) > 0.99)
    True
    >>> bool(adjusted_rand_score(y, km.fit_predict(X)) < 0.95)
    True
    """
    n_samples = _check_int(n_samples, "n_samples", 1)
    n_clusters = _check_int(n_clusters, "n_clusters", 1)
    n_features = _check_int(n_features, "n_features", 1)
    latent_dim = _check_int(latent_dim, "latent_dim", 1)
    if (
        not isinstance(cluster_std, numbers.Real)
        or not np.isfinite(cluster_std)
        or cluster_std <= 0
    ):
        raise ValueError(f"cluster_std must be a positive number, got {cluster_std!r}.")
    try:
        low, high = (float(v) for v in center_box)
    except (TypeError, ValueError):
        raise ValueError(
            f"center_box must be a pair of numbers (min, max), got {center_box!r}."
        ) from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(
            f"center_box must be a finite pair (min, max) with min < max, got "
            f"{center_box!r}."
        )

    rng = check_random_state(random_state)
    blob_seed, map_seed = rng.randint(np.iinfo(np.int32).max, size=2)
    Z, y = make_blobs(
        n_samples=n_samples,
        n_features=latent_dim,
        centers=n_clusters,
        cluster_std=cluster_std,
        center_box=(low, high),
        random_state=blob_seed,
    )

    map_rng = np.random.RandomState(map_seed)
    width = latent_dim + 1
    W1 = map_rng.normal(0.0, 1.0 / np.sqrt(latent_dim), size=(latent_dim, width))
    b1 = map_rng.uniform(-1.0, 1.0, size=width)
    W2 = map_rng.normal(0.0, 2.0 / np.sqrt(width), size=(width, _MAP_HIDDEN))
    b2 = map_rng.normal(0.0, 1.0, size=_MAP_HIDDEN)
    W3 = map_rng.normal(0.0, 1.0 / np.sqrt(_MAP_HIDDEN), size=(_MAP_HIDDEN, n_features))

    center, half_width = (low + high) / 2.0, (high - low) / 2.0
    U = _MAP_GAIN * (((Z - center) / half_width) @ W1 + b1)
    H = np.tanh(U) + _MAP_LEAK * U
    H = np.logaddexp(0.0, H @ W2 + b2)  # softplus
    X = H @ W3
    std = X.std(axis=0)
    X = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)

    X = X.astype(np.float32)
    y = y.astype(np.int64)
    if return_latent:
        return X, y, Z.astype(np.float32)
    return X, y


# ---------------------------------------------------------------------------
# Imbalance and digits


def subsample_imbalanced(X, y, *, r_min, random_state=None):
    """Subsample a data set to make its classes imbalanced, as in DEC.

    This is the imbalance experiment of Xie et al. (2016): with the classes
    sorted, class ``c`` is given a retention rate ``r_c`` linearly spaced from
    ``r_min`` (first class) to 1 (last class), and each sample of class ``c``
    is kept independently with probability ``r_c``. The smallest class thus
    ends up with about ``r_min`` times the samples of the largest one. A data
    set with a single class is returned whole.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
        The samples.

    y : array-like of shape (n_samples,)
        The class labels.

    r_min : float
        Retention rate of the first class, in ``(0, 1]``. ``r_min=1`` keeps
        every sample.

    random_state : int, RandomState instance or None, default=None
        Seed for the random draws. Pass an int for reproducible output.

    Returns
    -------
    X_sub : array-like or sparse matrix of shape (n_kept, n_features)
        The kept samples, in their original order and of the type of ``X``.

    y_sub : ndarray of shape (n_kept,)
        Their labels.

    Examples
    --------
    >>> import numpy as np
    >>> from skdec.datasets import subsample_imbalanced
    >>> y = np.repeat([0, 1, 2], 1000)
    >>> X = np.arange(3000).reshape(-1, 1)
    >>> X_sub, y_sub = subsample_imbalanced(X, y, r_min=0.2, random_state=0)
    >>> counts = np.bincount(y_sub)
    >>> int(counts[2])  # the last class is kept whole
    1000
    >>> bool(150 < counts[0] < 250 and 550 < counts[1] < 650)
    True
    """
    if (
        not isinstance(r_min, numbers.Real)
        or isinstance(r_min, bool)
        or not np.isfinite(r_min)
        or not 0 < r_min <= 1
    ):
        raise ValueError(f"r_min must be a number in (0, 1], got {r_min!r}.")
    y = column_or_1d(y)
    check_consistent_length(X, y)
    classes, class_index = np.unique(y, return_inverse=True)
    if len(classes) == 1:
        rates = np.ones(1)
    else:
        rates = np.linspace(float(r_min), 1.0, len(classes))
    rng = check_random_state(random_state)
    # uniform draws lie in [0, 1): a rate of 1 keeps every sample
    keep = rng.uniform(size=y.shape[0]) < rates[class_index]
    indices = np.flatnonzero(keep)
    return _safe_indexing(X, indices), y[indices]


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
