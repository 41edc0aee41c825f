"""The DEC estimator: validation, orchestration and fitted state.

The torch modules live in :mod:`skdec._nn` and the loops in
:mod:`skdec._train`; this file only validates, wires them together and keeps
numpy results, so no torch type crosses the public API.
"""

import copy
import time
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import pairwise_distances_argmin_min
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import (
    _BaseDeepClusterer,
    _check_image_shape,
    _check_widths,
    _seed,
    check_finite_weights,
)
from ._conv_nn import ConvAutoencoder
from ._distributed import sample_rows
from ._nn import DECModule, StackedAutoencoder
from ._perturb import ImagePerturbation
from ._select_k import CRITERIA, select_n_clusters
from ._silhouette import capped_silhouette
from ._train import (
    auto_pretrain_learning_rate,
    map_batches,
    pretrain_end_to_end,
    pretrain_layerwise,
    train_clustering,
)

# ---------------------------------------------------------------------------
# Helpers


def _embedding_spread(embedding, comm=None):
    """Root mean squared distance of the embedded points to their mean.

    Data-parallel, that of all ranks' points together.
    """
    if comm is None:
        centred = embedding - embedding.mean(dim=0)
        return float(centred.pow(2).sum(dim=1).mean().sqrt())
    z = embedding.double()
    totals = comm.sum([len(z), float(z.pow(2).sum()), *z.sum(dim=0).tolist()])
    n_rows, square, mean = totals[0], totals[1], totals[2:] / totals[0]
    return float(np.sqrt(max(square / n_rows - float(mean @ mean), 0.0)))


# DEC-DA's augmentation (Guo et al., 2018): shifts up to 10% of the image
# size and rotations up to 10 degrees, either way.
AUGMENT_TRANSLATION = 0.1
AUGMENT_ROTATION = 10.0

# The manifold start's partition is the clustering stage's target for its
# first 10 refresh intervals (300 steps by default). DEC's soft assignment
# partitions the embedding into the centroids' Voronoi cells, and those cells
# are not the manifold's clusters (on digits, seed 0: ACC 0.806 against the
# mixture's 0.842); learning the partition first keeps it (0.849 after 300
# steps; benchmarks/README.md, tuning log, session 6).
START_TARGET_REFRESHES = 10

# Above this many rows, k-means places the initial centroids from a random
# sample of the embedding: the restarts cost O(n_init * n) and the centroids
# of a 100,000-row sample are as good as the full data's (measured in
# benchmarks/README.md, "k-means start on large data").
KMEANS_MAX_SAMPLES = 100_000


