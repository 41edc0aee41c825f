"""The silhouette that skdec scores clusterings with, capped in cost.

One home for the subsample cap, so that ``score``, ``silhouette_scorer`` and
``select_n_clusters`` agree on what "the silhouette" of a clustering is.
"""

import numpy as np
from sklearn.metrics import silhouette_score

# Silhouette is quadratic in the number of rows; a seeded subsample of this
# size keeps a score to about a second on data sets like MNIST.
MAX_SILHOUETTE_SAMPLES = 5000


def silhouette_rows(n_samples, rng):
    """Sorted rows of the subsample (all rows when there are few)."""
    if n_samples <= MAX_SILHOUETTE_SAMPLES:
        return np.arange(n_samples)
    return np.sort(rng.choice(n_samples, MAX_SILHOUETTE_SAMPLES, replace=False))


def capped_silhouette(embedding, labels, *, rng=None):
    """Mean silhouette of ``labels`` in ``embedding``, on a seeded subsample.

    ``rng`` (a ``RandomState``) draws the subsample; None uses a fixed seed,
    so the same data always gets the same score. Returns -1.0, the worst
    value, when the silhouette is undefined (fewer than 2 distinct labels,
    or as many labels as rows), so that a search ranks a collapsed model
    last instead of failing.
    """
    rng = np.random.RandomState(0) if rng is None else rng
    rows = silhouette_rows(len(labels), rng)
    embedding, labels = np.asarray(embedding)[rows], np.asarray(labels)[rows]
    if not 2 <= np.unique(labels).size <= len(labels) - 1:
        return -1.0
    return float(silhouette_score(embedding, labels))
