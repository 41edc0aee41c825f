"""Generated and subsampled data sets.

- :func:`make_nonlinear_blobs`: Gaussian clusters seen through a random
  non-linear map, separable but hard for k-means on the observed features.
- :func:`make_topic_corpus`: a sparse TF-IDF matrix of documents drawn from
  a few topics, DEC's text setting at any size.
- :func:`subsample_imbalanced`: the class-imbalance experiment of the DEC
  paper.
"""

import numbers

import numpy as np
from sklearn.datasets import make_blobs
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils.validation import check_consistent_length, column_or_1d

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
    perfect (see the example below) while the clusters stay separable: k-means
    on the latent points and a nearest-neighbour classifier on ``X`` are
    close to perfect. This makes it a quick test bed for methods such as DEC
    that learn a non-linear embedding before clustering.

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
# Imbalance


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
