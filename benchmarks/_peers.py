"""The methods a user would pick instead of DEC, as estimators the panel runs
beside it: UMAP of the input then a Gaussian mixture (umap-learn), and Leiden
on a nearest-neighbour graph (igraph and leidenalg)."""

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.mixture import GaussianMixture


class UmapGmm(ClusterMixin, BaseEstimator):
    """UMAP of ``X`` (``n_components``, ``n_neighbors``, ``min_dist``), then a
    full-covariance Gaussian mixture of ``n_clusters`` components."""

    def __init__(
        self,
        n_clusters=8,
        *,
        n_components=10,
        n_neighbors=20,
        min_dist=0.0,
        random_state=None,
    ):
        self.n_clusters = n_clusters
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.random_state = random_state

    def fit(self, X, y=None):
        import umap

        reducer = umap.UMAP(
            n_components=self.n_components,
            n_neighbors=self.n_neighbors,
            min_dist=self.min_dist,
            random_state=self.random_state,
        )
        self.embedding_ = reducer.fit_transform(X)
        mixture = GaussianMixture(
            self.n_clusters, covariance_type="full", random_state=self.random_state
        )
        self.labels_ = mixture.fit_predict(self.embedding_)
        return self


class Leiden(ClusterMixin, BaseEstimator):
    """The single-cell recipe on any data: the first ``n_components``
    principal components (a truncated SVD for sparse data), the graph of each
    row's ``n_neighbors`` nearest neighbours (unweighted, symmetrised), then
    ``leidenalg``'s RB configuration partition at ``resolution``, iterated
    until it no longer changes. It finds its own number of clusters:
    ``n_clusters`` is accepted so that it takes the panel's arguments, and
    unused."""

    def __init__(
        self,
        n_clusters=None,
        *,
        n_components=50,
        n_neighbors=15,
        resolution=1.0,
        random_state=None,
    ):
        self.n_clusters = n_clusters
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.resolution = resolution
        self.random_state = random_state

    def fit(self, X, y=None):
        import igraph
        import leidenalg
        import scipy.sparse as sp
        from sklearn.decomposition import PCA, TruncatedSVD
        from sklearn.neighbors import kneighbors_graph

        n_components = min(self.n_components, X.shape[1] - 1, X.shape[0] - 1)
        reduce = TruncatedSVD if sp.issparse(X) else PCA
        Z = reduce(n_components, random_state=self.random_state).fit_transform(X)
        knn = kneighbors_graph(Z, self.n_neighbors)
        edges = list(zip(*knn.nonzero(), strict=True))
        graph = igraph.Graph(X.shape[0], edges).simplify()
        partition = leidenalg.find_partition(
            graph,
            leidenalg.RBConfigurationVertexPartition,
            n_iterations=-1,
            resolution_parameter=self.resolution,
            seed=self.random_state,
        )
        self.labels_ = np.asarray(partition.membership)
        return self
