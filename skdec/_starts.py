"""Where DEC's clustering stage starts: the embedding and its centroids.

After pretraining, the embedding of the training rows is rescaled to a fixed
spread and the centroids are placed on it by one of four starts: k-means
with restarts (the paper's), N2D's manifold start (UMAP, then a Gaussian
mixture), spectral clustering of its nearest-neighbour graph, or centroids
the user gives. Data-parallel, the start is computed
on rank 0 from a sample of every rank's rows and broadcast.
"""

import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances_argmin_min

from ._batching import map_batches
from ._distributed import sample_rows

# The manifold start's partition is the clustering stage's target for its
# first refresh intervals: DEC's soft assignment partitions the embedding
# into the centroids' Voronoi cells, which are not the manifold's clusters,
# so the stage first learns the partition, then goes on as DEC
# (:ref:`design-manifold-start`).
START_TARGET_REFRESHES = 10

# Above this many rows, k-means places the initial centroids from a random
# sample of the embedding: the restarts cost O(n_init * n), and the centroids
# of a sample this large are as good as the full data's
# (:ref:`design-kmeans-sample`).
KMEANS_MAX_SAMPLES = 100_000

# The spectral start's graph: each row's nearest neighbours in the
# embedding, made symmetric (:ref:`design-spectral-start`).
SPECTRAL_NEIGHBOURS = 15
SPECTRAL_EXTRA_PAIRS = 10


@dataclass(frozen=True)
class Start:
    """The clustering stage's start.

    ``centers`` are the centroids in the embedding; ``posterior`` is the
    start's partition of the training rows (n x k probabilities) when the
    stage should learn it first, else None.
    """

    centers: np.ndarray
    posterior: np.ndarray | None = None


def embedding_spread(embedding, comm):
    """Root mean squared distance of the embedded points to their mean.

    Data-parallel, that of all ranks' points together.
    """
    if comm.world_size == 1:
        # The direct formula: single-process results do not depend on how
        # a distributed run would sum.
        centred = embedding - embedding.mean(dim=0)
        return float(centred.pow(2).sum(dim=1).mean().sqrt())
    z = embedding.double()
    totals = comm.sum([len(z), float(z.pow(2).sum()), *z.sum(dim=0).tolist()])
    n_rows, square, mean = totals[0], totals[1], totals[2:] / totals[0]
    return float(np.sqrt(max(square / n_rows - float(mean @ mean), 0.0)))


def initial_embedding(autoencoder, X, *, device, comm, embedding_scale):
    """The pretrained embedding of ``X`` (numpy), rescaled to ``embedding_scale``.

    The autoencoder itself is rescaled (its reconstruction unchanged), so
    the embedding the start sees is the one inference produces.
    """
    embedding = map_batches(autoencoder.encode, X, device=device)
    if embedding_scale is not None:
        spread = embedding_spread(embedding, comm)
        if spread > 0:
            autoencoder.rescale_embedding(embedding_scale / spread)
            # Re-embed rather than multiply: the same computation as
            # transform, so the start sees exactly what inference produces.
            embedding = map_batches(autoencoder.encode, X, device=device)
    return embedding.cpu().numpy()


