"""The IIC estimator: validation, training loop and fitted state.

Torch modules and the objective live in :mod:`skdec._iic_nn`, perturbations
in :mod:`skdec._perturb`; this file validates the parameters, trains the
network and keeps numpy results, so no torch type crosses the public API.
"""

import time
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval

from ._base import _BaseDeepClusterer, _module_device
from ._iic_nn import IICModule, heads_mutual_information
from ._networks import (
    build_iic_backbone,
    check_backbone,
    iic_backbone,
    iic_backbone_config,
    module_params,
)
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

    The network is a backbone (:class:`skdec.networks.IICBackbone`: a small
    convolutional network when ``module__image_shape`` is given, a
    multilayer perceptron otherwise) shared by
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

    module : torch.nn.Module class or instance, default=None
        The backbone the heads share: any ``torch.nn.Module`` whose output
        is the features the heads read, with their width as the attribute
        ``out_dim``. None is :class:`skdec.networks.IICBackbone`, whose
        parameters are this estimator's as ``module__image_shape`` (the
        rows are images of that shape: the backbone is convolutional and the
        default perturbation warps them), ``module__conv_channels`` and
        ``module__hidden_dims``. A class is built in every fit as
        ``module(n_features=..., **module__params)``; an instance is copied.
        See :ref:`user_module`.

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
        training steps (:ref:`design-iic-schedule`).

    n_repeats : int, default=3
        Perturbed copies of each sample per batch (the paper's repeats): more
        pairs per step for a better estimate of the joint distribution.

    perturbation : callable or None, default=None
        ``perturbation(x, generator) -> x_perturbed``, taking a float32 tensor
        ``(batch, n_features)`` (images flattened) and a
        :class:`torch.Generator` on its device, from which it must draw all
        its randomness for ``random_state`` to make fits reproducible, and
        returning a tensor of the same shape. It defines what the clusters
        are invariant to. None uses, for images (a backbone with an
        ``image_shape``), random rotations (±15°), zooms (0.9-1.1), shears
        (±10°) and shifts (±10% of the size) followed by noise and pixel
        dropout (``ImagePerturbation``), and for vectors Gaussian noise and
        feature dropout (``VectorPerturbation``), with ``noise_std`` and
        ``feature_dropout``. An estimator with a callable here cannot be
        saved with :meth:`save` (pickle it instead).

    noise_std : float, default=0.1
        Standard deviation of the Gaussian noise of the default perturbation,
        in the units of ``X``; a callable ``perturbation`` refuses another
        value.

    feature_dropout : float, default=0.1
        Probability that the default perturbation sets a feature (pixel) of
        the copy to zero; a callable ``perturbation`` refuses another value.

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

    callbacks : list or None, default=None
        Objects whose methods the training loops call after each record of
        ``history_`` (and when fit or a stage begins or ends), to watch
        training or end a stage early: see :class:`skdec.callbacks.Callback`.
        :class:`skdec.callbacks.ProgressBar` shows a progress bar. None
        calls nothing.

    **module__params
        Parameters of the ``module`` class, as ``module__<name>``.

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
    >>> iic = IICClusterer(n_clusters=3, module__hidden_dims=(16,), n_heads=2,
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
        # Checked in fit: a class or an instance of nn.Module.
        "module": "no_validation",
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
        module=None,
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
        callbacks=None,
        **module__params,
    ):
        self.n_clusters = n_clusters
        self.module = module
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
        self.callbacks = callbacks
        self._set_module_params(module__params)

    # -- fitting ------------------------------------------------------------

    def _check_fit_data(self, X, n_samples):
        candidates = super()._check_fit_data(X, n_samples)
        check_backbone(self.module, module_params(self))
        changed = self._changed_params()
        if self.perturbation is not None:
            given = [n for n in ("noise_std", "feature_dropout") if n in changed]
            if given:
                raise ValueError(
                    f"{' and '.join(given)} set the default perturbation, but "
                    "perturbation is your callable: drop them, or build them "
                    "into the callable."
                )
        if self.max_epochs == 0:
            self._warn_unused(
                [
                    (
                        [n for n in ("learning_rate", "batch_size") if n in changed],
                        "max_epochs=0 trains nothing",
                    )
                ]
            )
        return candidates

    def _network(self, n_features, setup):
        """The backbone and its heads, freshly initialised."""
        backbone = iic_backbone(
            self.module, n_features, module_params(self), setup.init_generator
        )
        n_overclusters = (
            None
            if self.overcluster_factor is None
            else self.overcluster_factor * self.n_clusters
        )
        return IICModule(
            backbone,
            self.n_clusters,
            n_overclusters,
            self.n_heads,
            generator=setup.init_generator,
        )

    def _fit(self, X, network, setup):
        """Guts of fit: train ``network`` on the training tensor ``X``."""
        if setup.comm.world_size > 1:
            # Raised on every rank alike, so none waits for the others.
            raise ValueError(
                "IICClusterer does not train data-parallel: a torch.distributed "
                "process group is initialised. Pass distributed=False to train "
                "on this process's rows alone, or use DECClusterer."
            )
        device = setup.device
        module = network.eval().to(device)
        perturb = self._perturbation(module.backbone)
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

    def _perturbation(self, backbone):
        """The user's perturbation, or the default one for ``backbone``'s rows."""
        if self.perturbation is not None:
            return self.perturbation
        image_shape = getattr(backbone, "image_shape", None)
        if image_shape is not None:
            return ImagePerturbation(
                tuple(image_shape),
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
            perturb=self._perturbation(module.backbone),
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
        overcluster_heads = module.overcluster_heads
        user = {"n_features": int(self.n_features_in_), "params": module_params(self)}
        return {
            **iic_backbone_config(module.backbone, user),
            "n_clusters": module.main_heads[0].out_features,
            "n_overclusters": (
                overcluster_heads[0].out_features if len(overcluster_heads) else None
            ),
            "n_heads": len(module.main_heads),
        }

    @classmethod
    def _build_module(cls, config, module=None):
        """An untrained ``module_`` with the architecture ``config`` describes,
        in evaluation mode; a user's backbone comes from ``module``."""
        backbone = build_iic_backbone(config, module)
        with torch.random.fork_rng(devices=[]):
            network = IICModule(
                backbone,
                config["n_clusters"],
                config["n_overclusters"],
                config["n_heads"],
            )
        return network.eval()

    # -- scikit-learn plumbing ------------------------------------------------

    @property
    def _n_features_out(self):
        return self.module_.main_heads[0].out_features
