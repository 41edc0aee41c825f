"""The DEC estimator: validation, orchestration and fitted state.

The torch modules live in :mod:`skdec._nn` and the loops in
:mod:`skdec._train`; this file only validates, wires them together and keeps
numpy results, so no torch type crosses the public API.
"""

import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

from ._base import TorchClusterMixin, _module_device, _seed
from ._device import resolve_device, to_training_tensor
from ._nn import DECModule, StackedAutoencoder, target_distribution
from ._select_k import CRITERIA, select_n_clusters
from ._train import (
    auto_pretrain_learning_rate,
    map_batches,
    map_batches_numpy,
    pretrain_end_to_end,
    pretrain_layerwise,
    train_clustering,
)

# ---------------------------------------------------------------------------
# Helpers


def _embedding_spread(embedding):
    """Root mean squared distance of the embedded points to their mean."""
    centred = embedding - embedding.mean(dim=0)
    return float(centred.pow(2).sum(dim=1).mean().sqrt())


def _check_hidden_dims(hidden_dims):
    """``hidden_dims`` as a tuple of positive ints, or a ``ValueError``."""
    try:
        dims = tuple(hidden_dims)
    except TypeError:
        raise TypeError(
            f"hidden_dims must be a sequence of positive integers, got {hidden_dims!r}."
        ) from None
    for width in dims:
        if not isinstance(width, Integral) or isinstance(width, bool):
            raise TypeError(
                f"hidden_dims must contain integers, got {width!r} in {dims!r}."
            )
        if width < 1:
            raise ValueError(
                f"hidden_dims must contain positive widths, got {width} in {dims!r}."
            )
    return tuple(int(width) for width in dims)


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


def _check_finite_weights(module, stage):
    """Stop with advice when training left non-finite weights.

    The loops check the loss once per epoch or target refresh, so a step taken
    after the last check can diverge unnoticed.
    """
    for name, weight in module.named_parameters():
        if not torch.isfinite(weight).all():
            raise FloatingPointError(
                f"The weight {name!r} became non-finite during {stage}. The "
                "learning rate is probably too high or the input is badly "
                "scaled: lower learning_rate/pretrain_learning_rate or scale X "
                "(e.g. MinMaxScaler)."
            )


def _check_finite_output(values, X):
    """``values`` computed from ``X``, or a ``ValueError`` if any is not finite."""
    if not np.isfinite(values).all():
        # Reductions only: np.abs(X) would copy the whole input.
        largest = max(abs(float(X.max())), abs(float(X.min())))
        raise ValueError(
            "The network produced non-finite values: X holds values far outside "
            f"the range seen during fit (largest magnitude {largest:.3g}). Scale "
            "X as the training data was scaled."
        )
    return values


# ---------------------------------------------------------------------------
# Estimator


