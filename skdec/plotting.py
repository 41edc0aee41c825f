"""Plots for fitted DEC models and their clusterings.

Matplotlib is an optional dependency (``pip install "skdec[plot]"``); it is
imported when a plotting function is called, not when this module is.

* :func:`plot_embedding` draws the learned embedding in two dimensions.
* :func:`plot_history` draws the losses and label changes of training.
* :func:`plot_cluster_examples` shows the most confident images of each
  cluster, as in the figures of the DEC paper.
* :func:`plot_confusion` draws classes against clusters after the Hungarian
  matching used by :func:`skdec.metrics.cluster_accuracy`.
* :func:`plot_n_clusters` draws the score of every candidate number of
  clusters of a search over ``n_clusters``, with the chosen one and the
  rule that chose it.
"""

import numpy as np
from sklearn.metrics.cluster import contingency_matrix
from sklearn.utils.validation import check_is_fitted

from ._plot_utils import label_colours, new_axes, project_2d, pyplot
from .metrics import _check_label_pair, cluster_accuracy, matched_labels

__all__ = [
    "plot_cluster_examples",
    "plot_confusion",
    "plot_embedding",
    "plot_history",
    "plot_n_clusters",
]

# Matrices up to this size get their counts written in the cells.
_MAX_ANNOTATED_CELLS = 400

# ---------------------------------------------------------------------------
# Embedding


def plot_embedding(
    estimator,
    X,
    labels=None,
    *,
    method="pca",
    ax=None,
    random_state=None,
    show_centers=True,
    legend=True,
):
    """Scatter the learned embedding of ``X`` in two dimensions.

    Points are embedded with ``estimator.transform`` and, when the embedding
    has more than two dimensions, projected to two with principal component
    analysis or t-SNE. Each point is coloured by its label.

    Parameters
    ----------
    estimator : DECClusterer
        A fitted estimator with ``transform`` and ``cluster_centers_``.

    X : array-like of shape (n_samples, n_features)
        Data to embed.

    labels : array-like of shape (n_samples,), default=None
        Labels that colour the points, for example true classes. None colours
        them by ``estimator.predict(X)``.

    method : {"pca", "tsne"}, default="pca"
        Projection used when the embedding has more than two dimensions.
        "pca" also projects the centroids; "tsne"
        (:class:`sklearn.manifold.TSNE`) often separates clusters more
        clearly but is slow on large data, distorts distances and cannot
        place the centroids.

    ax : matplotlib.axes.Axes, default=None
        Axes to draw on. None creates a new figure.

    random_state : int, RandomState instance or None, default=None
        Seeds the projection (t-SNE, and the randomized solver of PCA).

    show_centers : bool, default=True
        Mark the cluster centres with black crosses (not with ``"tsne"``).

    legend : bool, default=True
        Add a legend of the labels.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from skdec import DECClusterer
    >>> from skdec.plotting import plot_embedding
    >>> X, y = make_blobs(n_samples=150, centers=3, n_features=6, random_state=0)
    >>> dec = DECClusterer(n_clusters=3, module__hidden_dims=(16,),
    ...                    module__latent_dim=4, pretrain_epochs=5, max_iter=20,
    ...                    update_interval=5, random_state=0).fit(X)
    >>> ax = plot_embedding(dec, X, labels=y)
    >>> len(ax.collections[0].get_offsets())
    150
    """
    if method not in ("pca", "tsne"):
        raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}.")
    check_is_fitted(estimator)
    embedding = estimator.transform(X)
    labels = estimator.predict(X) if labels is None else np.asarray(labels)
    if labels.shape != (len(embedding),):
        raise ValueError(
            f"labels must have shape ({len(embedding)},) to match X, "
            f"got {labels.shape}."
        )
    points, centers = project_2d(
        embedding, estimator.cluster_centers_, method, random_state
    )

    ax = new_axes(ax)
    values, codes, cmap = label_colours(labels)
    scatter = ax.scatter(
        points[:, 0],
        points[:, 1],
        c=codes,
        cmap=cmap,
        vmin=-0.5,
        vmax=(10 if cmap == "tab10" else 20) - 0.5,
        s=8,
        alpha=0.7,
        linewidths=0,
    )
    if show_centers and centers is not None:
        ax.scatter(
            centers[:, 0], centers[:, 1], marker="x", c="black", s=60, label="centre"
        )
    if legend:
        handles = scatter.legend_elements(num=list(range(len(values))))[0]
        ax.legend(
            handles,
            [str(v) for v in values],
            loc="center left",
            bbox_to_anchor=(1.0, 0.5),
            fontsize="small",
            frameon=False,
        )
    projected = embedding.shape[1] > 2
    axis_name = {"pca": "PC", "tsne": "t-SNE "}[method] if projected else "z"
    ax.set_xlabel(f"{axis_name}1")
    ax.set_ylabel(f"{axis_name}2" if embedding.shape[1] > 1 else "")
    return ax