def kmeans_sample(embedding, seed, comm):
    """The rows a start is fitted on: all, or a seeded sample of large data.

    Data-parallel, every rank contributes its share of the sample and every
    rank receives all of it, in rank order.
    """
    share = sample_rows(embedding, KMEANS_MAX_SAMPLES // comm.world_size, seed)
    return np.concatenate(comm.gather(share))


def on_main(comm, function, *args, **kwargs):
    """``function(...)`` run on rank 0 and broadcast: one result for all ranks."""
    return comm.broadcast(function(*args, **kwargs) if comm.is_main else None)


def init_record(embedding, centers, started, comm):
    """History record of the start, timed from ``started``."""
    _, distances = pairwise_distances_argmin_min(embedding, centers)
    total, n_rows = comm.sum([float(np.sum(distances**2)), len(distances)])
    return {
        "stage": "init",
        # k-means' objective per sample: mean squared distance to the
        # nearest centroid.
        "loss": total / n_rows,
        "n_clusters": len(centers),
        "seconds": time.perf_counter() - started,
    }


def check_init_array(init, n_clusters, latent_dim):
    """``init`` given as centroids must be finite, (n_clusters, latent_dim)."""
    if n_clusters == "auto":
        raise ValueError("init given as an array needs an int n_clusters, not 'auto'.")
    centers = np.asarray(init, dtype=float)
    if centers.shape != (n_clusters, latent_dim):
        raise ValueError(
            f"init has shape {centers.shape}; centroids in the embedding must "
            f"have shape (n_clusters, latent_dim) = ({n_clusters}, {latent_dim})."
        )
    if not np.isfinite(centers).all():
        raise ValueError("init holds NaN or infinity.")


def kmeans_centroids(embedding, n_clusters, *, n_init, seed):
    """The paper's start: k-means with ``n_init`` restarts."""
    kmeans = KMeans(n_clusters, n_init=n_init, random_state=seed)
    return kmeans.fit(embedding).cluster_centers_


@contextmanager
def kept_thread_counts():
    """Restore torch's and numba's thread counts on leaving.

    Launching numba's OpenMP threading layer, as UMAP does, sets the OpenMP
    thread count torch shares to numba's default of every core: later fits
    would run slower, and with other labels than on the threads the user set.
    """
    torch_threads = torch.get_num_threads()
    try:
        import numba
    except ImportError:
        numba = None
    numba_threads = numba.get_num_threads() if numba is not None else None
    try:
        yield
    finally:
        if numba is not None:
            numba.set_num_threads(numba_threads)
        torch.set_num_threads(torch_threads)


def manifold_start(embedding, n_clusters, seed):
    """N2D's start: UMAP then a Gaussian mixture, on ``embedding``.

    The centroids are the mixture's clusters' means in the embedding, and
    the posterior each row's probabilities over the clusters.
    """
    try:
        from umap import UMAP
    except ImportError:
        raise ImportError(
            "init='manifold' needs the optional package umap-learn: "
            'pip install "skdec[manifold]" (or pip install umap-learn)'
        ) from None
    from sklearn.mixture import GaussianMixture

    # With a seed UMAP runs on one thread whatever n_jobs says; asking for one
    # keeps its "n_jobs overridden" warning from reaching the user.
    umap = UMAP(
        n_components=n_clusters,
        n_neighbors=20,
        min_dist=0.0,
        random_state=seed,
        n_jobs=1,
    )
    with kept_thread_counts():
        reduced = umap.fit_transform(embedding)
    mixture = GaussianMixture(n_clusters, covariance_type="full", random_state=seed)
    labels = mixture.fit_predict(reduced)
    posterior = mixture.predict_proba(reduced).astype(np.float32)
    return Start(cluster_means(embedding, labels, n_clusters), posterior)


def cluster_means(embedding, labels, n_clusters):
    """Each cluster's mean in ``embedding`` (float32); the overall mean for an
    empty cluster."""
    fallback = embedding.mean(axis=0)
    centroids = [
        embedding[labels == j].mean(axis=0) if (labels == j).any() else fallback
        for j in range(n_clusters)
    ]
    return np.stack(centroids).astype(np.float32)


def neighbour_graph(embedding, n_neighbors):
    """The symmetric, unweighted ``n_neighbors``-nearest-neighbour graph (CSR)."""
    from sklearn.neighbors import kneighbors_graph

    graph = kneighbors_graph(embedding, min(n_neighbors, len(embedding) - 1))
    return ((graph + graph.T) > 0).astype(np.float64)


def spectral_partition(graph, n_clusters, *, n_init, seed):
    """Ng, Jordan and Weiss' spectral clustering of a symmetric ``graph``.

    The top ``n_clusters`` eigenvectors of its normalised adjacency, each row
    scaled to unit length, then k-means with ``n_init`` restarts on them.
    Returns the labels.
    """
    from scipy.sparse import diags
    from scipy.sparse.linalg import eigsh

    n_samples = graph.shape[0]
    scale = diags(1.0 / np.sqrt(np.asarray(graph.sum(axis=1)).ravel()))
    adjacency = scale @ graph @ scale
    # Eigenvalues near 1 are near-degenerate where clusters barely touch;
    # ARPACK finds their eigenvectors accurately only with more pairs asked
    # than kept (:ref:`design-spectral-start`). A fixed start vector:
    # ARPACK's default is random.
    n_pairs = min(n_clusters + SPECTRAL_EXTRA_PAIRS, n_samples - 1)
    values, vectors = eigsh(
        adjacency, k=n_pairs, which="LA", v0=np.ones(n_samples), tol=1e-6
    )
    vectors = vectors[:, np.argsort(-values)[:n_clusters]]
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return KMeans(n_clusters, n_init=n_init, random_state=seed).fit_predict(vectors)


def spectral_start(embedding, n_clusters, *, n_init, seed):
    """Spectral clustering of the embedding's nearest-neighbour graph.

    :func:`spectral_partition` of the symmetric
    ``SPECTRAL_NEIGHBOURS``-nearest-neighbour graph. Its clusters follow
    the graph, so they need not be convex.
    """
    graph = neighbour_graph(embedding, SPECTRAL_NEIGHBOURS)
    labels = spectral_partition(graph, n_clusters, n_init=n_init, seed=seed)
    posterior = np.eye(n_clusters, dtype=np.float32)[labels]
    return Start(cluster_means(embedding, labels, n_clusters), posterior)


def place_start(init, embedding, n_clusters, *, n_init, seed):
    """The start ``init`` names ("kmeans", "manifold", "spectral" or
    centroids) on rows."""
    if isinstance(init, str) and init == "manifold":
        return manifold_start(embedding, n_clusters, seed)
    if isinstance(init, str) and init == "spectral":
        return spectral_start(embedding, n_clusters, n_init=n_init, seed=seed)
    if isinstance(init, str):
        return Start(kmeans_centroids(embedding, n_clusters, n_init=n_init, seed=seed))
    return Start(np.asarray(init, dtype=np.float32))
