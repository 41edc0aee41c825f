"""Metrics for evaluating clusterings against ground-truth labels.

Cluster labels are arbitrary identifiers: a clustering that puts every sample in
the right group but calls class ``"cat"`` cluster ``3`` is perfect. The
metrics here are therefore invariant to how the predicted clusters are named.

* :func:`cluster_accuracy` is the unsupervised clustering accuracy used in the
  Deep Embedded Clustering literature: the accuracy obtained under the best
  one-to-one matching between predicted clusters and true classes, found with the
  Hungarian algorithm.
* :func:`matched_labels` returns the predicted labels renamed by that matching,
  e.g. to draw a confusion matrix.
* :func:`normalized_mutual_info_score` and :func:`adjusted_rand_score` are
  re-exported from :mod:`sklearn.metrics` so that the usual trio is available
  from one place.
* :data:`accuracy_scorer`, :data:`nmi_scorer` and :data:`ari_scorer` wrap the
  three metrics for ``scoring=`` in :class:`~sklearn.model_selection.GridSearchCV`
  and :func:`~sklearn.model_selection.cross_validate`.
* :func:`silhouette_scorer` needs no labels: it scores the silhouette of the
  predicted clusters in the estimator's embedding, so that ``n_clusters`` can
  be chosen by :class:`~sklearn.model_selection.GridSearchCV` without ``y``.
"""

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import (
    adjusted_rand_score,
    make_scorer,
    normalized_mutual_info_score,
)
from sklearn.metrics.cluster import contingency_matrix
from sklearn.utils import check_consistent_length

from ._silhouette import capped_silhouette

__all__ = [
    "accuracy_scorer",
    "adjusted_rand_score",
    "ari_scorer",
    "cluster_accuracy",
    "matched_labels",
    "nmi_scorer",
    "normalized_mutual_info_score",
    "silhouette_scorer",
]


def _check_label_pair(labels_true, labels_pred):
    """Validate two label vectors and return them as 1-D numpy arrays."""
    labels_true = np.asarray(labels_true)
    labels_pred = np.asarray(labels_pred)
    # Checked explicitly rather than with ``column_or_1d``, which silently
    # accepts (n, 1) columns; labels of any other shape are almost always a
    # caller mistake (e.g. passing the embedding instead of the labels).
    for name, labels in (("labels_true", labels_true), ("labels_pred", labels_pred)):
        if labels.ndim != 1:
            raise ValueError(
                f"{name} must be 1-D, got an array of shape {labels.shape}."
            )
    check_consistent_length(labels_true, labels_pred)
    if labels_true.shape[0] == 0:
        raise ValueError("labels_true and labels_pred must not be empty.")
    return labels_true, labels_pred


def _hungarian_match(labels_true, labels_pred):
    """Best one-to-one matching between clusters and classes.

    Returns the sorted classes, the sorted clusters, the cluster index of each
    sample, the contingency matrix (classes x clusters) and the matched
    ``(class_index, cluster_index)`` pairs.
    """
    classes = np.unique(labels_true)
    clusters, cluster_index = np.unique(labels_pred, return_inverse=True)
    # Rows follow ``classes`` and columns follow ``clusters`` (both sorted, as
    # ``contingency_matrix`` uses ``np.unique`` internally).
    contingency = contingency_matrix(labels_true, labels_pred)
    # A rectangular matrix is fine: the smaller side is matched completely and
    # the surplus clusters (or classes) are left unmatched.
    rows, cols = linear_sum_assignment(contingency, maximize=True)
    return classes, clusters, cluster_index.ravel(), contingency, rows, cols