# ---------------------------------------------------------------------------
# Training history


# What the loss of each kind of epoch-based stage is, for the y-axis label.
_EPOCH_LOSSES = {
    "pretrain": "reconstruction MSE",
    "overcluster": "IIC loss -I(P) (nats)",
    "main": "IIC loss -I(P) (nats)",
}


def _epoch_stages(history):
    """Epoch-based stage records (pretraining, IIC's passes) grouped by stage."""
    stages = {}
    for record in history:
        if "epoch" in record and record["stage"] != "head_selection":
            stages.setdefault(record["stage"], []).append(record)
    return stages


def _epoch_loss_label(stages):
    kinds = {
        _EPOCH_LOSSES[s.split("_")[0]]
        for s in stages
        if s.split("_")[0] in _EPOCH_LOSSES
    }
    return kinds.pop() if len(kinds) == 1 else "loss"


def _plot_epoch_stages(ax, stages):
    # IIC alternates its two passes within an epoch: they share the x-axis.
    # Pretraining stages run one after the other: they follow each other.
    sequential = all(stage.startswith("pretrain") for stage in stages)
    offset = 0
    for stage, records in stages.items():
        epochs = offset + np.array([r["epoch"] for r in records]) + 1
        ax.plot(epochs, [r["loss"] for r in records], label=stage)
        if sequential:
            offset = epochs[-1]
    if stages and all(r["loss"] > 0 for rs in stages.values() for r in rs):
        ax.set_yscale("log")
    if stages:
        ax.legend(fontsize="small")
    else:
        ax.text(0.5, 0.5, "no pretraining", ha="center", transform=ax.transAxes)
    title = "Pretraining" if sequential else "Training"
    ax.set(title=title, xlabel="epoch", ylabel=_epoch_loss_label(stages))


def _plot_clustering(ax_loss, ax_delta, clustering, tol):
    iterations = [r["iteration"] for r in clustering]
    ax_loss.plot(iterations, [r["loss"] for r in clustering], marker=".")
    idec = any("reconstruction" in r for r in clustering)
    ylabel = "MSE + gamma KL(P || Q)" if idec else "KL(P || Q)"
    ax_loss.set(title="Clustering", xlabel="iteration", ylabel=ylabel)
    # P is recomputed from a sharper Q at each refresh, so the objective is
    # measured against a moving target: it can rise while clusters improve.
    ax_loss.annotate(
        "P sharpens at each refresh:\nthe loss may rise as clusters improve",
        (0.02, 0.98),
        xycoords="axes fraction",
        va="top",
        fontsize="x-small",
        color="grey",
    )

    changed = [r for r in clustering if r["delta_label"] is not None]
    ax_delta.plot(
        [r["iteration"] for r in changed],
        [r["delta_label"] for r in changed],
        marker=".",
        label="changed labels",
    )
    if tol:
        ax_delta.axhline(tol, color="grey", linestyle="--", label=f"tol = {tol:g}")
    if any(r["delta_label"] > 0 for r in changed):
        ax_delta.set_yscale("log")
    ax_delta.legend(fontsize="small")
    ax_delta.set(
        title="Label changes", xlabel="iteration", ylabel="fraction of labels changed"
    )