def _kmeans_sample(embedding, seed, comm=None):
    """The rows k-means is fitted on: all, or a seeded sample of large data.

    Data-parallel, every rank contributes its share of the sample and every
    rank receives all of it, in rank order.
    """
    if comm is None:
        return sample_rows(embedding, KMEANS_MAX_SAMPLES, seed)
    share = sample_rows(embedding, KMEANS_MAX_SAMPLES // comm.world_size, seed)
    return np.concatenate(comm.gather(share))


def _on_main(comm, function, *args, **kwargs):
    """``function(...)`` run on rank 0 and broadcast: one result for all ranks."""
    if comm is None:
        return function(*args, **kwargs)
    return comm.broadcast(function(*args, **kwargs) if comm.is_main else None)


def _init_record(embedding, centers, start, comm=None):
    """History record of the k-means start of the clustering stage."""
    _, distances = pairwise_distances_argmin_min(embedding, centers)
    total, n_rows = float(np.sum(distances**2)), len(distances)
    if comm is not None:
        total, n_rows = comm.sum([total, n_rows])
    return {
        "stage": "init",
        # k-means' objective per sample: mean squared distance to the
        # nearest centroid.
        "loss": total / n_rows,
        "n_clusters": len(centers),
        "seconds": time.perf_counter() - start,
    }


@torch.no_grad()
def _embed_and_assign(module, X, device):
    """Embedding and log Q of the training tensor ``X``, as numpy arrays."""
    out = map_batches(lambda x: torch.cat(module(x), dim=1), X, device=device)
    out = out.cpu().numpy()
    latent_dim = module.centroids.shape[1]
    return out[:, :latent_dim], out[:, latent_dim:]


def _check_init_array(init, n_clusters, latent_dim):
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


def _manifold_start(embedding, n_clusters, seed):
    """N2D's start: UMAP then a Gaussian mixture, on ``embedding``.

    Returns ``(centroids, posterior)``: the mixture's clusters' means in the
    embedding, and each row's posterior probabilities over the clusters.
    """
    try:
        from umap import UMAP
    except ImportError:
        raise ImportError(
            "init='manifold' needs the optional package umap-learn: "
            "pip install umap-learn"
        ) from None
    from sklearn.mixture import GaussianMixture

    reduced = UMAP(
        n_components=n_clusters, n_neighbors=20, min_dist=0.0, random_state=seed
    ).fit_transform(embedding)
    mixture = GaussianMixture(n_clusters, covariance_type="full", random_state=seed)
    labels = mixture.fit_predict(reduced)
    fallback = embedding.mean(axis=0)
    centroids = np.stack(
        [
            embedding[labels == j].mean(axis=0) if (labels == j).any() else fallback
            for j in range(n_clusters)
        ]
    )
    posterior = mixture.predict_proba(reduced)
    return centroids.astype(np.float32), posterior.astype(np.float32)


def _check_n_clusters_range(n_clusters_range, n_samples):
    """Candidate numbers of clusters for ``n_clusters="auto"``."""
    try:
        low, high = n_clusters_range
    except (TypeError, ValueError):
        raise ValueError(
            f"n_clusters_range must be a pair (low, high), got {n_clusters_range!r}."
        ) from None
    for bound in (low, high):
        if not isinstance(bound, Integral) or isinstance(bound, bool):
            raise TypeError(
                f"n_clusters_range must hold integers, got {n_clusters_range!r}."
            )
    if not 2 <= low <= high:
        raise ValueError(
            f"n_clusters_range={n_clusters_range!r} must satisfy 2 <= low <= high."
        )
    if high >= n_samples:
        raise ValueError(
            f"n_clusters_range={n_clusters_range!r} reaches n_samples={n_samples}; "
            "the largest candidate must be below the number of samples."
        )
    return list(range(int(low), int(high) + 1))


# ---------------------------------------------------------------------------
# Estimator


class DECClusterer(_BaseDeepClusterer):
    """Deep Embedded Clustering (DEC).

    DEC learns a non-linear embedding and a clustering jointly (Xie et al.,
    2016). A stacked autoencoder is pretrained to reconstruct the data; k-means
    on its embedding places the centroids; then the encoder and the centroids
    are trained together to minimise ``KL(P || Q)``, where ``Q`` is a Student's
    t soft assignment of the embedded points to the centroids and ``P`` a
    sharpened version of ``Q`` that is refreshed every ``update_interval``
    steps. Training stops when fewer than a fraction ``tol`` of the labels
    change between two refreshes.

    Read more in the :ref:`User Guide <user_guide>`.

    Parameters
    ----------
    n_clusters : int or "auto", default=8
        Number of clusters. With "auto", every value in ``n_clusters_range``
        is tried on the one pretrained autoencoder, as
        ``n_clusters_search`` says, and the best by a label-free criterion
        is kept.

    n_clusters_range : tuple of int, default=(2, 20)
        Smallest and largest number of clusters tried when
        ``n_clusters="auto"``; ignored otherwise.

    n_clusters_criterion : {"davies_bouldin", "silhouette", \
"calinski_harabasz", "stability", "prediction_strength", \
"generalisability"}, default="davies_bouldin"
        How ``n_clusters="auto"`` scores the candidates; ignored otherwise.
        The criteria are described in the :ref:`User Guide <choosing_k>`;
        the measurements behind the default are in
        ``benchmarks/choosing_k.md``.

    n_clusters_search : {"kmeans", "clustering"}, default="kmeans"
        How ``n_clusters="auto"`` tries the candidates; ignored otherwise.
        "kmeans" scores a k-means fit per candidate on the pretrained
        embedding with ``n_clusters_criterion``: it costs little more than
        one fit. "clustering" runs DEC's clustering stage for every
        candidate, each from a copy of the pretrained autoencoder, and keeps
        the one whose clustering has the best :meth:`score` (the silhouette
        in its embedding; ``n_clusters_criterion`` is not used): one
        pretraining plus one clustering stage per candidate. The costs and
        accuracies of both are in ``benchmarks/choosing_k.md``.

    hidden_dims : tuple of int, default=(500, 500, 2000)
        Widths of the encoder's hidden layers; the decoder mirrors them. The
        default is the paper's ``d-500-500-2000-10`` network. Not used by
        the convolutional autoencoder (``image_shape`` with
        ``conv_channels``).

    image_shape : tuple of int or None, default=None
        ``(H, W)`` or ``(C, H, W)``: the rows of ``X`` are images flattened
        row-major in that order. It makes the autoencoder convolutional
        (see ``conv_channels``) and allows ``augment``. None treats rows as
        plain feature vectors.

    conv_channels : tuple of int or None, default=(32, 64, 128)
        Used only with ``image_shape``: DCEC's convolutional autoencoder,
        one stride-2 convolution per width (5x5 kernels, 3x3 for the last)
        with ReLU, then a linear layer to the embedding; the decoder mirrors
        it with transposed convolutions. None keeps the fully connected
        autoencoder of ``hidden_dims`` and uses ``image_shape`` for
        ``augment`` only.

    augment : bool, default=False
        DEC-DA's data augmentation (Guo et al., 2018); needs
        ``image_shape``. Pretraining reconstructs randomly shifted (up to
        10% of the size) and rotated (up to 10 degrees) copies of the
        images, and in the clustering stage the target P comes from the
        clean images while Q, in the loss, comes from such copies.
        ``transform`` and ``predict`` always see the clean images.

    latent_dim : int, default=10
        Dimension of the embedding in which the clusters are formed.

    alpha : float, default=1.0
        Degrees of freedom of the Student's t kernel of the soft assignment.
        The paper uses 1.

    pretrain : {"layerwise", "end_to_end"} or None, default="end_to_end"
        How the autoencoder is pretrained. "end_to_end" trains the deep
        autoencoder directly (DEC-keras). "layerwise" trains each
        encoder/decoder pair as a denoising autoencoder (input and code
        corrupted by dropout with rate ``dropout``), then fine-tunes the whole
        stack end to end without dropout, as in the paper. None skips
        pretraining and clusters the embedding of the randomly initialised
        encoder. End to end is the default because it clustered digits as
        well in half the time (tuning log in ``benchmarks/README.md``).

    pretrain_epochs : int, default=200
        Epochs of each pretraining stage (each layer-wise pair and the
        fine-tuning). The paper counts 50k iterations per layer on MNIST.

    dropout : float, default=0.2
        Corruption rate of the denoising autoencoders in layer-wise
        pretraining (the paper's 0.2). Unused otherwise.

    max_iter : int, default=2000
        Maximum number of optimisation steps (mini-batches) of the clustering
        stage. ``max_iter=0`` stops after the k-means initialisation, which
        gives "autoencoder + k-means".

    update_interval : int, default=30
        Steps between two refreshes of the target distribution ``P`` on the
        whole data set. DEC-keras uses 140 on MNIST and 30 on smaller sets.

    tol : float, default=1e-3
        Stop when the fraction of labels that changed between two refreshes
        is below ``tol`` (the paper's 0.1%).

    batch_size : int, default=256
        Mini-batch size of all training stages (the paper's 256).

    learning_rate : float, default=0.01
        Learning rate of the clustering stage (SGD with momentum 0.9, as in
        the paper).

    pretrain_optimizer : {"auto", "sgd", "adam"}, default="auto"
        Optimiser of pretraining: SGD with momentum 0.9 (the paper's and
        DEC-keras' choice; its gradient norm is clipped at 1 so unscaled
        data cannot make it diverge) or Adam, which suits small networks.
        "auto" is SGD for dense input and Adam for sparse input, where SGD
        left the embedding of TF-IDF text collapsed into one cluster
        (``benchmarks/README.md``, "Text").

    pretrain_learning_rate : float or "auto", default="auto"
        Learning rate of pretraining. "auto" is 1e-3 for Adam and, for SGD,
        DEC-keras' 1.0 lowered to ``0.25 / mean(X ** 2)`` when that is
        smaller: 1.0 for images scaled to [0, 1], 0.25 for standardised
        data (the squared error's gradient grows with the data's power). A
        lower rate such as 0.5 gives steadier results across seeds (see
        the user guide and the tuning log in ``benchmarks/README.md``).

    embedding_scale : float or None, default=5.0
        After pretraining, the embedding is rescaled so that its points lie
        at a root mean squared distance ``embedding_scale`` from their mean;
        the autoencoder's reconstruction is unchanged (the decoder absorbs
        the factor). The Student's t kernel is not scale-invariant, so
        without this the clustering stage behaves differently depending on
        the arbitrary scale the autoencoder happened to learn. None keeps
        the learned scale.

    init : {"kmeans", "manifold"} or array-like of shape \
(n_clusters, latent_dim), default="kmeans"
        How the clustering stage's centroids are placed on the pretrained
        embedding. "kmeans" is the paper's k-means with ``n_init``
        restarts. "manifold" is N2D's start: UMAP of the embedding to
        ``n_clusters`` dimensions (20 neighbours, ``min_dist=0``), a
        Gaussian mixture there, and the centroids are the mixture's
        clusters' means in the embedding. The clustering stage then first
        learns the mixture's partition (its posterior probabilities are the
        target of the first 10 refresh intervals), because the centroids'
        Voronoi cells in the embedding are not that partition, and then goes
        on as DEC; on data larger than the k-means sample, or data-parallel,
        it starts from the centroids alone. It needs the optional package
        ``umap-learn``. An array gives the centroids in the embedding space
        (after the ``embedding_scale`` rescaling). ``n_clusters="auto"``
        always starts from k-means.

    n_init : int, default=20
        Number of k-means restarts on the embedding (the paper's 20).

    distributed : bool or "auto", default="auto"
        "auto" trains data-parallel when the script has initialised a
        default ``torch.distributed`` process group with more than one
        process (for example under ``torchrun``): each rank passes its own
        rows, gradients and whole-data statistics are combined across
        ranks, and every rank ends with the same model (``labels_`` holds
        the rank's own rows). False always trains on this process's rows
        alone, for scripts that hold a process group for other reasons. See
        the :ref:`Scaling <scaling>` page.

    device : str, default="auto"
        Torch device: "auto" uses CUDA when available and the CPU otherwise;
        "cpu", "cuda" or "cuda:N" pick one.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, corruption and k-means. The
        same value gives the same labels on the same machine. Torch's and
        numpy's global random states are neither used nor changed.

    verbose : int, default=0
        0 prints nothing; 1 or more shows progress bars.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training sample; equal to ``predict(X)``.

    cluster_centers_ : ndarray of shape (n_clusters, latent_dim)
        Centroids in the embedding space.

    n_clusters_ : int
        Number of clusters used: ``n_clusters``, or the one chosen when
        ``n_clusters="auto"``.

    n_clusters_candidates_ : ndarray of shape (n_candidates,)
        Numbers of clusters tried (only ``n_clusters`` when it is an int).

    n_clusters_scores_ : ndarray of shape (n_candidates,)
        The selection criterion for each candidate, to plot against
        ``n_clusters_candidates_`` (:func:`skdec.plotting.plot_n_clusters`);
        NaN when ``n_clusters`` is an int. With
        ``n_clusters_search="clustering"``, the silhouette of each
        candidate's clustering.

    n_iter_ : int
        Optimisation steps run in the clustering stage.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    history_ : list of dict
        One record per pretraining epoch (``stage="pretrain_..."``,
        ``epoch``), one for the k-means start (``stage="init"``, ``loss`` the
        mean squared distance to the nearest centroid, ``n_clusters``) and
        one per target refresh of the clustering stage
        (``stage="clustering"``, ``iteration``, ``kl``, ``delta_label``).
        Every record has ``stage``, ``loss`` (that stage's objective: the
        reconstruction MSE, the k-means objective, ``KL(P || Q)``) and
        ``seconds`` (wall time of the epoch, the start or the refresh
        interval), so ``pandas.DataFrame(history_)`` is one table.

    module_ : torch.nn.Module
        The trained network (autoencoder and centroids). Provided for
        inspection; the public methods take and return numpy arrays.

    See Also
    --------
    sklearn.cluster.KMeans : Clustering in the input space.

    Notes
    -----
    If ``fit`` is interrupted (``KeyboardInterrupt``) or fails, the estimator
    is left exactly as it was before the call: unfitted, or holding the
    previous fit.

    Inputs are cast to float32 for the network; outputs of ``transform`` and
    ``predict_proba`` have the dtype of the input. Scale features to a
    comparable range (for example with ``MinMaxScaler``) before fitting.

    References
    ----------
    J. Xie, R. Girshick and A. Farhadi. "Unsupervised Deep Embedding for
    Clustering Analysis". ICML 2016.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from skdec import DECClusterer
    >>> X, _ = make_blobs(n_samples=200, centers=3, n_features=5, random_state=0)
    >>> dec = DECClusterer(n_clusters=3, hidden_dims=(32,), latent_dim=2,
    ...                    pretrain_epochs=20, max_iter=100, random_state=0)
    >>> labels = dec.fit_predict(X)
    >>> labels.shape
    (200,)
    >>> dec.transform(X).shape
    (200, 2)
    >>> bool((dec.predict(X) == labels).all())
    True
    """

    _parameter_constraints: dict = {
        "n_clusters": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "n_clusters_range": ["array-like"],
        "n_clusters_criterion": [StrOptions(set(CRITERIA))],
        "n_clusters_search": [StrOptions({"kmeans", "clustering"})],
        "hidden_dims": ["array-like"],
        "image_shape": ["array-like", None],
        "conv_channels": ["array-like", None],
        "augment": ["boolean"],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "pretrain": [StrOptions({"layerwise", "end_to_end"}), None],
        "pretrain_epochs": [Interval(Integral, 0, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "update_interval": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, 1, closed="both")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "pretrain_optimizer": [StrOptions({"auto", "sgd", "adam"})],
        "pretrain_learning_rate": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
        "embedding_scale": [Interval(Real, 0, None, closed="neither"), None],
        "init": [StrOptions({"kmeans", "manifold"}), "array-like"],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        **_BaseDeepClusterer._parameter_constraints,
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        n_clusters_range=(2, 20),
        n_clusters_criterion="davies_bouldin",
        n_clusters_search="kmeans",
        hidden_dims=(500, 500, 2000),
        image_shape=None,
        conv_channels=(32, 64, 128),
        augment=False,
        latent_dim=10,
        alpha=1.0,
        pretrain="end_to_end",
        pretrain_epochs=200,
        dropout=0.2,
        max_iter=2000,
        update_interval=30,
        tol=1e-3,
        batch_size=256,
        learning_rate=0.01,
        pretrain_optimizer="auto",
        pretrain_learning_rate="auto",
        embedding_scale=5.0,
        init="kmeans",
        n_init=20,
        distributed="auto",
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.n_clusters = n_clusters
        self.n_clusters_range = n_clusters_range
        self.n_clusters_criterion = n_clusters_criterion
        self.n_clusters_search = n_clusters_search
        self.hidden_dims = hidden_dims
        self.image_shape = image_shape
        self.conv_channels = conv_channels
        self.augment = augment
        self.latent_dim = latent_dim
        self.alpha = alpha
        self.pretrain = pretrain
        self.pretrain_epochs = pretrain_epochs
        self.dropout = dropout
        self.max_iter = max_iter
        self.update_interval = update_interval
        self.tol = tol
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.pretrain_optimizer = pretrain_optimizer
        self.pretrain_learning_rate = pretrain_learning_rate
        self.embedding_scale = embedding_scale
        self.init = init
        self.n_init = n_init
        self.distributed = distributed
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # -- fitting ------------------------------------------------------------

    def _check_fit_data(self, X, n_samples):
        if not isinstance(self.init, str):
            _check_init_array(self.init, self.n_clusters, self.latent_dim)
        if self.n_clusters == "auto":
            _check_n_clusters_range(self.n_clusters_range, n_samples)
        elif isinstance(self.n_clusters, bool):
            raise TypeError(f"n_clusters must be an int, got {self.n_clusters!r}.")
        super()._check_fit_data(X, n_samples)
        _check_widths(self.hidden_dims, "hidden_dims")
        image_shape = _check_image_shape(self.image_shape, X.shape[1])
        if self.augment and image_shape is None:
            raise ValueError("augment=True transforms images: give their image_shape.")
        if self._convolutional():
            if not _check_widths(self.conv_channels, "conv_channels"):
                raise ValueError(
                    "conv_channels must hold at least one width; None keeps "
                    "the fully connected autoencoder of hidden_dims."
                )
            if self.pretrain == "layerwise":
                raise ValueError(
                    "pretrain='layerwise' trains fully connected pairs; the "
                    "convolutional autoencoder (image_shape with conv_channels) "
                    "pretrains 'end_to_end'."
                )

    def _convolutional(self):
        """Whether the autoencoder is DCEC's convolutional one."""
        return self.image_shape is not None and self.conv_channels is not None

    def _build_autoencoder(self, n_features, generator):
        """A freshly initialised autoencoder, as the parameters say."""
        if self._convolutional():
            return ConvAutoencoder(
                _check_image_shape(self.image_shape, n_features),
                _check_widths(self.conv_channels, "conv_channels"),
                self.latent_dim,
                generator=generator,
            )
        dims = (n_features, *_check_widths(self.hidden_dims, "hidden_dims"))
        return StackedAutoencoder((*dims, self.latent_dim), generator=generator)

    def _augmentation(self):
        """DEC-DA's random shifts and rotations, or None without ``augment``."""
        if not self.augment:
            return None
        return ImagePerturbation(
            tuple(self.image_shape),
            rotation=AUGMENT_ROTATION,
            scale=(1.0, 1.0),
            shear=0.0,
            translation=AUGMENT_TRANSLATION,
            noise_std=0.0,
        )

    def _fit(self, X, setup):
        """Guts of fit on the training tensor ``X``; parameters are valid."""
        device, rng, comm = setup.device, setup.rng, setup.comm
        searching = self.n_clusters == "auto" and self.n_clusters_search != "kmeans"
        if comm is not None and searching:
            raise ValueError(
                "n_clusters_search='clustering' does not run data-parallel; "
                "use n_clusters_search='kmeans' or distributed=False."
            )
        autoencoder = self._build_autoencoder(X.shape[1], setup.init_generator)
        autoencoder = autoencoder.to(device)
        if comm is not None:
            # One model: every rank starts from rank 0's weights.
            comm.broadcast_module(autoencoder)
        history = self._pretrain(autoencoder, X, setup)
        check_finite_weights(autoencoder, "pretraining")

        start = time.perf_counter()
        embedding = self._initial_embedding(autoencoder, X, device, comm)
        if self.n_clusters != "auto":
            candidates, scores = [self.n_clusters], [np.nan]
            seed = _seed(rng)  # one draw, as before sampling existed
            sample = _kmeans_sample(embedding, seed, comm)
            centers, posterior = _on_main(
                comm, self._initial_centroids, sample, self.n_clusters, seed
            )
            history.append(_init_record(embedding, centers, start, comm))
            if comm is not None or len(sample) < len(embedding):
                # The partition covers the sampled rows only: start from the
                # centroids alone.
                posterior = None
            module, n_iter, clustering_history = self._cluster(
                autoencoder, centers, X, setup, start_target=posterior
            )
        elif self.n_clusters_search == "kmeans":
            n_samples = len(X) if comm is None else int(comm.sum(len(X)))
            candidates = _check_n_clusters_range(self.n_clusters_range, n_samples)
            seed = _seed(rng)
            _, scores, centers = _on_main(
                comm,
                select_n_clusters,
                _kmeans_sample(embedding, seed, comm),
                candidates,
                criterion=self.n_clusters_criterion,
                n_init=self.n_init,
                random_state=seed,
            )
            scores = [scores[k] for k in candidates]
            history.append(_init_record(embedding, centers, start, comm))
            module, n_iter, clustering_history = self._cluster(
                autoencoder, centers, X, setup
            )
        else:
            candidates = _check_n_clusters_range(self.n_clusters_range, len(X))
            module, n_iter, scores, search_history, clustering_history = self._search(
                autoencoder, embedding, candidates, X, setup
            )
            history += search_history

        self.module_ = module
        self.history_ = history + clustering_history
        self.n_iter_ = n_iter
        self.n_clusters_ = int(len(module.centroids))
        self.n_clusters_candidates_ = np.asarray(candidates)
        self.n_clusters_scores_ = np.asarray(scores, dtype=float)
        self.cluster_centers_ = module.centroids.detach().cpu().numpy().copy()
        return self

    def _initial_centroids(self, embedding, n_clusters, seed):
        """The clustering stage's start, as ``init`` says: (centroids, posterior).

        ``posterior`` is the manifold start's partition of the rows of
        ``embedding`` (None for the other starts).
        """
        if isinstance(self.init, str) and self.init == "manifold":
            return _manifold_start(embedding, n_clusters, seed)
        if isinstance(self.init, str):
            return self._kmeans_centroids(embedding, n_clusters, seed), None
        return np.asarray(self.init, dtype=np.float32), None

    def _kmeans_centroids(self, embedding, n_clusters, seed):
        """k-means with ``n_init`` restarts on the (sampled) embedding."""
        kmeans = KMeans(n_clusters, n_init=self.n_init, random_state=seed)
        return kmeans.fit(embedding).cluster_centers_

    def _cluster(
        self,
        autoencoder,
        centers,
        X,
        setup,
        *,
        generator=None,
        warn=True,
        start_target=None,
    ):
        """DEC's clustering stage from ``centers``: (module, n_iter, history).

        With ``start_target`` (the start's partition of the rows, n x k), the
        first ``START_TARGET_REFRESHES * update_interval`` steps learn it
        before DEC's own target takes over.
        """
        module = DECModule(autoencoder, centers, self.alpha).to(setup.device)
        if start_target is not None:
            start_target = torch.as_tensor(start_target, device=setup.device)
        n_iter, converged, history = train_clustering(
            module,
            X,
            max_iter=self.max_iter,
            update_interval=self.update_interval,
            tol=self.tol,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            generator=setup.generator if generator is None else generator,
            device=setup.device,
            gamma=self._reconstruction_gamma(),
            progress=setup.progress,
            comm=setup.comm,
            augment=self._augmentation(),
            start_target=start_target,
            start_steps=START_TARGET_REFRESHES * self.update_interval,
        )
        check_finite_weights(module, "clustering")
        warn = warn and (setup.comm is None or setup.comm.is_main)
        if warn and not converged and self.max_iter > 0:
            warnings.warn(
                f"{type(self).__name__} stopped after max_iter={self.max_iter} "
                f"steps before fewer than tol={self.tol} of the labels changed "
                "between refreshes; increase max_iter or tol.",
                ConvergenceWarning,
            )
        return module, n_iter, history

    def _search(self, autoencoder, embedding, candidates, X, setup):
        """``n_clusters_search="clustering"``: a clustering stage per candidate.

        Every candidate starts from a copy of the one pretrained autoencoder,
        with its own k-means start and the same seed for its mini-batches, and
        is scored by :meth:`score`'s silhouette on the training data; the
        best candidate's module is kept. Returns ``(module, n_iter, scores,
        search_history, clustering_history)`` of the best candidate.
        """
        device = setup.device
        seeds = [_seed(setup.rng) for _ in candidates]
        batch_seed = _seed(setup.rng)
        best, scores, search_history = None, [], []
        for k, seed in zip(candidates, seeds, strict=True):
            start = time.perf_counter()
            centers = self._kmeans_centroids(_kmeans_sample(embedding, seed), k, seed)
            generator = torch.Generator(device=device).manual_seed(batch_seed)
            with warnings.catch_warnings():
                # A candidate that does not converge is no reason to warn:
                # only the chosen one's stage is the fit's.
                warnings.simplefilter("ignore", ConvergenceWarning)
                module, n_iter, history = self._cluster(
                    copy.deepcopy(autoencoder),
                    centers,
                    X,
                    setup,
                    generator=generator,
                    warn=False,
                )
            z, log_q = _embed_and_assign(module, X, device)
            score = capped_silhouette(z, log_q.argmax(axis=1))
            scores.append(score)
            search_history.append(
                {
                    "stage": "n_clusters_search",
                    "n_clusters": int(k),
                    # Lower is better, as for every loss: minus the silhouette.
                    "loss": -score,
                    "seconds": time.perf_counter() - start,
                }
            )
            if best is None or score > best[0]:
                best = (score, module, n_iter, history)
        _, module, n_iter, history = best
        return module, n_iter, scores, search_history, history

    def _initial_embedding(self, autoencoder, X, device, comm=None):
        """The embedding k-means starts from, rescaled to ``embedding_scale``."""
        embedding = map_batches(autoencoder.encode, X, device=device)
        if self.embedding_scale is not None:
            spread = _embedding_spread(embedding, comm)
            if spread > 0:
                autoencoder.rescale_embedding(self.embedding_scale / spread)
                # Re-embed rather than multiply: the same computation as
                # transform, so k-means sees exactly what inference produces.
                embedding = map_batches(autoencoder.encode, X, device=device)
        return embedding.cpu().numpy()

    def _reconstruction_gamma(self):
        """Weight of KL against reconstruction; None trains DEC's KL alone."""
        return None

    def _pretrain(self, autoencoder, X, setup):
        if self.pretrain is None or self.pretrain_epochs == 0:
            return []
        optimizer = self.pretrain_optimizer
        if optimizer == "auto":
            optimizer = "adam" if setup.sparse_input else "sgd"
        learning_rate = self.pretrain_learning_rate
        if learning_rate == "auto":
            learning_rate = auto_pretrain_learning_rate(optimizer, X, setup.comm)
        common = dict(
            epochs=self.pretrain_epochs,
            batch_size=self.batch_size,
            learning_rate=learning_rate,
            optimizer=optimizer,
            generator=setup.generator,
            device=setup.device,
            progress=setup.progress,
            comm=setup.comm,
        )
        if self.pretrain == "layerwise":
            return pretrain_layerwise(autoencoder, X, dropout=self.dropout, **common)
        return pretrain_end_to_end(
            autoencoder, X, augment=self._augmentation(), **common
        )

    # -- inference ----------------------------------------------------------

    def _log_proba(self, X):
        """Guts of predict/predict_proba: log Q; no input validation."""
        module = self.module_
        return self._map_numpy(
            lambda x: module(x)[1], X, out_dim=len(self.cluster_centers_)
        )

    def _embed(self, X):
        """Guts of transform; no input validation."""
        return self._map_numpy(
            self.module_.autoencoder.encode, X, out_dim=self.cluster_centers_.shape[1]
        )

    def _embed_and_labels(self, X):
        """Embedding and labels from one pass over ``X`` (for ``score``)."""
        module = self.module_
        latent_dim = self.cluster_centers_.shape[1]
        out = self._map_numpy(
            lambda x: torch.cat(module(x), dim=1),
            X,
            out_dim=latent_dim + len(self.cluster_centers_),
        )
        return out[:, :latent_dim], out[:, latent_dim:].argmax(axis=1)

    # -- persistence protocol (used by skdec._persist) ------------------------

    # Fitted attributes stored as arrays, and as JSON values, by ``save``.
    _saved_arrays = (
        "labels_",
        "cluster_centers_",
        "n_clusters_candidates_",
        "n_clusters_scores_",
    )
    _saved_values = (
        "n_iter_",
        "n_clusters_",
        "history_",
        "_max_abs_input_",
        "_input_scale_",
    )

    def _module_config(self):
        """JSON-able arguments from which ``_build_module`` rebuilds ``module_``."""
        autoencoder = self.module_.autoencoder
        config = {
            "n_clusters": int(self.cluster_centers_.shape[0]),
            "alpha": self.module_.alpha,
        }
        if isinstance(autoencoder, ConvAutoencoder):
            config["image_shape"] = list(autoencoder.image_shape)
            config["conv_channels"] = list(autoencoder.channels)
            config["latent_dim"] = autoencoder.latent_dim
        else:
            config["dims"] = list(autoencoder.dims)
        return config

    @classmethod
    def _build_module(cls, config):
        """An untrained ``module_`` with the architecture described by ``config``."""
        if "image_shape" in config:
            autoencoder = ConvAutoencoder(
                config["image_shape"], config["conv_channels"], config["latent_dim"]
            )
            latent_dim = config["latent_dim"]
        else:
            autoencoder = StackedAutoencoder(config["dims"])
            latent_dim = config["dims"][-1]
        centroids = torch.zeros(config["n_clusters"], latent_dim)
        return DECModule(autoencoder, centroids, config["alpha"])

    # -- scikit-learn plumbing ------------------------------------------------

    @property
    def _n_features_out(self):
        return self.cluster_centers_.shape[1]
