"""What DEC and IDEC share: their fitting, inference and persistence.

:class:`_BaseDEC` plays the part of scikit-learn's ``_BaseKMeans`` for
:class:`~skdec.DECClusterer` and :class:`~skdec.IDECClusterer`, which keep
only their parameters (and IDEC its reconstruction weight). The torch
modules live in :mod:`skdec._nn`, the loops in :mod:`skdec._train` and the
starts of the clustering stage in :mod:`skdec._starts`; this file only
wires them together and keeps numpy results, so no torch type crosses the
public API.
"""

import copy
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from ._base import (
    _BaseDeepClusterer,
    _check_image_shape,
    _check_widths,
    _seed,
    check_finite_weights,
)
from ._batching import map_batches
from ._memory import PretrainMemory
from ._networks import (
    augmentation,
    build_autoencoder,
    build_dec_module,
    build_user_module,
    check_user_module,
    dec_module_config,
)
from ._nn import DECModule
from ._select_k import (
    N_RESTARTS,
    check_n_clusters_range,
    choose_n_clusters,
    search_by_clustering,
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
from ._train import (
    auto_pretrain_learning_rate,
    auto_pretraining,
    pretrain,
    train_clustering,
)

# ---------------------------------------------------------------------------
# Shared base


class _BaseDEC(_BaseDeepClusterer):
    """DEC's fit, inference and persistence; not a public class.

    Subclasses define the parameters (``__init__`` and
    ``_parameter_constraints``); IDEC also overrides ``_reconstruction_gamma``
    (None here: DEC trains its KL term alone).
    """

    # -- fitting ------------------------------------------------------------

    def _check_fit_data(self, X, n_samples):
        if self.module is not None:
            check_user_module(
                self.module,
                needs_decoder=self._trains_reconstruction(),
                pretrain=self.pretrain,
            )
        elif not isinstance(self.init, str):
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

    def _trains_reconstruction(self):
        """Whether fit calls the network's ``decode``: pretraining or IDEC."""
        pretrains = self.pretrain is not None and self.pretrain_epochs != 0
        return pretrains or self._reconstruction_gamma() is not None

    def _module_params(self):
        """The ``module__`` parameters, without their prefix."""
        return {
            name.removeprefix("module__"): value
            for name, value in vars(self).items()
            if name.startswith("module__")
        }

    def _network(self, n_features, setup):
        """The autoencoder this fit trains: the user's ``module`` or built-in."""
        if self.module is not None:
            seed = setup.init_generator.initial_seed()
            return build_user_module(
                self.module, n_features, self._module_params(), seed
            )
        return build_autoencoder(
            n_features,
            hidden_dims=_check_widths(self.hidden_dims, "hidden_dims"),
            latent_dim=self.latent_dim,
            image_shape=_check_image_shape(self.image_shape, n_features),
            conv_channels=self.conv_channels,
            generator=setup.init_generator,
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
        autoencoder = self._network(X.shape[1], setup).to(setup.device)
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
            # One "restart": every candidate's stage, and a vote for the best.
            scores = np.asarray(scores, dtype=float)[None]
            votes = (np.arange(len(candidates)) == scores[0].argmax()).astype(int)
        else:
            candidates, scores, votes, start = self._start(embedding, setup)
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
        self.n_clusters_restart_scores_ = np.asarray(scores, dtype=float)
        self.n_clusters_scores_ = self.n_clusters_restart_scores_.mean(axis=0)
        self.n_clusters_votes_ = np.asarray(votes, dtype=int)
        self.cluster_centers_ = module.centroids.detach().cpu().numpy().copy()
        return self

    def _start(self, embedding, setup):
        """Start of the clustering stage: ``(candidates, scores, votes, Start)``.

        With an int ``n_clusters``, the start ``init`` names (one candidate,
        a NaN score and its vote); with "auto" (``n_clusters_search=
        "kmeans"``), the k-means centroids of the candidate the restarts of
        ``n_clusters_criterion`` voted for, with every restart's scores.
        """
        comm = setup.comm
        if self.module is not None and not isinstance(self.init, str):
            # The user's network decides the embedding's width.
            check_init_array(self.init, self.n_clusters, embedding.shape[1])
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
            return [self.n_clusters], [[np.nan]], [1], start
        n_samples = int(comm.sum(len(embedding)))
        candidates = check_n_clusters_range(self.n_clusters_range, n_samples)
        choice = on_main(
            comm,
            choose_n_clusters,
            sample,
            candidates,
            criterion=self.n_clusters_criterion,
            n_init=self.n_init,
            n_restarts=N_RESTARTS,
            rng=check_random_state(seed),
        )
        return candidates, choice.scores, choice.votes, Start(choice.centers)

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
        """Pretrain ``autoencoder``, or load it from ``memory``."""
        if self.pretrain is None or self.pretrain_epochs == 0:
            return
        memory = PretrainMemory.open(self, autoencoder, X, setup)
        if memory is not None and memory.restore(autoencoder, setup):
            return
        stops = setup.hooks.stops
        batch_size, epochs, plateau = auto_pretraining(
            X.shape[0], self.pretrain_batch_size, self.pretrain_epochs, setup.comm
        )
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
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            optimizer=optimizer,
            dropout=self.dropout,
            generator=setup.generator,
            device=setup.device,
            progress=setup.progress,
            comm=setup.comm,
            hooks=setup.hooks,
            augment=self._augmentation(),
            plateau=plateau,
        )
        # Not what a callback skipped or ended early: that is not the
        # parameters' result.
        if memory is not None and setup.hooks.stops == stops:
            memory.store(autoencoder, setup)

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
        "n_clusters_restart_scores_",
        "n_clusters_votes_",
    )
    # Saved since the restarts' vote; older files load without them.
    _added_arrays = ("n_clusters_restart_scores_", "n_clusters_votes_")
    _saved_values = (*_BaseDeepClusterer._saved_values, "n_clusters_")

    def _module_config(self):
        user_params = None
        if self.module is not None:
            user_params = {
                "n_features": int(self.n_features_in_),
                "params": self._module_params(),
            }
        return dec_module_config(self.module_, user_params)

    @classmethod
    def _build_module(cls, config, module=None):
        return build_dec_module(config, module)

    # -- the module__ parameters (skorch's convention) -------------------------

    def _set_module_params(self, kwargs):
        """Keep the ``module__`` keyword arguments of ``__init__`` as parameters."""
        for name, value in kwargs.items():
            if not name.startswith("module__"):
                raise TypeError(
                    f"{type(self).__name__}() got an unexpected keyword "
                    f"argument {name!r}; only module__<name> parameters are "
                    "passed on, to the user's module."
                )
            setattr(self, name, value)

    def get_params(self, deep=True):
        """Parameters of this estimator, the ``module__`` ones included.

        Parameters
        ----------
        deep : bool, default=True
            Ignored for the ``module__`` parameters; as in scikit-learn
            otherwise.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=deep)
        params.update(
            (name, value)
            for name, value in vars(self).items()
            if name.startswith("module__")
        )
        return params

    def set_params(self, **params):
        """Set parameters, ``module__<name>`` ones (for the user's module) included.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator
            The estimator.
        """
        for name in [name for name in params if name.startswith("module__")]:
            setattr(self, name, params.pop(name))
        return super().set_params(**params)

    # -- scikit-learn plumbing ------------------------------------------------

    @property
    def _n_features_out(self):
        return self.cluster_centers_.shape[1]
