"""What DEC and IDEC share: their fitting, inference and persistence.

:class:`_BaseDEC` plays the part of scikit-learn's ``_BaseKMeans`` for
:class:`~skdec.DECClusterer` and :class:`~skdec.IDECClusterer`, which keep
only their parameters (and IDEC its reconstruction weight). The torch
modules live in :mod:`skdec._nn`, the loops in :mod:`skdec._train` and the
starts of the clustering stage in :mod:`skdec._starts`; this file only
wires them together and keeps numpy results, so no torch type crosses the
public API.
"""

import time
import warnings
from dataclasses import dataclass
from functools import partial
from numbers import Integral

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from ._base import _BaseDeepClusterer, _seed, check_finite_weights
from ._batching import map_batches
from ._memory import PretrainMemory
from ._networks import (
    augmentation,
    build_dec_module,
    check_autoencoder,
    dec_module_config,
    dec_network,
    declared_latent_dim,
    module_params,
)
from ._nn import DECModule, check_image_shape
from ._select_k import (
    N_RESTARTS,
    Choice,
    choose_n_clusters,
    resolve_candidates,
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
    plan_pretraining,
    pretrain,
    train_clustering,
)

# ---------------------------------------------------------------------------
# The clustering stage, as plain functions (the search over k runs it too)


@dataclass(frozen=True)
class StageSettings:
    """What DEC's clustering stage needs besides the network, data and start.

    ``gamma`` is IDEC's weight of the KL term (None trains DEC's KL alone);
    ``augment`` DEC-DA's ``augment(x, generator)`` or None; ``name`` the
    estimator's, for the warning.
    """

    name: str
    alpha: float
    max_iter: int
    update_interval: int
    tol: float
    batch_size: int
    learning_rate: float
    gamma: float | None
    augment: object
    device: torch.device
    comm: object


def clustering_stage(autoencoder, start, X, *, settings, generator, hooks):
    """DEC's clustering stage from ``start``: a ``ClusteringOutcome``.

    With the start's partition (``start.posterior``), the first
    ``START_TARGET_REFRESHES * update_interval`` steps learn it before DEC's
    own target takes over.
    """
    s = settings
    module = DECModule(autoencoder, start.centers, s.alpha).to(s.device)
    start_target = start.posterior
    if start_target is not None:
        start_target = torch.as_tensor(start_target, device=s.device)
    outcome = train_clustering(
        module,
        X,
        max_iter=s.max_iter,
        update_interval=s.update_interval,
        tol=s.tol,
        batch_size=s.batch_size,
        learning_rate=s.learning_rate,
        generator=generator,
        device=s.device,
        comm=s.comm,
        hooks=hooks,
        gamma=s.gamma,
        augment=s.augment,
        start_target=start_target,
        start_steps=START_TARGET_REFRESHES * s.update_interval,
    )
    check_finite_weights(module, "clustering")
    if s.comm.is_main and not outcome.converged and s.max_iter > 0:
        warnings.warn(
            f"{s.name} stopped after max_iter={s.max_iter} steps before fewer "
            f"than tol={s.tol} of the labels changed between refreshes; "
            "increase max_iter or tol.",
            ConvergenceWarning,
        )
    return outcome


def candidate_stage(autoencoder, centers, batch_seed, hooks, *, X, settings):
    """One candidate's clustering stage in the search over ``k``."""
    generator = torch.Generator(device=settings.device).manual_seed(batch_seed)
    with warnings.catch_warnings():
        # A candidate that does not converge is no reason to warn.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clustering_stage(
            autoencoder,
            Start(centers),
            X,
            settings=settings,
            generator=generator,
            hooks=hooks,
        )


def embedding_silhouette(module, *, X, device):
    """:meth:`score` of a trained DEC module on the training tensor ``X``."""
    out = map_batches(lambda x: torch.cat(module(x), dim=1), X, device=device)
    out = out.cpu().numpy()
    latent_dim = module.centroids.shape[1]
    labels = out[:, latent_dim:].argmax(axis=1)
    return capped_silhouette(out[:, :latent_dim], labels)


# ---------------------------------------------------------------------------
# Shared base

# What pretraining and the clustering stage use alone, so what a fit without
# them leaves unused (the module__ and gamma names only where they are set).
_PRETRAINING = (
    "pretrain_batch_size",
    "pretrain_optimizer",
    "pretrain_learning_rate",
    "memory",
    "module__layerwise_dropout",
)
_CLUSTERING_STAGE = ("update_interval", "tol", "batch_size", "learning_rate", "gamma")


