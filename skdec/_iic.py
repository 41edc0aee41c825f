"""The IIC estimator: validation, training loop and fitted state.

Torch modules and the objective live in :mod:`skdec._iic_nn`, perturbations
in :mod:`skdec._perturb`; this file validates the parameters, trains the
network and keeps numpy results, so no torch type crosses the public API.
"""

import time
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval

from ._base import (
    _BaseDeepClusterer,
    _check_image_shape,
    _check_widths,
    _module_device,
)
from ._iic_nn import IICBackbone, IICModule, heads_mutual_information
from ._perturb import ImagePerturbation, VectorPerturbation
from ._train import train_iic

# Seed of the perturbations drawn by ``score`` and by the final head
# selection, so that both are deterministic functions of the weights and X.
_SCORE_SEED = 0

# ---------------------------------------------------------------------------
# Estimator


class IICClusterer(_BaseDeepClusterer):
    """Invariant Information Clustering (IIC).

    IIC trains a network from scratch to output cluster probabilities
    ``Phi(x)`` (Ji, Henriques & Vedaldi, 2019). For each batch it pairs every
    sample ``x`` with a randomly perturbed copy ``x'`` and maximises the mutual
    information ``I(P) = sum P_cc' ln(P_cc' / (P_c P_c'))`` of the
    symmetrised joint distribution ``P = (1/n) sum Phi(x) Phi(x')ᵀ``. High
    mutual information needs confident assignments that the perturbation does
    not change *and* balanced clusters, so IIC neither needs k-means nor
    collapses into a single cluster.

    The network is a backbone (a small convolutional network when
    ``image_shape`` is given, a multilayer perceptron otherwise) shared by
    ``n_heads`` main heads with ``n_clusters`` outputs and ``n_heads``
    auxiliary over-clustering heads with ``overcluster_factor * n_clusters``
    outputs. Each epoch trains the over-clustering heads, then the main heads.
    The heads of a kind differ only by their initialisation; after training,
    the main head with the lowest loss on the training data (highest mutual
    information, a label-free criterion) is the one used for ``labels_``,
    ``predict``, ``predict_proba`` and ``transform``.

    Read more in the :ref:`User Guide <user_guide>`.

    Parameters
    ----------
    n_clusters : int, default=10
        Number of clusters (outputs of the main heads).

    image_shape : tuple of int or None, default=None
        ``(H, W)`` or ``(C, H, W)`` when the rows of ``X`` are images
        flattened in that order: the backbone is then convolutional and the
        default perturbation is a random affine warp plus noise. None treats
        rows as plain feature vectors.

    conv_channels : tuple of int, default=(16, 32)
        Output channels of the convolutional blocks (3x3 convolution, batch
        normalisation, ReLU, 2x2 max-pooling while the map is at least 2x2).
        Used only with ``image_shape``.

    hidden_dims : tuple of int, default=(128,)
        Widths of the fully connected layers (with batch normalisation and
        ReLU) of the backbone: on the raw features, or after the convolutional
        blocks for images.

    overcluster_factor : int or None, default=5
        The auxiliary heads have ``overcluster_factor * n_clusters`` outputs
        (the paper's over-clustering, which gives the backbone finer
        structure to learn). None trains the main heads only.

    n_heads : int, default=5
        Number of heads of each kind, differing by their initialisation (the
        paper's 5). More heads make a good head more likely, at little cost.

    max_epochs : int, default=50
        Number of training epochs; each is a pass over the data for the
        over-clustering heads and one for the main heads. IIC has no
        convergence test: ``max_epochs`` epochs run unless a callback ends
        training earlier. Larger data sets need fewer epochs (the number of
        steps is what counts).

    batch_size : int, default=64
        Samples per mini-batch (before repetition). Each batch's joint
        distribution is estimated from ``batch_size * n_repeats`` pairs, which
        should stay well above ``n_clusters``; smaller batches give more
        steps per epoch.

    learning_rate : float, default=3e-3
        Initial learning rate of Adam; it decays to 0 along a cosine over the
        training steps, which made the heads agree more at the end. The
        paper uses 1e-4 over thousands of epochs of large data sets; on
        small data far fewer steps are available.

    n_repeats : int, default=3
        Perturbed copies of each sample per batch (the paper's repeats): more
        pairs per step for a better estimate of the joint distribution.

    perturbation : callable or None, default=None
        ``perturbation(x, generator) -> x_perturbed``, taking a float32 tensor
        ``(batch, n_features)`` (images flattened) and a
        :class:`torch.Generator` on its device, from which it must draw all
        its randomness for ``random_state`` to make fits reproducible, and
        returning a tensor of the same shape. It defines what the clusters
        are invariant to. None uses, for images, random rotations (±15°),
        zooms (0.9-1.1), shears (±10°) and shifts (±10% of the size) followed
        by noise and pixel dropout (``ImagePerturbation``), and for vectors
        Gaussian noise and feature dropout (``VectorPerturbation``), with
        ``noise_std`` and ``feature_dropout``. An estimator with a callable
        here cannot be saved with :meth:`save` (pickle it instead).

    noise_std : float, default=0.1
        Standard deviation of the Gaussian noise of the default perturbation,
        in the units of ``X``.

    feature_dropout : float, default=0.1
        Probability that the default perturbation sets a feature (pixel) of
        the copy to zero.

    distributed : bool or "auto", default="auto"
        IIC does not train data-parallel yet: with "auto", ``fit`` under an
        initialised ``torch.distributed`` process group of several processes
        raises a ``ValueError`` on every rank. False trains on this
        process's rows alone.

    device : str, default="auto"
        Torch device: "auto" uses CUDA when available and the CPU otherwise;
        "cpu", "cuda" or "cuda:N" pick one.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and perturbations. The same
        value gives the same labels on the same machine. Torch's and numpy's
        global random states are neither used nor changed.

    verbose : int, default=0
        0 prints nothing; 1 or more shows a progress bar.

    callbacks : list or None, default=None
        Objects whose methods the training loops call after each record of
        ``history_`` (and when fit or a stage begins or ends), to watch
        training or end a stage early: see :class:`skdec.callbacks.Callback`.
        None calls nothing.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training sample; equal to ``predict(X)``.

    chosen_head_ : int
        Index of the main head used for predictions: the one with the highest
        mutual information (lowest loss) on the training data.

    n_iter_ : int
        Number of optimisation steps (mini-batches) run, as in
        :class:`DECClusterer`.

    n_epochs_ : int
        Number of epochs run (begun, if a callback ended one early).

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    history_ : list of dict
        One record per training pass: ``stage`` ("overcluster" or "main"),
        ``epoch``, ``loss`` (mean IIC loss ``-I(P)`` of the heads trained, over
        the epoch's batches), ``head_losses`` (one per head) and ``seconds``.
        A last record with ``stage="head_selection"`` holds ``head_losses`` of
        the main heads on all the training data after training and
        ``chosen_head``. ``pandas.DataFrame(history_)`` tabulates it.

    module_ : torch.nn.Module
        The trained network (backbone and heads). Provided for inspection;
        the public methods take and return numpy arrays.

    See Also
    --------
    skdec.DECClusterer : Deep Embedded Clustering on a pretrained autoencoder.
    sklearn.cluster.KMeans : Clustering in the input space.

    Notes
    -----
    The defaults were chosen by measurement on scikit-learn's digits as 8x8
    images (see the :ref:`design notes <design-iic>`). The main heads
    often disagree; choosing the head by its loss, without labels, usually
    picks the most accurate one.

    IIC trains from scratch and needs many pairs, so it pays off on image
    data with a meaningful perturbation. On plain feature vectors the
    perturbation is only noise and k-means is often better.

    If ``fit`` is interrupted (``KeyboardInterrupt``) or fails, the estimator
    is left exactly as it was before the call.

    Inputs are cast to float32 for the network; ``transform`` and
    ``predict_proba`` return the dtype of the input. Scale features to a
    comparable range (for example to [0, 1]) before fitting: ``noise_std`` is
    in the units of ``X``.

    References
    ----------
    X. Ji, J. F. Henriques and A. Vedaldi. "Invariant Information Clustering
    for Unsupervised Image Classification and Segmentation". ICCV 2019.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from skdec import IICClusterer
    >>> X, _ = make_blobs(n_samples=200, centers=3, n_features=5, random_state=0)
    >>> iic = IICClusterer(n_clusters=3, hidden_dims=(16,), n_heads=2,
    ...                    max_epochs=10, random_state=0)
    >>> labels = iic.fit_predict(X)
    >>> labels.shape
    (200,)
    >>> iic.predict_proba(X).shape
    (200, 3)
    >>> bool((iic.predict(X) == labels).all())
    True
    """

    _parameter_constraints: dict = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "image_shape": ["array-like", None],
        "conv_channels": ["array-like"],
        "hidden_dims": ["array-like"],
        "overcluster_factor": [Interval(Integral, 1, None, closed="left"), None],
        "n_heads": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 2, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "n_repeats": [Interval(Integral, 1, None, closed="left")],
        "perturbation": [callable, None],
        "noise_std": [Interval(Real, 0, None, closed="left")],
        "feature_dropout": [Interval(Real, 0, 1, closed="left")],
        **_BaseDeepClusterer._parameter_constraints,
    }

    def __init__(
        self,
        n_clusters=10,
        *,
        image_shape=None,
        conv_channels=(16, 32),
        hidden_dims=(128,),
        overcluster_factor=5,
        n_heads=5,
        max_epochs=50,
        batch_size=64,
        learning_rate=3e-3,
        n_repeats=3,
        perturbation=None,
        noise_std=0.1,
        feature_dropout=0.1,
        distributed="auto",
        device="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
    ):
        self.n_clusters = n_clusters
        self.image_shape = image_shape
        self.conv_channels = conv_channels
        self.hidden_dims = hidden_dims
        self.overcluster_factor = overcluster_factor
        self.n_heads = n_heads
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.n_repeats = n_repeats
        self.perturbation = perturbation
        self.noise_std = noise_std
        self.feature_dropout = feature_dropout
        self.distributed = distributed
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    # -- fitting ------------------------------------------------------------

    def _fit(self, X, setup):
        """Guts of fit on the training tensor ``X``; parameters are valid."""
        if setup.comm.world_size > 1:
            # Raised on every rank alike, so none waits for the others.
            raise ValueError(
                "IICClusterer does not train data-parallel: a torch.distributed "
                "process group is initialised. Pass distributed=False to train "
                "on this process's rows alone, or use DECClusterer."
            )
        image_shape = _check_image_shape(self.image_shape, X.shape[1])
        module_config = {
            "n_features": X.shape[1],
            "image_shape": None if image_shape is None else list(image_shape),
            "conv_channels": list(_check_widths(self.conv_channels, "conv_channels")),
            "hidden_dims": list(_check_widths(self.hidden_dims, "hidden_dims")),
            "n_clusters": self.n_clusters,
            "n_overclusters": (
                None
                if self.overcluster_factor is None
                else self.overcluster_factor * self.n_clusters
            ),
            "n_heads": self.n_heads,
        }
        device = setup.device
        module = self._build_module(module_config, generator=setup.init_generator)
        module = module.to(device)
        perturb = self._perturbation()
        outcome = train_iic(
            module,
            X,
            perturb=perturb,
            n_repeats=self.n_repeats,
            epochs=self.max_epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            generator=setup.generator,
            device=device,
            progress=setup.progress,
            hooks=setup.hooks,
        )
        # Label-free choice of the reported head: lowest loss on the data.
        start = time.perf_counter()
        head_losses = -heads_mutual_information(
            module,
            X,
            perturb=perturb,
            n_repeats=self.n_repeats,
            seed=_SCORE_SEED,
            device=device,
        )
        chosen_head = int(np.argmin(head_losses))
        record = {
            "stage": "head_selection",
            "epoch": outcome.n_epochs,
            "loss": float(head_losses[chosen_head]),
            "head_losses": head_losses.tolist(),
            "chosen_head": chosen_head,
            "seconds": time.perf_counter() - start,
        }
        setup.hooks.record(record, module=module)

        self.module_ = module
        self.chosen_head_ = chosen_head
        self.history_ = setup.hooks.history
        self.n_iter_ = outcome.n_iter
        self.n_epochs_ = outcome.n_epochs
        return self

    def _perturbation(self):
        """The user's perturbation, or the default one built from the params."""
        if self.perturbation is not None:
            return self.perturbation
        if self.image_shape is not None:
            return ImagePerturbation(
                tuple(self.image_shape),
                noise_std=self.noise_std,
                feature_dropout=self.feature_dropout,
            )
        return VectorPerturbation(
            noise_std=self.noise_std, feature_dropout=self.feature_dropout
        )

    # -- inference ----------------------------------------------------------

    def _log_proba(self, X):
        """Guts of predict/predict_proba/transform; no input validation."""
        module = self.module_.eval()
        head = self.chosen_head_
        return self._map_numpy(
            lambda x: module(x, head), X, out_dim=self._n_features_out
        )

    def _embed(self, X):
        """Guts of transform: the chosen head's probabilities."""
        return self._proba(X)

    def _embed_and_labels(self, X):
        proba = self._proba(X)
        return proba, proba.argmax(axis=1)

    def mutual_information(self, X):
        """Mutual information of the chosen head on ``X``: IIC's objective.

        ``I(P)`` in nats, with ``P`` accumulated over all of ``X`` and its
        copies perturbed as in training (``n_repeats`` per sample), drawn
        from a fixed seed so the value is deterministic. It lies in
        ``[0, ln n_clusters]``: high when the assignments are confident,
        balanced and unchanged by the perturbation. Unlike :meth:`score`, it
        is not comparable across different ``n_clusters``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to evaluate.

        Returns
        -------
        mi : float
            Mutual information ``I(P)``.
        """
        X = self._validate_for_inference(X)
        module = self.module_
        device = _module_device(module)
        mi = heads_mutual_information(
            module,
            self._rows(X),
            perturb=self._perturbation(),
            n_repeats=self.n_repeats,
            seed=_SCORE_SEED,
            device=device,
        )
        return float(mi[self.chosen_head_])

    # -- persistence protocol (used by skdec._persist) ------------------------

    # Fitted attributes stored as arrays, and as JSON values, by ``save``.
    _saved_arrays = ("labels_",)
    _saved_values = (
        *_BaseDeepClusterer._saved_values,
        "chosen_head_",
        "n_epochs_",
    )

    def _module_config(self):
        """JSON-able arguments from which ``_build_module`` rebuilds ``module_``."""
        module = self.module_
        backbone = module.backbone
        overcluster_heads = module.overcluster_heads
        return {
            "n_features": backbone.n_features,
            "image_shape": (
                None if backbone.image_shape is None else list(backbone.image_shape)
            ),
            "conv_channels": list(backbone.conv_channels),
            "hidden_dims": list(backbone.hidden_dims),
            "n_clusters": module.main_heads[0].out_features,
            "n_overclusters": (
                overcluster_heads[0].out_features if len(overcluster_heads) else None
            ),
            "n_heads": len(module.main_heads),
        }

    @classmethod
    def _build_module(cls, config, generator=None):
        """A ``module_`` with the architecture described by ``config``.

        Without ``generator`` the weights are left uninitialised, for loading
        a state into; the module is in evaluation mode.
        """
        backbone = IICBackbone(
            config["n_features"],
            image_shape=config["image_shape"],
            conv_channels=config["conv_channels"],
            hidden_dims=config["hidden_dims"],
            generator=generator,
        )
        module = IICModule(
            backbone,
            config["n_clusters"],
            config["n_overclusters"],
            config["n_heads"],
            generator=generator,
        )
        return module.eval()

    # -- scikit-learn plumbing ------------------------------------------------

    @property
    def _n_features_out(self):
        return self.module_.main_heads[0].out_features