def plot_history(estimator, *, axes=None):
    """Plot the training history of any skdec estimator.

    The panels come from ``estimator.history_``:

    - "Pretraining" (DEC, IDEC): the mean reconstruction loss of each
      pretraining stage per epoch, one line per stage, one after the other;
      "Training" (IIC): the loss ``-I(P)`` of each kind of head per epoch.
    - "Clustering" (DEC, IDEC): the clustering stage's objective at each
      refresh of the target distribution, ``KL(P || Q)`` for DEC and
      ``MSE + gamma KL(P || Q)`` for IDEC. ``P`` is recomputed from a
      sharper ``Q`` at each refresh, so this curve can rise while the
      clustering improves; a note on the panel says so.
    - "Label changes" (DEC, IDEC): the fraction of labels that changed since
      the previous refresh, with the stopping threshold ``tol``.

    Parameters
    ----------
    estimator : DECClusterer, IDECClusterer or IICClusterer
        A fitted estimator with ``history_``.

    axes : sequence of matplotlib.axes.Axes, default=None
        Axes for the panels: three for an estimator with a clustering stage,
        one otherwise. None creates a new figure with one row of panels.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure holding the panels.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from skdec import DECClusterer
    >>> from skdec.plotting import plot_history
    >>> X, _ = make_blobs(n_samples=150, centers=3, n_features=6, random_state=0)
    >>> dec = DECClusterer(n_clusters=3, module__hidden_dims=(16,),
    ...                    module__latent_dim=2, pretrain_epochs=5, max_iter=20,
    ...                    update_interval=5, random_state=0).fit(X)
    >>> fig = plot_history(dec)
    >>> [ax.get_title() for ax in fig.axes]
    ['Pretraining', 'Clustering', 'Label changes']
    """
    check_is_fitted(estimator)
    history = estimator.history_
    clustering = [r for r in history if r["stage"] == "clustering"]
    n_panels = 3 if clustering else 1
    if axes is None:
        fig, axes = pyplot().subplots(
            1,
            n_panels,
            figsize=(4 * n_panels, 3.5),
            layout="constrained",
            squeeze=False,
        )
        axes = axes[0]
    elif len(axes) != n_panels:
        word = "three Axes" if n_panels == 3 else "one Axes"
        raise ValueError(f"axes must hold {word} for this history, got {len(axes)}.")
    _plot_epoch_stages(axes[0], _epoch_stages(history))
    if clustering:
        _plot_clustering(axes[1], axes[2], clustering, getattr(estimator, "tol", None))
    return axes[0].figure


# ---------------------------------------------------------------------------
# Cluster examples


def plot_cluster_examples(
    estimator, X, image_shape, *, n_examples=10, cmap="gray_r", fig=None
):
    """Show the most confidently assigned images of each cluster.

    One row per cluster: the ``n_examples`` samples predicted in that cluster
    with the highest soft assignment ``q_ij``, most confident first, as in
    the figures of the DEC paper. Rows of clusters with fewer samples are
    left partly empty.

    Parameters
    ----------
    estimator : DECClusterer
        A fitted estimator with ``predict_proba``.

    X : array-like of shape (n_samples, n_features)
        Images, one flattened image per row.

    image_shape : tuple of int
        Shape of one image, ``(height, width)`` or ``(height, width, 3)``; its
        product must equal ``n_features``.

    n_examples : int, default=10
        Images per cluster.

    cmap : str, default="gray_r"
        Colormap for single-channel images.

    fig : matplotlib.figure.Figure, default=None
        Figure to draw in (its existing axes are kept). None creates one.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure, with ``n_clusters * n_examples`` axes.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdec import DECClusterer
    >>> from skdec.plotting import plot_cluster_examples
    >>> X = load_digits().data[:300] / 16
    >>> dec = DECClusterer(n_clusters=3, module__hidden_dims=(16,),
    ...                    module__latent_dim=2, pretrain_optimizer="adam",
    ...                    pretrain_epochs=10, max_iter=20, update_interval=5,
    ...                    random_state=0).fit(X)
    >>> fig = plot_cluster_examples(dec, X, (8, 8), n_examples=5)
    >>> len(fig.axes)
    15
    """
    check_is_fitted(estimator)
    image_shape = tuple(int(s) for s in image_shape)
    if n_examples < 1:
        raise ValueError(f"n_examples must be at least 1, got {n_examples}.")
    proba = estimator.predict_proba(X)
    X = np.asarray(X)
    if int(np.prod(image_shape)) != X.shape[1]:
        raise ValueError(
            f"image_shape={image_shape} holds {int(np.prod(image_shape))} pixels "
            f"but X has {X.shape[1]} features."
        )
    labels = proba.argmax(axis=1)
    n_clusters = proba.shape[1]

    if fig is None:
        fig = pyplot().figure(figsize=(0.8 * n_examples + 0.8, 0.8 * n_clusters))
    axes = fig.subplots(n_clusters, n_examples, squeeze=False)
    for cluster, row in enumerate(axes):
        members = np.flatnonzero(labels == cluster)
        best = members[np.argsort(-proba[members, cluster], kind="stable")]
        for ax, index in zip(row, best[:n_examples], strict=False):
            ax.imshow(X[index].reshape(image_shape), cmap=cmap)
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.spines[:].set_visible(False)
        row[0].set_ylabel(f"{cluster}", rotation=0, ha="right", va="center")
    fig.supylabel("cluster")
    return fig


