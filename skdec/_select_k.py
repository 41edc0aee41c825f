"""Choosing the number of clusters without labels: all of it, in one place.

A fit resolves its candidates once (:func:`resolve_candidates`), pretrains
one autoencoder and then either scores a k-means fit per candidate on its
embedding (:func:`choose_n_clusters`: restarts on subsamples vote, so a
near-tie in one of them does not decide), or runs the clustering stage per
candidate (:func:`search_by_clustering`, which is given the stage and the
score as plain functions). Both return a :class:`Choice`, which records the
rule that decided; :data:`METHODS` describes every method and its rule for
the fitted attributes and :func:`skdec.plotting.plot_n_clusters`. The
measurements behind the default, "density", are in the design notes
(``design-choosing-k-shared-space``).
"""

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral
from typing import NamedTuple

import numpy as np
import torch
from sklearn.cluster import HDBSCAN, KMeans
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
)
from sklearn.metrics.cluster import contingency_matrix
from sklearn.utils import check_array, check_random_state

from ._base import _seed
from ._distributed import sample_rows
from ._nn import kl_divergence, log_soft_assignment, target_distribution
from ._silhouette import capped_silhouette
from ._starts import KMEANS_MAX_SAMPLES

# Stability and prediction strength: random half splits per candidate and
# k-means restarts per half. Few restarts suffice since every candidate and
# split share the same budget.
STABILITY_RESAMPLES = 5
STABILITY_N_INIT = 3
# Tibshirani and Walther's threshold: the largest k whose clusters are
# predicted at least this well across halves is chosen.
PREDICTION_STRENGTH_THRESHOLD = 0.8

# Restarts of the search: each scores every candidate on its own seeded
# subsample of this share of the rows, with its own k-means seeds, and votes
# for the candidate its criterion picks. The most voted wins, ties going to
# the smaller k, so one restart's float-level near-tie cannot move the choice.
N_RESTARTS = 5
RESTART_FRACTION = 0.8

# The density criterion: HDBSCAN's clusters (of at least this share of the
# rows, with this many neighbours defining density) decide k when they cover
# at least DENSITY_COVERAGE of the rows; otherwise the embedding has no clear
# density clusters and the restarts vote by the silhouette.
DENSITY_MIN_CLUSTER_SHARE = 0.02
DENSITY_MIN_SAMPLES = 10
DENSITY_COVERAGE = 0.75

# Generalisability: share of rows held out, Adam steps on the centroids,
# steps between refreshes of the target P, and Student's t degrees of freedom.
VALIDATION_FRACTION = 0.2
CENTROID_STEPS = 200
CENTROID_UPDATE_INTERVAL = 20
ALPHA = 1.0


# ---------------------------------------------------------------------------
# Validation and shared k-means fits


def _check_candidates(candidates, n_samples):
    """Sorted unique candidates, each an int in ``[2, n_samples - 1]``."""
    try:
        values = list(candidates)
    except TypeError:
        raise TypeError(
            f"candidates must be a sequence of integers, got {candidates!r}."
        ) from None
    if not values:
        raise ValueError("candidates must hold at least one number of clusters.")
    for k in values:
        if not isinstance(k, Integral) or isinstance(k, bool):
            raise TypeError(f"candidates must contain integers, got {k!r}.")
        # k = 1 has no silhouette and k = n_samples puts every row alone.
        if not 2 <= k <= n_samples - 1:
            raise ValueError(
                f"Every candidate number of clusters must be in [2, n_samples - 1]"
                f" = [2, {n_samples - 1}], got {k}."
            )
    return sorted({int(k) for k in values})


def _fit_candidates(Z, candidates, *, n_init, rng):
    """One k-means per candidate, seeded in candidate order."""
    return {
        k: KMeans(n_clusters=k, n_init=n_init, random_state=_seed(rng)).fit(Z)
        for k in candidates
    }


# ---------------------------------------------------------------------------
# Criteria: each maps (Z, fits, rng, n_init) to {k: value}


def _n_labels(labels):
    return np.unique(labels).size


def _silhouette(Z, fits, rng, n_init):
    """Mean silhouette of the k-means labels on one shared subsample."""
    state = rng.get_state()
    scores = {}
    for k, fit in fits.items():
        # Every candidate on the same rows: rewind the generator each time.
        rng.set_state(state)
        scores[k] = capped_silhouette(Z, fit.labels_, rng=rng)
    return scores