class DECClusterer(
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
    TorchClusterMixin,
    BaseEstimator,
):
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
        is tried by k-means on the embedding of the one pretrained
        autoencoder and the best by the label-free ``n_clusters_criterion``
        is kept, so the search costs little more than one fit.

    n_clusters_range : tuple of int, default=(2, 20)
        Smallest and largest number of clusters tried when
        ``n_clusters="auto"``; ignored otherwise.

    n_clusters_criterion : {"davies_bouldin", "silhouette", \
"calinski_harabasz", "stability", "prediction_strength", \
"generalisability"}, default="davies_bouldin"
        How ``n_clusters="auto"`` scores the candidates; ignored otherwise.
        The default was chosen by measurement on embeddings of the default
        pretraining (``benchmarks/choosing_k.md``): the Davies-Bouldin index
        came within 1 of the true number of clusters most often and picked
        9 to 10 on digits for every seed. "prediction_strength" and
        "calinski_harabasz" are exact when the embedding separates the
        clusters cleanly, but fail on digits. The criteria are described in
        the :ref:`User Guide <choosing_k>`.

    hidden_dims : tuple of int, default=(500, 500, 2000)
        Widths of the encoder's hidden layers; the decoder mirrors them. The
        default is the paper's ``d-500-500-2000-10`` network.

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
        encoder. The default is measured: on digits, autoencoder + k-means
        reached ACC 0.79-0.80 over three seeds after 100 end-to-end epochs of
        Adam, but 0.64-0.71 after layer-wise pretraining with 100 epochs per
        stage, whose lower reconstruction error came with a worse embedding;
        with SGD, DEC's mean ACC over six seeds was 0.828 layer-wise against
        0.840 end to end, for about twice the time (see
        ``benchmarks/README.md``).

    pretrain_epochs : int, default=200
        Epochs of each pretraining stage (each layer-wise pair and the
        fine-tuning). The paper counts 50k iterations per layer on MNIST;
        on digits, 200 epochs of SGD gave a better embedding than 100.

    dropout : float, default=0.2
        Corruption rate of the denoising autoencoders in layer-wise
        pretraining (the paper's 0.2). Unused otherwise.

    max_iter : int, default=2000
        Maximum number of optimisation steps (mini-batches) of the clustering
        stage. ``max_iter=0`` stops after the k-means initialisation, which
        gives "autoencoder + k-means".

    update_interval : int, default=30
        Steps between two refreshes of the target distribution ``P`` on the
        whole data set. DEC-keras uses 140 on MNIST and 30 on smaller sets;
        on digits 30 gave the higher accuracy (0.838 against 0.821, mean of
        three seeds).

    tol : float, default=1e-3
        Stop when the fraction of labels that changed between two refreshes
        is below ``tol`` (the paper's 0.1%).

    batch_size : int, default=256
        Mini-batch size of all training stages (the paper's 256).

    learning_rate : float, default=0.01
        Learning rate of the clustering stage (SGD with momentum 0.9, as in
        the paper).

    pretrain_optimizer : {"sgd", "adam"}, default="sgd"
        Optimiser of pretraining: SGD with momentum 0.9 (the paper's and
        DEC-keras' choice; its gradient norm is clipped at 1 so unscaled
        data cannot make it diverge) or Adam. On digits, SGD gave the better
        embedding for clustering (see ``benchmarks/README.md``).

    pretrain_learning_rate : float or "auto", default="auto"
        Learning rate of pretraining. "auto" is 1e-3 for Adam and, for SGD,
        DEC-keras' 1.0 lowered to ``0.25 / mean(X ** 2)`` when that is
        smaller: 1.0 for images scaled to [0, 1], 0.25 for standardised
        data (the squared error's gradient grows with the data's power, and
        the rate 1.0 collapsed the embedding of standardised data). On
        digits, 0.5 made DEC's results far steadier across seeds (ACC
        standard deviation 0.007 against 0.034 over twelve seeds) at the
        same mean ACC (0.835 against 0.838).

    embedding_scale : float or None, default=5.0
        After pretraining, the embedding is rescaled so that its points lie
        at a root mean squared distance ``embedding_scale`` from their mean;
        the autoencoder's reconstruction is unchanged (the decoder absorbs
        the factor). The Student's t kernel is not scale-invariant, so
        without this the clustering stage behaves differently depending on
        the arbitrary scale the autoencoder happened to learn. None keeps
        the learned scale.

    n_init : int, default=20
        Number of k-means restarts on the embedding (the paper's 20).

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
        ``n_clusters_candidates_``; NaN when ``n_clusters`` is an int.

    n_iter_ : int
        Optimisation steps run in the clustering stage.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    history_ : list of dict
        One record per pretraining epoch (``stage``, ``epoch``, ``loss``) and
        per target refresh of the clustering stage (``stage="clustering"``,
        ``iteration``, ``kl``, ``delta_label``). ``pandas.DataFrame(history_)``
        tabulates it.

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
        "hidden_dims": ["array-like"],
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
        "pretrain_optimizer": [StrOptions({"sgd", "adam"})],
        "pretrain_learning_rate": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
        "embedding_scale": [Interval(Real, 0, None, closed="neither"), None],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        n_clusters_range=(2, 20),
        n_clusters_criterion="davies_bouldin",
        hidden_dims=(500, 500, 2000),
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
        pretrain_optimizer="sgd",
        pretrain_learning_rate="auto",
        embedding_scale=5.0,
        n_init=20,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.n_clusters = n_clusters
        self.n_clusters_range = n_clusters_range
        self.n_clusters_criterion = n_clusters_criterion
        self.hidden_dims = hidden_dims
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
        self.n_init = n_init
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # -- fitting ------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Pretrain the autoencoder, initialise centroids and run DEC.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        return self._fit_or_restore(X)

    def _fit(self, X):
        X = validate_data(self, X, dtype=[np.float32, np.float64])
        if self.n_clusters == "auto":
            candidates = _check_n_clusters_range(self.n_clusters_range, X.shape[0])
        elif isinstance(self.n_clusters, bool):
            raise TypeError(f"n_clusters must be an int, got {self.n_clusters!r}.")
        elif X.shape[0] < self.n_clusters:
            raise ValueError(
                f"n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}."
            )
        hidden_dims = _check_hidden_dims(self.hidden_dims)
        device = resolve_device(self.device)
        rng = check_random_state(self.random_state)
        init_generator = torch.Generator().manual_seed(_seed(rng))
        generator = torch.Generator(device=device).manual_seed(_seed(rng))
        progress = bool(self.verbose)

        X_train = to_training_tensor(X, device)
        dims = (X.shape[1], *hidden_dims, self.latent_dim)
        autoencoder = StackedAutoencoder(dims, generator=init_generator).to(device)
        history = self._pretrain(autoencoder, X_train, generator, device, progress)
        _check_finite_weights(autoencoder, "pretraining")

        embedding = map_batches(autoencoder.encode, X_train, device=device)
        if self.embedding_scale is not None:
            spread = _embedding_spread(embedding)
            if spread > 0:
                autoencoder.rescale_embedding(self.embedding_scale / spread)
                # Re-embed rather than multiply: the same computation as
                # transform, so k-means sees exactly what inference produces.
                embedding = map_batches(autoencoder.encode, X_train, device=device)
        embedding = embedding.cpu().numpy()
        if self.n_clusters == "auto":
            n_clusters, scores, centers = select_n_clusters(
                embedding,
                candidates,
                criterion=self.n_clusters_criterion,
                n_init=self.n_init,
                random_state=_seed(rng),
            )
            scores = [scores[k] for k in candidates]
        else:
            n_clusters, scores = self.n_clusters, [np.nan]
            candidates = [n_clusters]
            kmeans = KMeans(n_clusters, n_init=self.n_init, random_state=_seed(rng))
            centers = kmeans.fit(embedding).cluster_centers_

        module = DECModule(autoencoder, centers, self.alpha).to(device)
        n_iter, converged, clustering_history = train_clustering(
            module,
            X_train,
            max_iter=self.max_iter,
            update_interval=self.update_interval,
            tol=self.tol,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            generator=generator,
            device=device,
            gamma=self._reconstruction_gamma(),
            progress=progress,
        )
        _check_finite_weights(module, "clustering")
        if not converged and self.max_iter > 0:
            warnings.warn(
                f"{type(self).__name__} stopped after max_iter={self.max_iter} "
                f"steps before fewer than tol={self.tol} of the labels changed "
                "between refreshes; increase max_iter or tol.",
                ConvergenceWarning,
            )

        self.module_ = module
        self.history_ = history + clustering_history
        self.n_iter_ = n_iter
        self.n_clusters_ = int(n_clusters)
        self.n_clusters_candidates_ = np.asarray(candidates)
        self.n_clusters_scores_ = np.asarray(scores, dtype=float)
        self.cluster_centers_ = module.centroids.detach().cpu().numpy().copy()
        self.labels_ = self._log_soft_assignment(X).argmax(axis=1)
        return self

    def _reconstruction_gamma(self):
        """Weight of KL against reconstruction; None trains DEC's KL alone."""
        return None

    def _pretrain(self, autoencoder, X, generator, device, progress):
        if self.pretrain is None or self.pretrain_epochs == 0:
            return []
        learning_rate = self.pretrain_learning_rate
        if learning_rate == "auto":
            learning_rate = auto_pretrain_learning_rate(self.pretrain_optimizer, X)
        common = dict(
            epochs=self.pretrain_epochs,
            batch_size=self.batch_size,
            learning_rate=learning_rate,
            optimizer=self.pretrain_optimizer,
            generator=generator,
            device=device,
            progress=progress,
        )
        if self.pretrain == "layerwise":
            return pretrain_layerwise(autoencoder, X, dropout=self.dropout, **common)
        return pretrain_end_to_end(autoencoder, X, **common)

    # -- inference ----------------------------------------------------------

    def _log_soft_assignment(self, X):
        """Guts of predict/predict_proba; no input validation."""
        module = self.module_
        log_q = map_batches_numpy(
            lambda x: module(x)[1],
            X,
            device=_module_device(module),
            out_dim=len(self.cluster_centers_),
        )
        return _check_finite_output(log_q, X)

    def _embed(self, X):
        """Guts of transform; no input validation."""
        module = self.module_
        embedding = map_batches_numpy(
            module.autoencoder.encode,
            X,
            device=_module_device(module),
            out_dim=self.cluster_centers_.shape[1],
        )
        return _check_finite_output(embedding, X)

    def predict(self, X):
        """Assign each sample to the cluster of highest soft assignment.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to cluster.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster index of each sample.
        """
        X = self._validate_for_inference(X)
        return self._log_soft_assignment(X).argmax(axis=1)

    def predict_proba(self, X):
        """Soft assignment ``Q`` of each sample to each cluster.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to cluster.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_clusters)
            Student's t soft assignment; each row sums to 1.
        """
        X = self._validate_for_inference(X)
        proba = np.exp(self._log_soft_assignment(X))
        proba /= proba.sum(axis=1, keepdims=True)
        return proba.astype(X.dtype, copy=False)

    def transform(self, X):
        """Embed ``X`` with the trained encoder.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to embed.

        Returns
        -------
        X_new : ndarray of shape (n_samples, latent_dim)
            Embedding in which the clusters are formed.
        """
        X = self._validate_for_inference(X)
        return self._embed(X).astype(X.dtype, copy=False)

    def score(self, X, y=None):
        """Negative KL divergence ``-KL(P || Q)`` of ``X`` (higher is better).

        ``Q`` is the soft assignment of ``X`` and ``P`` its sharpened target,
        so the score is DEC's own objective: it is 0 when every sample is
        assigned to one cluster with certainty. It is label-free and is not
        comparable across different ``n_clusters``; for choosing
        ``n_clusters`` use the scorers of :mod:`skdec.metrics`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        score : float
            ``-KL(P || Q)``, averaged over samples.
        """
        X = self._validate_for_inference(X)
        log_q = torch.from_numpy(self._log_soft_assignment(X)).double()
        p = target_distribution(log_q.exp())
        kl = torch.nn.functional.kl_div(log_q, p, reduction="batchmean")
        return -float(kl)

    # -- persistence protocol (used by skdec._persist) ------------------------

    # Fitted attributes stored as arrays, and as JSON values, by ``save``.
    _saved_arrays = (
        "labels_",
        "cluster_centers_",
        "n_clusters_candidates_",
        "n_clusters_scores_",
    )
    _saved_values = ("n_iter_", "n_clusters_", "history_")

    def _module_config(self):
        """JSON-able arguments from which ``_build_module`` rebuilds ``module_``."""
        return {
            "dims": list(self.module_.autoencoder.dims),
            "n_clusters": int(self.cluster_centers_.shape[0]),
            "alpha": self.module_.alpha,
        }

    @classmethod
    def _build_module(cls, config):
        """An untrained ``module_`` with the architecture described by ``config``."""
        autoencoder = StackedAutoencoder(config["dims"])
        centroids = torch.zeros(config["n_clusters"], config["dims"][-1])
        return DECModule(autoencoder, centroids, config["alpha"])

    # -- scikit-learn plumbing ------------------------------------------------

    @property
    def _n_features_out(self):
        return self.cluster_centers_.shape[1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
