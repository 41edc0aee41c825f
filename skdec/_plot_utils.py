"""Helpers shared by the functions of :mod:`skdec.plotting`.

Matplotlib is imported by :func:`pyplot` when a plot is drawn, never when
this module is imported.
"""

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE


def pyplot():
    """``matplotlib.pyplot``, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "skdec.plotting needs matplotlib, which is not installed; install it "
            'with `pip install "skdec[plot]"` or `pip install matplotlib`.'
        ) from exc
    return plt


def new_axes(ax):
    """``ax``, or the axes of a new figure when it is None."""
    return pyplot().subplots()[1] if ax is None else ax


def label_colours(labels):
    """Colour indices for ``labels`` and the colormap to draw them with."""
    values, codes = np.unique(labels, return_inverse=True)
    cmap = "tab10" if len(values) <= 10 else "tab20"
    return values, codes.ravel(), cmap


def project_2d(embedding, centers, method, random_state):
    """The embedding (and the centroids, where possible) in two dimensions."""
    if embedding.shape[1] == 1:
        # A 1-D embedding is drawn along x; nothing is invented for y.
        return (
            np.column_stack([embedding, np.zeros(len(embedding))]),
            np.column_stack([centers, np.zeros(len(centers))]),
        )
    if embedding.shape[1] == 2:
        return embedding, centers
    if method == "pca":
        pca = PCA(n_components=2, random_state=random_state).fit(embedding)
        return pca.transform(embedding), pca.transform(centers)
    # TSNE has no transform for new points, so the centroids are not drawn.
    perplexity = min(30.0, (len(embedding) - 1) / 3)
    tsne = TSNE(n_components=2, perplexity=perplexity, random_state=random_state)
    return tsne.fit_transform(embedding), None