def cluster_accuracy(labels_true, labels_pred):
    """Clustering accuracy under the best matching of clusters to classes.

    Each predicted cluster is assigned to at most one true class and each class
    to at most one cluster, choosing the assignment (Hungarian algorithm) that
    maximises the number of correctly labelled samples. The score is the
    fraction of samples whose cluster is matched to their class:

    .. math::

        \\mathrm{ACC} = \\max_{m} \\frac{1}{n} \\sum_{i=1}^{n}
        \\mathbb{1}\\{y_i = m(c_i)\\}

    where :math:`m` ranges over one-to-one maps from clusters to classes. The
    numbers of clusters and classes may differ; samples of surplus clusters (or
    classes) count as errors.

    Parameters
    ----------
    labels_true : array-like of shape (n_samples,)
        Ground-truth class labels. Any hashable, sortable values (integers,
        strings, ...) are accepted.
    labels_pred : array-like of shape (n_samples,)
        Predicted cluster labels. Their values need not relate to
        ``labels_true`` in any way.

    Returns
    -------
    accuracy : float
        Score in ``[0, 1]``; 1.0 means the clustering equals the true
        partition up to renaming of the clusters.

    Raises
    ------
    ValueError
        If an input is not 1-D, if the inputs have different lengths or if they
        are empty.

    See Also
    --------
    matched_labels : The predicted labels renamed by the same matching.
    normalized_mutual_info_score : Information-theoretic agreement score.
    adjusted_rand_score : Pair-counting agreement score, corrected for chance.

    Notes
    -----
    The score is symmetric in its two arguments and does not depend on the
    label values, only on the partitions they induce. It never falls below
    ``1 / max(n_classes, n_clusters)``.

    Examples
    --------
    >>> from skdec.metrics import cluster_accuracy
    >>> cluster_accuracy([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    >>> cluster_accuracy(["a", "a", "b", "b"], [5, 5, 5, 7])
    0.75

    Splitting a class into two clusters costs the samples of the smaller part:

    >>> cluster_accuracy([0, 0, 0, 0, 1, 1], [0, 0, 0, 2, 1, 1])
    0.8333333333333334
    """
    labels_true, labels_pred = _check_label_pair(labels_true, labels_pred)
    _, _, _, contingency, rows, cols = _hungarian_match(labels_true, labels_pred)
    return float(contingency[rows, cols].sum() / labels_true.shape[0])


def matched_labels(labels_true, labels_pred, *, fill_value=None):
    """Rename predicted clusters to the classes they are matched with.

    Uses the same Hungarian matching as :func:`cluster_accuracy`, so that
    ``np.mean(matched_labels(y, c) == y) == cluster_accuracy(y, c)``. The
    result can be passed with ``labels_true`` to
    :func:`sklearn.metrics.confusion_matrix` or
    :class:`sklearn.metrics.ConfusionMatrixDisplay`.

    Parameters
    ----------
    labels_true : array-like of shape (n_samples,)
        Ground-truth class labels.
    labels_pred : array-like of shape (n_samples,)
        Predicted cluster labels.
    fill_value : scalar, default=None
        Label given to the samples of clusters left unmatched, which happens
        when there are more clusters than classes. It must not be one of the
        ``labels_true`` values. If None and ``labels_true`` is numeric (bool,
        integer or float), ``min(-1, min(labels_true) - 1)`` is used: ``-1``
        unless there are negative classes. If None and ``labels_true`` is not
        numeric (e.g. strings), a ValueError is raised when some cluster is
        unmatched, since no default is safe; pass e.g. ``fill_value="none"``.

    Returns
    -------
    labels_matched : ndarray of shape (n_samples,)
        ``labels_pred`` with every matched cluster replaced by its class and
        every unmatched cluster replaced by the fill value. Its dtype can hold
        both the classes and the fill value.

    Raises
    ------
    ValueError
        If the inputs are invalid (see :func:`cluster_accuracy`), if
        ``fill_value`` is one of the classes, or if a fill value is needed but
        cannot be chosen automatically.

    See Also
    --------
    cluster_accuracy : Accuracy of ``matched_labels`` against ``labels_true``.

    Examples
    --------
    >>> from skdec.metrics import matched_labels
    >>> matched_labels([0, 0, 1, 1, 2], [2, 2, 0, 0, 1])
    array([0, 0, 1, 1, 2])

    Cluster 9 is left over, so it gets the fill value:

    >>> matched_labels([0, 0, 1, 1, 1], [3, 3, 4, 4, 9])
    array([ 0,  0,  1,  1, -1])
    >>> matched_labels(["x", "x", "y"], [1, 2, 3], fill_value="?")
    array(['x', '?', 'y'], dtype='<U1')
    """
    labels_true, labels_pred = _check_label_pair(labels_true, labels_pred)
    classes, clusters, cluster_index, _, rows, cols = _hungarian_match(
        labels_true, labels_pred
    )
    has_unmatched = cols.size < clusters.size

    if fill_value is None and labels_true.dtype.kind in "biuf":
        # -1 is the conventional "no class" label; step below the smallest
        # class when classes are negative so that the fill value stays distinct.
        fill_value = min(-1, classes.min().item() - 1)
        fill_dtype = np.min_scalar_type(fill_value)
    elif fill_value is None:
        if has_unmatched:
            raise ValueError(
                f"labels_pred has {clusters.size} clusters but labels_true only "
                f"{classes.size} classes, so some clusters are unmatched; pass "
                "fill_value to choose their label."
            )
        fill_dtype = None
    else:
        if np.any(classes == fill_value):
            raise ValueError(
                f"fill_value={fill_value!r} is one of the labels_true values; "
                "choose a value that is not a class."
            )
        fill_dtype = np.asarray(fill_value).dtype

    dtype = labels_true.dtype
    if fill_dtype is not None:
        if (dtype.kind in "US") != (fill_dtype.kind in "US"):
            # numpy would promote to a string dtype and turn e.g. -1 into "-1";
            # an object array keeps both the classes and the fill value intact.
            dtype = np.dtype(object)
        else:
            try:
                dtype = np.promote_types(dtype, fill_dtype)
            except TypeError:  # no common dtype, e.g. datetimes and integers
                dtype = np.dtype(object)

    mapping = np.empty(clusters.size, dtype=dtype)
    if fill_dtype is not None:
        mapping[:] = fill_value
    mapping[cols] = classes[rows]
    return mapping[cluster_index]