def _calinski_harabasz(Z, fits, rng, n_init):
    return {
        k: float(calinski_harabasz_score(Z, fit.labels_))
        if _n_labels(fit.labels_) >= 2
        else 0.0
        for k, fit in fits.items()
    }


def _davies_bouldin(Z, fits, rng, n_init):
    return {
        k: float(davies_bouldin_score(Z, fit.labels_))
        if _n_labels(fit.labels_) >= 2
        else math.inf
        for k, fit in fits.items()
    }


def _half_split_agreement(Z, k, splits, seed):
    """Mean ARI on ``Z`` between k-means fitted on the two halves of each split."""
    agreement = []
    for first, second in splits:
        labels = [
            KMeans(n_clusters=k, n_init=STABILITY_N_INIT, random_state=seed)
            .fit(Z[half])
            .predict(Z)
            for half in (first, second)
        ]
        agreement.append(adjusted_rand_score(*labels))
    return float(np.mean(agreement))


def _uniform_reference(Z, rng):
    """Uniform points in the principal-axes bounding box of ``Z`` (as in the gap
    statistic): same size and spread, but no clusters."""
    centred = Z - Z.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ axes.T
    low, high = projected.min(axis=0), projected.max(axis=0)
    return rng.uniform(low, high, size=projected.shape) @ axes