# ---------------------------------------------------------------------------
# Confusion


def plot_confusion(labels_true, labels_pred, *, ax=None, cmap="Blues"):
    """Draw classes against clusters after the best one-to-one matching.

    Rows are the true classes and columns the predicted clusters. Clusters
    are reordered so that each stands under the class it is matched with by
    the Hungarian algorithm (as in :func:`skdec.metrics.cluster_accuracy`):
    the diagonal holds the correctly clustered samples and the title gives
    the clustering accuracy. Unmatched clusters come last.

    Parameters
    ----------
    labels_true : array-like of shape (n_samples,)
        Ground-truth class labels.

    labels_pred : array-like of shape (n_samples,)
        Predicted cluster labels.

    ax : matplotlib.axes.Axes, default=None
        Axes to draw on. None creates a new figure.

    cmap : str, default="Blues"
        Colormap of the counts.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn on; ``ax.images[0].get_array()`` is the reordered
        contingency matrix.

    Examples
    --------
    >>> from skdec.plotting import plot_confusion
    >>> ax = plot_confusion([0, 0, 1, 1, 2, 2], [5, 5, 3, 3, 3, 4])
    >>> ax.images[0].get_array().tolist()
    [[2, 0, 0], [0, 2, 0], [0, 1, 1]]
    >>> ax.get_title()
    'Accuracy after matching: 0.833'
    """
    labels_true, labels_pred = _check_label_pair(labels_true, labels_pred)
    classes, class_index = np.unique(labels_true, return_inverse=True)
    clusters, first = np.unique(labels_pred, return_index=True)
    # Matched labels are given as class indices so that a fill value can
    # never collide with a class; -1 marks the unmatched clusters.
    matched = matched_labels(class_index.ravel(), labels_pred, fill_value=-1)[first]
    order = np.lexsort((clusters, np.where(matched < 0, len(classes), matched)))
    counts = contingency_matrix(labels_true, labels_pred)[:, order]

    ax = new_axes(ax)
    ax.imshow(counts, cmap=cmap, aspect="auto")
    if counts.size <= _MAX_ANNOTATED_CELLS:
        threshold = counts.max() / 2
        for (row, col), count in np.ndenumerate(counts):
            ax.text(
                col,
                row,
                str(count),
                ha="center",
                va="center",
                fontsize="small",
                color="white" if count > threshold else "black",
            )
    ax.set_xticks(range(len(clusters)), [str(c) for c in clusters[order]])
    ax.set_yticks(range(len(classes)), [str(c) for c in classes])
    ax.set_xlabel("predicted cluster (ordered by matched class)")
    ax.set_ylabel("true class")
    accuracy = cluster_accuracy(labels_true, labels_pred)
    ax.set_title(f"Accuracy after matching: {accuracy:.3f}")
    return ax


# ---------------------------------------------------------------------------
# Number of clusters