accuracy_scorer = make_scorer(cluster_accuracy)
"""Scorer for :func:`cluster_accuracy` comparing ``y`` with ``predict(X)``.

Use as ``GridSearchCV(..., scoring=accuracy_scorer)`` or inside a ``scoring``
dict. Higher is better.
"""

nmi_scorer = make_scorer(normalized_mutual_info_score)
"""Scorer for :func:`normalized_mutual_info_score` on ``y`` and ``predict(X)``.

Higher is better.
"""

ari_scorer = make_scorer(adjusted_rand_score)
"""Scorer for :func:`adjusted_rand_score` on ``y`` and ``predict(X)``.

Higher is better.
"""


def silhouette_scorer(estimator, X, y=None):
    """Silhouette of the predicted clusters in the estimator's embedding.

    A scorer that needs no labels: the mean silhouette coefficient of
    ``estimator.predict(X)`` computed on ``estimator.transform(X)`` (for a
    :class:`~sklearn.pipeline.Pipeline`, the pipeline's transform, i.e. the
    embedding of its last step). Pass it as ``scoring=`` to
    :class:`~sklearn.model_selection.GridSearchCV` to choose ``n_clusters``
    with ``fit(X)`` alone. Higher is better.

    Parameters
    ----------
    estimator : estimator object
        A fitted clusterer with ``transform`` and ``predict``, such as
        :class:`~skdec.DECClusterer`.
    X : array-like of shape (n_samples, n_features)
        Data to score.
    y : Ignored
        Not used; present so the function has the scorer signature.

    Returns
    -------
    score : float
        Mean silhouette coefficient in ``[-1, 1]``, computed on a subsample of
        at most 5000 rows drawn with a fixed seed (so the same data always
        gets the same score). When the predictions hold fewer than 2 distinct
        clusters, or as many clusters as rows, the silhouette is undefined
        and -1.0, the worst value, is returned so that a search ranks such a
        model last instead of failing.

    See Also
    --------
    sklearn.metrics.silhouette_score : The coefficient itself.

    Notes
    -----
    The silhouette is computed in the embedding, not on ``X``: DEC forms its
    clusters there. Each candidate model has its own embedding, so the scores
    compare how well each model separates its own clusters.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skdec import DECClusterer
    >>> from skdec.metrics import silhouette_scorer
    >>> X, _ = make_blobs(n_samples=150, centers=3, n_features=4,
    ...                   cluster_std=0.5, random_state=0)
    >>> dec = DECClusterer(module__hidden_dims=(16,), module__latent_dim=2,
    ...                    pretrain_epochs=10, max_iter=30, n_init=2,
    ...                    random_state=0)
    >>> search = GridSearchCV(dec, {"n_clusters": [2, 3, 4]},
    ...                       scoring=silhouette_scorer, cv=2).fit(X)
    >>> search.best_params_
    {'n_clusters': 3}
    """
    embedding = np.asarray(estimator.transform(X))
    labels = np.asarray(estimator.predict(X))
    return capped_silhouette(embedding, labels)