class _BaseDEC(_BaseDeepClusterer):
    """DEC's fit, inference and persistence; not a public class.

    Subclasses define the parameters (``__init__`` and
    ``_parameter_constraints``); IDEC also overrides ``_reconstruction_gamma``
    (None here: DEC trains its KL term alone).
    """

    # -- fitting ------------------------------------------------------------

    def _check_fit_data(self, X, n_samples):
        """Data-dependent checks before any work; the fit's candidate k."""
        if n_samples < 2:
            raise ValueError(f"n_samples={n_samples} should be >= 2.")
        candidates = resolve_candidates(self.n_clusters, n_samples)
        searching = self._searches()
        check_autoencoder(
            self.module,
            module_params(self),
            needs_decoder=self._trains_reconstruction(),
        )
        if not isinstance(self.init, str):
            if searching:
                raise ValueError(
                    "init given as centroids needs an int n_clusters; the "
                    "search over n_clusters starts from k-means."
                )
            latent_dim = declared_latent_dim(self.module, module_params(self))
            if latent_dim is not None:
                check_init_array(self.init, self.n_clusters, latent_dim)
        if self.augment is not None:
            check_image_shape(self.augment, X.shape[1], name="augment")
        self._check_settings_used(searching)
        return candidates

    def _check_settings_used(self, searching):
        """Refuse (or, where a grid search may set it on purpose, warn about)
        a parameter that this combination of settings would ignore."""
        changed = self._changed_params()
        if not searching and "n_clusters_search" in changed:
            raise ValueError(
                f"n_clusters_search={self.n_clusters_search!r} chooses among "
                "candidates, but n_clusters is the int "
                f"{self.n_clusters}: pass n_clusters='auto' or the candidates "
                "(e.g. range(2, 11)) to search, or drop n_clusters_search."
            )
        if searching and isinstance(self.init, str) and self.init != "kmeans":
            raise ValueError(
                f"init={self.init!r} places the start for an int n_clusters; "
                "the search over n_clusters starts from k-means. Pass "
                "init='kmeans', or choose k first and fit with it."
            )
        # (parameters a setting leaves unused, the setting): warned about
        # where set away from their defaults.
        unused = []
        if self.pretrain_epochs == 0:
            unused.append((_PRETRAINING, "pretrain_epochs=0 skips pretraining"))
        elif self.memory is not None and self.random_state is None:
            why = (
                "random_state=None draws a new result every fit, which memory "
                "never keeps; pass an int random_state"
            )
            unused.append((["memory"], why))
        if self.max_iter == 0:
            why = "max_iter=0 stops after the start (autoencoder + k-means)"
            unused.append((_CLUSTERING_STAGE, why))
        if not searching and not (
            isinstance(self.init, str) and self.init != "manifold"
        ):
            what = "'manifold'" if isinstance(self.init, str) else "centroids"
            unused.append((["n_init"], f"init={what} runs no k-means restarts"))
        self._warn_unused(
            [
                ([name for name in names if name in changed], why)
                for names, why in unused
            ]
        )

    def _searches(self):
        """Whether ``n_clusters`` asks for a search ("auto" or candidates)."""
        return not isinstance(self.n_clusters, Integral)

    def _trains_reconstruction(self):
        """Whether fit calls the network's ``decode``: pretraining or IDEC."""
        return self.pretrain_epochs != 0 or self._reconstruction_gamma() is not None

    def _augmentation(self):
        """DEC-DA's random shifts and rotations, or None without ``augment``."""
        return None if self.augment is None else augmentation(self.augment)

    def _network(self, n_features, setup):
        """The autoencoder this fit trains, checked against ``augment``."""
        network = dec_network(
            self.module, n_features, module_params(self), setup.init_generator
        )
        layerwise = getattr(network, "layerwise_dropout", None) is not None
        if self.augment is not None and layerwise and self.pretrain_epochs != 0:
            raise ValueError(
                "augment trains on transformed images, but layer-wise "
                "pretraining (module__layerwise_dropout) trains its pairs on "
                "the clean rows: drop one of them."
            )
        shape = getattr(network, "image_shape", None)
        if (
            self.augment is not None
            and shape is not None
            and tuple(shape) != check_image_shape(self.augment, n_features)
        ):
            raise ValueError(
                f"augment={tuple(self.augment)} and the network's image_shape="
                f"{tuple(shape)} describe the rows differently; give both the "
                "same shape."
            )
        return network

    def _stage_settings(self, setup):
        return StageSettings(
            name=type(self).__name__,
            alpha=self.alpha,
            max_iter=self.max_iter,
            update_interval=self.update_interval,
            tol=self.tol,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            gamma=self._reconstruction_gamma(),
            augment=self._augmentation(),
            device=setup.device,
            comm=setup.comm,
        )

    def _fit(self, X, network, setup):
        """Guts of fit: train ``network`` on the training tensor ``X``."""
        comm, hooks = setup.comm, setup.hooks
        candidates = setup.candidates
        method = self.n_clusters_search if self._searches() else None
        if comm.world_size > 1 and method == "clustering":
            raise ValueError(
                "n_clusters_search='clustering' does not run data-parallel; "
                "use another n_clusters_search or distributed=False."
            )
        autoencoder = network.to(setup.device)
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
        settings = self._stage_settings(setup)
        if method == "clustering":
            outcome, choice = search_by_clustering(
                embedding,
                candidates,
                autoencoder,
                run_stage=partial(candidate_stage, X=X, settings=settings),
                score=partial(embedding_silhouette, X=X, device=setup.device),
                n_init=self.n_init,
                rng=setup.rng,
                hooks=hooks,
            )
        else:
            choice, start = self._start(embedding, candidates, method, setup)
            hooks.record(
                init_record(embedding, start.centers, started, comm),
                embedding=embedding,
                centers=start.centers,
                posterior=start.posterior,
            )
            outcome = clustering_stage(
                autoencoder,
                start,
                X,
                settings=settings,
                generator=setup.generator,
                hooks=hooks,
            )

        module = outcome.module
        self.module_ = module
        self.history_ = hooks.history
        self.n_iter_ = outcome.n_iter
        self.n_clusters_ = int(len(module.centroids))
        self.n_clusters_candidates_ = np.asarray(choice.candidates)
        self.n_clusters_restart_scores_ = np.asarray(choice.scores, dtype=float)
        self.n_clusters_scores_ = self.n_clusters_restart_scores_.mean(axis=0)
        self.n_clusters_votes_ = np.asarray(choice.votes, dtype=int)
        self.n_clusters_rule_ = choice.rule
        self.cluster_centers_ = module.centroids.detach().cpu().numpy().copy()
        return self

    def _start(self, embedding, candidates, method, setup):
        """Start of the clustering stage: ``(Choice, Start)``.

        With an int ``n_clusters`` (``method`` None), the start ``init``
        names; otherwise the k-means centroids of the candidate that the
        restarts of ``method`` voted for.
        """
        comm = setup.comm
        if not isinstance(self.init, str):
            # The network decides the embedding's width.
            check_init_array(self.init, self.n_clusters, embedding.shape[1])
        seed = _seed(setup.rng)
        sample = kmeans_sample(embedding, seed, comm)
        if method is None:
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
            return Choice.given(self.n_clusters), start
        choice = on_main(
            comm,
            choose_n_clusters,
            sample,
            candidates,
            criterion=method,
            n_init=self.n_init,
            n_restarts=N_RESTARTS,
            rng=check_random_state(seed),
        )
        return choice, Start(choice.centers)

    def _reconstruction_gamma(self):
        """Weight of KL against reconstruction; None trains DEC's KL alone."""
        return None

    def _pretrain(self, autoencoder, X, setup):
        """Pretrain ``autoencoder``, or load it from ``memory``."""
        if self.pretrain_epochs == 0:
            return
        memory = PretrainMemory.open(self, autoencoder, X, setup)
        if memory is not None and memory.restore(autoencoder, setup):
            return
        stops = setup.hooks.stops
        plan = plan_pretraining(
            X,
            optimizer=self.pretrain_optimizer,
            learning_rate=self.pretrain_learning_rate,
            batch_size=self.pretrain_batch_size,
            epochs=self.pretrain_epochs,
            low_power=setup.low_power,
            comm=setup.comm,
        )
        pretrain(
            autoencoder,
            X,
            layerwise_dropout=getattr(autoencoder, "layerwise_dropout", None),
            epochs=plan.epochs,
            batch_size=plan.batch_size,
            learning_rate=plan.learning_rate,
            optimizer=plan.optimizer,
            generator=setup.generator,
            device=setup.device,
            comm=setup.comm,
            hooks=setup.hooks,
            augment=self._augmentation(),
            plateau=plan.plateau,
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
    _saved_values = (
        *_BaseDeepClusterer._saved_values,
        "n_clusters_",
        "n_clusters_rule_",
    )

    def _module_config(self):
        user = {"n_features": int(self.n_features_in_), "params": module_params(self)}
        return dec_module_config(self.module_, user)

    @classmethod
    def _build_module(cls, config, module=None):
        return build_dec_module(config, module)

    # -- scikit-learn plumbing ------------------------------------------------

    @property
    def _n_features_out(self):
        return self.cluster_centers_.shape[1]