def _random_halves(n_samples, rng):
    splits = []
    for _ in range(STABILITY_RESAMPLES):
        order = rng.permutation(n_samples)
        splits.append((order[: n_samples // 2], order[n_samples // 2 :]))
    return splits


def _stability_parts(Z, fits, rng):
    """Split-half stability of ``Z`` and of its uniform reference, per ``k``."""
    splits = _random_halves(len(Z), rng)
    reference = _uniform_reference(Z, rng)
    observed, baseline = {}, {}
    for k in fits:
        seed = _seed(rng)
        observed[k] = _half_split_agreement(Z, k, splits, seed)
        baseline[k] = _half_split_agreement(reference, k, splits, seed)
    return observed, baseline


def _stability(Z, fits, rng, n_init):
    """Split-half stability minus that of unclustered data of the same shape.

    Any k-means partition into few clusters is reproducible, clustered or
    not, so raw stability favours small k; subtracting the stability reached
    on a uniform reference removes that bias and keeps what the clusters add.
    """
    observed, baseline = _stability_parts(Z, fits, rng)
    return {k: observed[k] - baseline[k] for k in fits}


def _weakest_cluster_agreement(test_labels, predicted):
    """Smallest share, over test clusters, of pairs ``predicted`` keeps together."""
    counts = contingency_matrix(test_labels, predicted).astype(float)
    sizes = counts.sum(axis=1)
    kept = (counts * (counts - 1)).sum(axis=1)
    shares = kept[sizes >= 2] / (sizes[sizes >= 2] * (sizes[sizes >= 2] - 1))
    return float(shares.min()) if shares.size else 0.0


def _prediction_strength(Z, fits, rng, n_init):
    """Prediction strength (Tibshirani and Walther, 2005), both ways, per ``k``.

    k-means is fitted on each half of a random split; for the clusters of one
    half, the share of their pairs that the other half's centroids also put
    together is computed, and the weakest cluster counts. Averaged over
    splits and both directions.
    """
    splits = _random_halves(len(Z), rng)
    scores = {}
    for k in fits:
        seed = _seed(rng)
        strengths = []
        for first, second in splits:
            a, b = (
                KMeans(n_clusters=k, n_init=STABILITY_N_INIT, random_state=seed).fit(
                    Z[half]
                )
                for half in (first, second)
            )
            strengths += [
                _weakest_cluster_agreement(b.labels_, a.predict(Z[second])),
                _weakest_cluster_agreement(a.labels_, b.predict(Z[first])),
            ]
        scores[k] = float(np.mean(strengths))
    return scores


def _kl_to_target(z, centroids):
    """DEC's ``KL(P || Q)`` with ``P`` computed from the current ``Q``."""
    log_q = log_soft_assignment(z, centroids, ALPHA)
    return kl_divergence(target_distribution(log_q.exp()), log_q)


def _train_centroids(z, centroids, learning_rate):
    """DEC's clustering stage with the encoder frozen: only the centroids move."""
    centroids = centroids.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([centroids], lr=learning_rate)
    for step in range(CENTROID_STEPS):
        if step % CENTROID_UPDATE_INTERVAL == 0:
            with torch.no_grad():
                p = target_distribution(log_soft_assignment(z, centroids, ALPHA).exp())
        loss = kl_divergence(p, log_soft_assignment(z, centroids, ALPHA))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return centroids.detach()


def _generalisability(Z, fits, rng, n_init):
    """DEC's generalisability ``G = L_train / L_validation`` per candidate.

    The rows are split 80/20; k-means on the training rows places the
    centroids, which are then trained alone by ``KL(P || Q)`` on the (frozen)
    training embedding. ``L`` is ``KL(P || Q)`` with ``P`` the target of the
    final ``Q``, on the training or the validation rows.
    """
    order = rng.permutation(len(Z))
    n_validation = max(1, round(VALIDATION_FRACTION * len(Z)))
    validation = torch.as_tensor(Z[order[:n_validation]], dtype=torch.float32)
    train_rows = order[n_validation:]
    train = torch.as_tensor(Z[train_rows], dtype=torch.float32)
    # Adam moves each coordinate by about ``lr`` per step, so scale it to Z.
    learning_rate = 0.01 * float(Z.std()) or 0.01
    scores = {}
    for k in fits:
        init = KMeans(n_clusters=k, n_init=n_init, random_state=_seed(rng))
        init.fit(Z[train_rows])
        start = torch.as_tensor(init.cluster_centers_, dtype=torch.float32)
        centroids = _train_centroids(train, start, learning_rate)
        with torch.no_grad():
            l_train = float(_kl_to_target(train, centroids))
            l_validation = float(_kl_to_target(validation, centroids))
        scores[k] = l_train / l_validation if l_validation > 0 else 1.0
    return scores


def density_clusters(Z):
    """``(count, coverage)``: HDBSCAN's clusters of ``Z`` and their share of rows."""
    if len(Z) <= DENSITY_MIN_SAMPLES:
        return 0, 0.0
    size = max(5, round(DENSITY_MIN_CLUSTER_SHARE * len(Z)))
    hdbscan = HDBSCAN(min_cluster_size=size, min_samples=DENSITY_MIN_SAMPLES, copy=True)
    labels = hdbscan.fit(Z).labels_
    return int(np.unique(labels[labels >= 0]).size), float(np.mean(labels >= 0))


# ---------------------------------------------------------------------------
# Selection rules: each maps {k: value} (k sorted) to the chosen k


def _largest(scores):
    return max(scores, key=lambda k: (scores[k], -k))


def _smallest(scores):
    return min(scores, key=lambda k: (scores[k], k))


def _largest_strong(scores):
    """The largest ``k`` reaching the prediction-strength threshold.

    Stability trivially favours few clusters, so the most stable ``k`` is not
    the answer; the largest one that is stable enough is. Without any, the
    most stable candidate.
    """
    strong = [k for k in scores if scores[k] >= PREDICTION_STRENGTH_THRESHOLD]
    return max(strong) if strong else _largest(scores)


def _before_sharpest_drop(scores):
    """The ``k`` after which the value falls most (the DEC paper's reading of G)."""
    ks = sorted(scores)
    if len(ks) == 1:
        return ks[0]
    drops = {
        k: scores[k] - scores[k_next] for k, k_next in zip(ks[:-1], ks[1:], strict=True)
    }
    return _largest(drops)


@dataclass(frozen=True)
class Method:
    """A way to choose ``k``, as :func:`skdec.plotting.plot_n_clusters` and
    the fitted ``n_clusters_rule_`` describe it.

    ``scored`` says what the candidates' scores are (the plot's y-label) and
    ``rule`` how the chosen ``k`` follows from them. A k-means criterion
    also has ``score`` (``(Z, fits, rng, n_init) -> {k: value}``) and
    ``pick`` (``{k: value} -> k``).
    """

    scored: str
    rule: str
    score: Callable | None = None
    pick: Callable | None = None


_SILHOUETTE = "silhouette of k-means"
METHODS = {
    "density": Method(
        _SILHOUETTE,
        "HDBSCAN's number of density clusters, which hold at least "
        f"{DENSITY_COVERAGE:.0%} of the rows",
        # Scored by the silhouette, whose pick decides where HDBSCAN does
        # not (choose_n_clusters).
        _silhouette,
        _largest,
    ),
    "silhouette": Method(_SILHOUETTE, "the highest silhouette", _silhouette, _largest),
    "calinski_harabasz": Method(
        "Calinski-Harabasz index of k-means",
        "the highest index",
        _calinski_harabasz,
        _largest,
    ),
    "davies_bouldin": Method(
        "Davies-Bouldin index of k-means",
        "the lowest index",
        _davies_bouldin,
        _smallest,
    ),
    "stability": Method(
        "stability of k-means over half splits, less a uniform reference's",
        "the highest stability",
        _stability,
        _largest,
    ),
    "prediction_strength": Method(
        "prediction strength of k-means",
        f"the largest k with a strength of at least {PREDICTION_STRENGTH_THRESHOLD}"
        " (the strongest if none)",
        _prediction_strength,
        _largest_strong,
    ),
    "generalisability": Method(
        "generalisability L_train / L_validation",
        "the k before the sharpest drop",
        _generalisability,
        _before_sharpest_drop,
    ),
    "clustering": Method(
        "silhouette after the clustering stage", "the highest silhouette"
    ),
}
# Criteria scored on k-means fits (select_n_clusters), and every search.
CRITERIA = tuple(name for name, method in METHODS.items() if method.score)
SEARCHES = tuple(METHODS)
# ``n_clusters_rule_`` of a fit given an int ``n_clusters``: no search.
GIVEN = "n_clusters"


# ---------------------------------------------------------------------------
# The estimators' search over n_clusters


# ``n_clusters="auto"``: every k from 2 to 20.
AUTO_CANDIDATES = range(2, 21)


def resolve_candidates(n_clusters, n_samples):
    """The numbers of clusters a fit may use, sorted, from ``n_clusters``.

    An int is the one candidate (no search); "auto" is ``AUTO_CANDIDATES``;
    an array-like holds the candidates, each in ``[2, n_samples - 1]``.
    """
    if isinstance(n_clusters, bool):
        raise TypeError(f"n_clusters must be an int, got {n_clusters!r}.")
    if isinstance(n_clusters, Integral):
        if n_samples < n_clusters:
            raise ValueError(
                f"n_samples={n_samples} should be >= n_clusters={n_clusters}."
            )
        return (int(n_clusters),)
    if isinstance(n_clusters, str):  # "auto", as the constraints allow
        if AUTO_CANDIDATES[-1] >= n_samples:
            raise ValueError(
                f"n_clusters='auto' tries {AUTO_CANDIDATES[0]} to "
                f"{AUTO_CANDIDATES[-1]} clusters, which needs more than "
                f"{AUTO_CANDIDATES[-1]} samples; n_samples={n_samples}. Pass "
                f"the candidates instead, e.g. n_clusters=range(2, {n_samples})."
            )
        return tuple(AUTO_CANDIDATES)
    try:
        return tuple(_check_candidates(n_clusters, n_samples))
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"n_clusters as candidates for the search: {exc}") from None


def search_by_clustering(
    embedding, candidates, autoencoder, *, run_stage, score, n_init, rng, hooks
):
    """``n_clusters_search="clustering"``: a clustering stage per candidate.

    Every candidate gets its own k-means start on ``embedding`` (a seeded
    sample of large data), and ``run_stage(network, centers, batch_seed,
    hooks)`` runs its clustering stage on a copy of ``autoencoder``, every
    candidate with the same ``batch_seed`` for its mini-batches;
    ``score(module)`` (higher is better) rates the result. Both are plain
    functions of what they are given. A record per candidate goes to
    ``hooks``; each stage records into a fork of it, and only the best
    candidate's records are kept. Returns ``(outcome, choice)``: the best
    candidate's stage outcome and a :class:`Choice` of one restart, whose
    vote is the best candidate's.
    """
    seeds = [_seed(rng) for _ in candidates]
    batch_seed = _seed(rng)
    best, best_records, scores = None, None, []
    for k, seed in zip(candidates, seeds, strict=True):
        started = time.perf_counter()
        sample = sample_rows(embedding, KMEANS_MAX_SAMPLES, seed)
        centers = KMeans(k, n_init=n_init, random_state=seed).fit(sample)
        stage_hooks = hooks.fork()
        outcome = run_stage(
            copy.deepcopy(autoencoder),
            centers.cluster_centers_,
            batch_seed,
            stage_hooks,
        )
        value = score(outcome.module)
        scores.append(value)
        record = {
            "stage": "n_clusters_search",
            "n_clusters": int(k),
            # Lower is better, as for every loss: minus the score.
            "loss": -value,
            "seconds": time.perf_counter() - started,
        }
        hooks.record(record)
        if best is None or value > max(scores[:-1]):
            best, best_records = outcome, stage_hooks.history
    hooks.history.extend(best_records)
    # argmax, as the loop above: the first (smallest) of tied candidates.
    chosen = int(np.argmax(scores))
    votes = (np.arange(len(candidates)) == chosen).astype(int)
    choice = Choice(
        candidates[chosen],
        tuple(candidates),
        np.asarray(scores, dtype=float)[None],
        votes,
        "clustering",
    )
    return best, choice


# ---------------------------------------------------------------------------
# Restarts and votes


def _restart_rows(n_samples, candidates, n_restarts, rng):
    """Rows of one restart: all of them alone, else a seeded subsample."""
    if n_restarts == 1:
        return slice(None)
    # Every candidate needs more rows than clusters.
    size = min(n_samples, max(round(RESTART_FRACTION * n_samples), candidates[-1] + 1))
    return np.sort(rng.choice(n_samples, size=size, replace=False))


class Choice(NamedTuple):
    """How a fit's number of clusters was chosen (its ``n_clusters_*_``)."""

    n_clusters: int
    candidates: tuple
    # scores[r, i]: the criterion of candidates[i] in restart r.
    scores: np.ndarray
    # votes[i]: how many restarts' rules picked candidates[i].
    votes: np.ndarray
    # The METHODS entry (or GIVEN) whose rule decided n_clusters.
    rule: str
    # k-means centroids of the chosen k on all rows, where the search made them.
    centers: np.ndarray | None = None

    @classmethod
    def given(cls, n_clusters):
        """An int ``n_clusters``: one candidate, no score, its one vote."""
        return cls(
            int(n_clusters),
            (int(n_clusters),),
            np.full((1, 1), np.nan),
            np.ones(1, dtype=int),
            GIVEN,
        )


def choose_n_clusters(Z, candidates, *, criterion, n_init, n_restarts, rng):
    """The restarts' votes and the chosen candidate, as a :class:`Choice`.

    The chosen candidate has the most votes, the smaller k on ties.
    ``candidates`` are checked and sorted; ``rng`` is a ``RandomState``.
    """
    method = METHODS[criterion]
    # The restarts share the k-means budget: each runs its share of n_init.
    restart_n_init = -(-n_init // n_restarts)
    scores = np.empty((n_restarts, len(candidates)))
    votes = np.zeros(len(candidates), dtype=int)
    rule, density_pick = criterion, None
    if criterion == "density":
        # HDBSCAN draws nothing at random, and a subsample only thins the
        # density: it runs once on all rows and, where it decides, decides
        # every restart's vote; elsewhere the silhouette does.
        count, coverage = density_clusters(Z)
        if coverage >= DENSITY_COVERAGE and count in candidates:
            density_pick = count
        else:
            rule = "silhouette"
    final_seed = _seed(rng)
    # A generator per restart, drawn first: the rows and k-means fits of
    # every restart do not depend on what the criterion draws.
    for restart, seed in enumerate([_seed(rng) for _ in range(n_restarts)]):
        restart_rng = check_random_state(seed)
        Z_restart = Z[_restart_rows(len(Z), candidates, n_restarts, restart_rng)]
        fits = _fit_candidates(
            Z_restart, candidates, n_init=restart_n_init, rng=restart_rng
        )
        values = method.score(Z_restart, fits, restart_rng, restart_n_init)
        scores[restart] = [values[k] for k in candidates]
        pick = method.pick(values) if density_pick is None else density_pick
        votes[candidates.index(pick)] += 1
    # argmax returns the first maximum: the smallest k among tied votes.
    best_k = candidates[int(np.argmax(votes))]
    centers = KMeans(best_k, n_init=n_init, random_state=final_seed).fit(Z)
    return Choice(
        best_k, tuple(candidates), scores, votes, rule, centers.cluster_centers_
    )


# ---------------------------------------------------------------------------
# Public function


def select_n_clusters(
    Z,
    candidates,
    *,
    criterion="density",
    n_init=20,
    n_restarts=N_RESTARTS,
    random_state=None,
):
    """Choose the number of clusters of an embedding without labels.

    Each of ``n_restarts`` restarts fits k-means with every candidate number
    of clusters on its own random 80% of the rows of ``Z`` (all of them with
    a single restart), scores every candidate from these fits with the
    criterion, and votes for the candidate the criterion's rule picks. The
    candidate with the most votes is returned, the smaller k on ties, with
    the centroids of a k-means fit on all of ``Z`` (DEC's initial
    centroids). Voting makes the choice robust to float-level near-ties,
    which can differ between machines and thread counts.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_features)
        The embedding to cluster, e.g. the encoder's output after pretraining.

    candidates : iterable of int
        Numbers of clusters to try, each in ``[2, n_samples - 1]``. They are
        sorted and duplicates dropped.

    criterion : {"silhouette", "calinski_harabasz", "davies_bouldin", \
"stability", "prediction_strength", "generalisability", "density"}, \
default="density"
        How candidates are scored, and the rule that picks one:

        - "silhouette": mean silhouette of the k-means labels, on a seeded
          subsample of at most 5000 rows; the largest wins.
        - "calinski_harabasz": between- over within-cluster dispersion; the
          largest wins.
        - "davies_bouldin": mean similarity of each cluster with its most
          similar one; the smallest wins.
        - "stability": mean adjusted Rand index, on all rows, between
          k-means fitted on two random halves (5 splits), minus the same on
          uniform data spanning ``Z``'s principal-axes bounding box; the
          largest wins.
        - "prediction_strength": Tibshirani and Walther's prediction
          strength on the same kind of random halves: for the clusters
          k-means finds on one half, the share of pairs that the other
          half's centroids keep together, for the weakest cluster. The
          largest ``k`` with a strength of at least 0.8 wins (the most
          stable one if none reaches it).
        - "generalisability": DEC's ``G = L_train / L_validation``: on an
          80/20 split, centroids initialised by k-means on the training rows
          are trained alone by ``KL(P || Q)`` on the frozen training rows,
          and ``L`` is ``KL(P || Q)`` on either part. The chosen ``k`` is the
          one followed by the largest drop of ``G`` to the next candidate.
        - "density": the number of HDBSCAN clusters of ``Z`` (each of at
          least 2% of the rows, density from 10 neighbours) where they hold
          at least 75% of the rows and their number is a candidate; else
          "silhouette". The candidates are scored by the silhouette either
          way. HDBSCAN finds clusters of any shape that k-means
          cuts wrongly, and runs once on all rows (it draws nothing at
          random).

        The :ref:`design notes <design-choosing-k-criterion>` compare them
        on embeddings of the estimators' default pretraining; "density",
        the default, was exact most often.

    n_init : int, default=20
        Number of k-means initialisations per candidate, shared by the
        restarts (each runs ``ceil(n_init / n_restarts)``), and of the final
        fit of the chosen k.

    n_restarts : int, default=5
        Number of restarts that vote. 1 scores all rows once and returns
        the criterion's pick, without a vote.

    random_state : int, RandomState instance or None, default=None
        Seeds k-means, subsampling and resampling. The k-means fits do not
        depend on ``criterion``.

    Returns
    -------
    best_k : int
        The chosen number of clusters.

    scores : dict of int to float
        The criterion's value for every candidate, in increasing ``k``,
        averaged over the restarts.

    centers : ndarray of shape (best_k, n_features)
        Centroids of the k-means fit with ``best_k`` clusters on all of ``Z``.

    Raises
    ------
    ValueError
        If ``criterion`` is unknown, ``candidates`` is empty or holds a value
        outside ``[2, n_samples - 1]``, or ``n_init`` or ``n_restarts`` is
        not a positive integer.
    TypeError
        If a candidate is not an integer.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from skdec import select_n_clusters
    >>> Z, _ = make_blobs(n_samples=300, centers=4, random_state=0,
    ...                   cluster_std=0.5)
    >>> best_k, scores, centers = select_n_clusters(Z, range(2, 8),
    ...                                             random_state=0)
    >>> best_k, sorted(scores), centers.shape
    (4, [2, 3, 4, 5, 6, 7], (4, 2))
    """
    if criterion not in CRITERIA:
        raise ValueError(
            f"criterion must be one of {', '.join(map(repr, CRITERIA))}; "
            f"got {criterion!r}."
        )
    for name, value in (("n_init", n_init), ("n_restarts", n_restarts)):
        if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    Z = check_array(Z, dtype=[np.float64, np.float32])
    candidates = _check_candidates(candidates, len(Z))
    rng = check_random_state(random_state)
    choice = choose_n_clusters(
        Z,
        list(candidates),
        criterion=criterion,
        n_init=n_init,
        n_restarts=n_restarts,
        rng=rng,
    )
    mean = choice.scores.mean(axis=0)
    scores = {k: float(value) for k, value in zip(candidates, mean, strict=True)}
    return choice.n_clusters, scores, choice.centers
