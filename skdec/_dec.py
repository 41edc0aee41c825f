"""The DEC estimator: validation, orchestration and fitted state.

The torch modules live in :mod:`skdec._nn`, the loops in :mod:`skdec._train`
and the starts of the clustering stage in :mod:`skdec._starts`; this file
only validates, wires them together and keeps numpy results, so no torch
type crosses the public API.
"""

import copy
import time
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import (
    _BaseDeepClusterer,
    _check_image_shape,
    _check_widths,
    _seed,
    check_finite_weights,
)
from ._batching import map_batches
from ._networks import (
    augmentation,
    build_autoencoder,
    build_dec_module,
    dec_module_config,
)
from ._nn import DECModule
from ._select_k import (
    CRITERIA,
    check_n_clusters_range,
    search_by_clustering,
    select_n_clusters,
)
from ._silhouette import capped_silhouette
from ._starts import (
    START_TARGET_REFRESHES,
    Start,
    check_init_array,
    init_record,
    initial_embedding,
    kmeans_sample,
    on_main,
    place_start,
)
from ._train import auto_pretrain_learning_rate, pretrain, train_clustering

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

    callbacks : list or None, default=None
        Objects whose methods the training loops call after each record of
        ``history_`` (and when fit or a stage begins or ends), to watch
        training or end a stage early: see :class:`skdec.callbacks.Callback`.
        None calls nothing.

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
        callbacks=None,
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
        self.callbacks = callbacks

    # -- fitting ------------------------------------------------------------

    def _check_fit_data(self, X, n_samples):
        if not isinstance(self.init, str):
            check_init_array(self.init, self.n_clusters, self.latent_dim)
        if self.n_clusters == "auto":
            check_n_clusters_range(self.n_clusters_range, n_samples)
        elif isinstance(self.n_clusters, bool):
            raise TypeError(f"n_clusters must be an int, got {self.n_clusters!r}.")
        super()._check_fit_data(X, n_samples)
        if self.augment and self.image_shape is None:
            raise ValueError("augment=True transforms images: give their image_shape.")
        if self.image_shape is not None and self.conv_channels is not None:
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

    def _augmentation(self):
        """DEC-DA's random shifts and rotations, or None without ``augment``."""
        return augmentation(self.image_shape) if self.augment else None

    def _fit(self, X, setup):
        """Guts of fit on the training tensor ``X``; parameters are valid."""
        comm, hooks = setup.comm, setup.hooks
        searching = self.n_clusters == "auto" and self.n_clusters_search != "kmeans"
        if comm.world_size > 1 and searching:
            raise ValueError(
                "n_clusters_search='clustering' does not run data-parallel; "
                "use n_clusters_search='kmeans' or distributed=False."
            )
        autoencoder = build_autoencoder(
            X.shape[1],
            hidden_dims=_check_widths(self.hidden_dims, "hidden_dims"),
            latent_dim=self.latent_dim,
            image_shape=_check_image_shape(self.image_shape, X.shape[1]),
            conv_channels=self.conv_channels,
            generator=setup.init_generator,
        ).to(setup.device)
        # One model: every rank starts from rank 0's weights.
        comm.broadcast_module(autoencoder)
        self._pretrain(autoencoder, X, setup)
        check_finite_weights(autoencoder, "pretraining")

        started = time.perf_counter()
        embedding = initial_embedding(
            autoencoder,
            X,
            device=setup.device,
            comm=comm,
            embedding_scale=self.embedding_scale,
        )
        if searching:
            candidates = check_n_clusters_range(self.n_clusters_range, len(X))
            outcome, scores = self._search(autoencoder, embedding, candidates, X, setup)
        else:
            candidates, scores, start = self._start(embedding, setup)
            hooks.record(
                init_record(embedding, start.centers, started, comm),
                embedding=embedding,
                centers=start.centers,
                posterior=start.posterior,
            )
            outcome = self._cluster(autoencoder, start, X, setup)

        module = outcome.module
        self.module_ = module
        self.history_ = hooks.history
        self.n_iter_ = outcome.n_iter
        self.n_clusters_ = int(len(module.centroids))
        self.n_clusters_candidates_ = np.asarray(candidates)
        self.n_clusters_scores_ = np.asarray(scores, dtype=float)
        self.cluster_centers_ = module.centroids.detach().cpu().numpy().copy()
        return self

    def _start(self, embedding, setup):
        """Start of the clustering stage: ``(candidates, scores, Start)``.

        With an int ``n_clusters``, the start ``init`` names; with "auto"
        (``n_clusters_search="kmeans"``), the k-means centroids of the
        candidate chosen by ``n_clusters_criterion``.
        """
        comm = setup.comm
        seed = _seed(setup.rng)
        sample = kmeans_sample(embedding, seed, comm)
        if self.n_clusters != "auto":
            start = on_main(
                comm,
                place_start,
                self.init,
                sample,
                self.n_clusters,
                n_init=self.n_init,
                seed=seed,
            )
            if comm.world_size > 1 or len(sample) < len(embedding):
                # The partition covers the sampled rows only: start from the
                # centroids alone.
                start = Start(start.centers)
            return [self.n_clusters], [np.nan], start
        n_samples = int(comm.sum(len(embedding)))
        candidates = check_n_clusters_range(self.n_clusters_range, n_samples)
        _, scores, centers = on_main(
            comm,
            select_n_clusters,
            sample,
            candidates,
            criterion=self.n_clusters_criterion,
            n_init=self.n_init,
            random_state=seed,
        )
        return candidates, [scores[k] for k in candidates], Start(centers)

    def _cluster(self, autoencoder, start, X, setup, *, generator=None, hooks=None):
        """DEC's clustering stage from ``start``: a ``ClusteringOutcome``.

        With the start's partition (``start.posterior``), the first
        ``START_TARGET_REFRESHES * update_interval`` steps learn it before
        DEC's own target takes over. ``generator`` and ``hooks`` default to
        the fit's.
        """
        module = DECModule(autoencoder, start.centers, self.alpha).to(setup.device)
        start_target = start.posterior
        if start_target is not None:
            start_target = torch.as_tensor(start_target, device=setup.device)
        outcome = train_clustering(
            module,
            X,
            max_iter=self.max_iter,
            update_interval=self.update_interval,
            tol=self.tol,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            generator=setup.generator if generator is None else generator,
            device=setup.device,
            comm=setup.comm,
            hooks=setup.hooks if hooks is None else hooks,
            gamma=self._reconstruction_gamma(),
            progress=setup.progress,
            augment=self._augmentation(),
            start_target=start_target,
            start_steps=START_TARGET_REFRESHES * self.update_interval,
        )
        check_finite_weights(module, "clustering")
        if setup.comm.is_main and not outcome.converged and self.max_iter > 0:
            warnings.warn(
                f"{type(self).__name__} stopped after max_iter={self.max_iter} "
                f"steps before fewer than tol={self.tol} of the labels changed "
                "between refreshes; increase max_iter or tol.",
                ConvergenceWarning,
            )
        return outcome

    def _search(self, autoencoder, embedding, candidates, X, setup):
        """``n_clusters_search="clustering"``: ``(outcome, scores)`` of the best.

        Every candidate runs a clustering stage from a copy of the pretrained
        autoencoder; :func:`skdec._select_k.search_by_clustering` scores them
        by :meth:`score`'s silhouette on the training data.
        """
        device = setup.device

        def run_stage(centers, batch_seed, hooks):
            generator = torch.Generator(device=device).manual_seed(batch_seed)
            with warnings.catch_warnings():
                # A candidate that does not converge is no reason to warn.
                warnings.simplefilter("ignore", ConvergenceWarning)
                return self._cluster(
                    copy.deepcopy(autoencoder),
                    Start(centers),
                    X,
                    setup,
                    generator=generator,
                    hooks=hooks,
                )

        def silhouette(module):
            out = map_batches(lambda x: torch.cat(module(x), dim=1), X, device=device)
            out = out.cpu().numpy()
            latent_dim = module.centroids.shape[1]
            labels = out[:, latent_dim:].argmax(axis=1)
            return capped_silhouette(out[:, :latent_dim], labels)

        return search_by_clustering(
            embedding,
            candidates,
            run_stage=run_stage,
            score=silhouette,
            n_init=self.n_init,
            rng=setup.rng,
            hooks=setup.hooks,
        )

    def _reconstruction_gamma(self):
        """Weight of KL against reconstruction; None trains DEC's KL alone."""
        return None

    def _pretrain(self, autoencoder, X, setup):
        if self.pretrain is None or self.pretrain_epochs == 0:
            return
        optimizer = self.pretrain_optimizer
        if optimizer == "auto":
            optimizer = "adam" if setup.low_power else "sgd"
        learning_rate = self.pretrain_learning_rate
        if learning_rate == "auto":
            learning_rate = auto_pretrain_learning_rate(optimizer, X, setup.comm)
        pretrain(
            autoencoder,
            X,
            method=self.pretrain,
            epochs=self.pretrain_epochs,
            batch_size=self.batch_size,
            learning_rate=learning_rate,
            optimizer=optimizer,
            dropout=self.dropout,
            generator=setup.generator,
            device=setup.device,
            progress=setup.progress,
            comm=setup.comm,
            hooks=setup.hooks,
            augment=self._augmentation(),
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
    _saved_values = (*_BaseDeepClusterer._saved_values, "n_clusters_")

    def _module_config(self):
        return dec_module_config(self.module_)

    @classmethod
    def _build_module(cls, config):
        return build_dec_module(config)

    # -- scikit-learn plumbing ------------------------------------------------

    @property
    def _n_features_out(self):
        return self.cluster_centers_.shape[1]