def plot_n_clusters(estimator, *, ax=None):
    """Plot the score of every candidate number of clusters of a search.

    Draws ``n_clusters_scores_`` (the mean over the restarts of the search)
    against ``n_clusters_candidates_``, shades the range over the restarts
    (``n_clusters_restart_scores_``) and marks the chosen ``n_clusters_``.
    The y-label says what was scored (for ``n_clusters_search="clustering"``
    the silhouette after each candidate's clustering stage, otherwise the
    criterion of a k-means fit on the pretrained embedding: for "density",
    the silhouette). The title names the rule that decided
    (``n_clusters_rule_``), and the legend its votes; where HDBSCAN's count
    decided, the legend also gives the candidate the scores alone favour.

    Parameters
    ----------
    estimator : DECClusterer or IDECClusterer
        An estimator fitted with a search over ``n_clusters`` ("auto" or
        candidates).

    ax : matplotlib.axes.Axes, default=None
        Axes to draw on. None creates a new figure.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn on: ``ax.lines[0]`` holds the scores,
        ``ax.lines[1]`` the chosen candidate.

    Raises
    ------
    ValueError
        If the estimator was fitted with an integer ``n_clusters``, which
        involves no search.

    See Also
    --------
    skdec.select_n_clusters : The k-means search on an embedding.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from skdec import DECClusterer
    >>> from skdec.plotting import plot_n_clusters
    >>> X, _ = make_blobs(n_samples=150, centers=3, n_features=6, random_state=0)
    >>> dec = DECClusterer(n_clusters=range(2, 6), n_clusters_search="clustering",
    ...                    module__hidden_dims=(16,), module__latent_dim=2,
    ...                    pretrain_epochs=5, max_iter=20, update_interval=5,
    ...                    random_state=0).fit(X)
    >>> ax = plot_n_clusters(dec)
    >>> ax.get_ylabel()
    'silhouette after the clustering stage'
    >>> ax.get_title()
    'k = 3: the highest silhouette'
    >>> ax.lines[0].get_xdata().tolist()
    [2, 3, 4, 5]
    """
    from ._select_k import GIVEN, METHODS

    check_is_fitted(estimator)
    rule = estimator.n_clusters_rule_
    if rule == GIVEN:
        raise ValueError(
            "plot_n_clusters needs an estimator fitted with a search over "
            f"n_clusters; this one was fitted with n_clusters="
            f"{estimator.n_clusters!r}, so there was no search to plot."
        )
    candidates = np.asarray(estimator.n_clusters_candidates_)
    scores = np.asarray(estimator.n_clusters_scores_, dtype=float)
    restarts = np.asarray(estimator.n_clusters_restart_scores_, dtype=float)
    votes = np.asarray(estimator.n_clusters_votes_)
    chosen = int(estimator.n_clusters_)
    method = METHODS[estimator.n_clusters_search]

    ax = new_axes(ax)
    ax.plot(candidates, scores, marker="o", color="C0")
    if len(restarts) > 1:
        ax.fill_between(
            candidates,
            restarts.min(axis=0),
            restarts.max(axis=0),
            color="C0",
            alpha=0.2,
            label=f"range over {len(restarts)} restarts",
        )
    label = f"chosen: {chosen}"
    if rule == "density":
        # HDBSCAN's count decides every vote, so the votes say nothing; what
        # the scores alone would pick shows how far the count is from them.
        by_scores = method.pick(dict(zip(candidates.tolist(), scores, strict=True)))
        label += f" by HDBSCAN (the silhouette alone: {by_scores})"
    elif len(restarts) > 1:
        label += f" ({votes[candidates == chosen][0]} of {len(restarts)} votes)"
    ax.plot(
        [chosen],
        scores[candidates == chosen],
        marker="*",
        markersize=16,
        linestyle="none",
        color="C3",
        label=label,
    )
    ax.set_xticks(candidates)
    ax.legend(fontsize="small")
    ax.set(xlabel="number of clusters k", ylabel=method.scored)
    ax.set_title(f"k = {chosen}: {METHODS[rule].rule}", wrap=True)
    return ax
