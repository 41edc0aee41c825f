"""Tests for :func:`skdec._select_k.select_n_clusters`."""

import dataclasses

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import silhouette_score

import skdec._silhouette
from skdec import _select_k
from skdec._select_k import CRITERIA, select_n_clusters

CANDIDATES = list(range(2, 11))


def _blobs(n_clusters, seed=0, n_samples=300):
    """Well-separated gaussian blobs in a 4-D 'embedding'."""
    Z, y = make_blobs(
        n_samples=n_samples,
        centers=n_clusters,
        n_features=4,
        cluster_std=0.4,
        center_box=(-20, 20),
        random_state=seed,
    )
    return Z.astype(np.float32), y


@pytest.mark.parametrize("n_clusters", [3, 5, 8])
def test_default_criterion_finds_true_k(n_clusters):
    Z, y = _blobs(n_clusters)
    best_k, scores, centers = select_n_clusters(Z, CANDIDATES, n_init=3, random_state=0)
    assert best_k == n_clusters
    assert list(scores) == CANDIDATES
    assert all(np.isfinite(v) for v in scores.values())
    # The default ("density") scores by the silhouette: largest for the best
    # partition.
    assert max(scores, key=scores.get) == n_clusters
    # The centres returned are those of the blobs.
    blob_means = np.array([Z[y == c].mean(axis=0) for c in range(n_clusters)])
    gaps = np.linalg.norm(centers[:, None] - blob_means[None], axis=2).min(axis=1)
    assert centers.shape == (n_clusters, 4)
    assert gaps.max() < 0.5


def test_silhouette_scores_are_sklearn_values():
    Z, _ = _blobs(3, n_samples=120)
    _, scores, _ = select_n_clusters(
        Z, [2, 3, 4], criterion="silhouette", n_init=2, n_restarts=1, random_state=0
    )
    rng = np.random.RandomState(0)
    _select_k._seed(rng)  # the final fit's seed, then the one restart's
    rng = np.random.RandomState(_select_k._seed(rng))
    for k in (2, 3, 4):
        labels = KMeans(k, n_init=2, random_state=_select_k._seed(rng)).fit_predict(Z)
        assert scores[k] == pytest.approx(silhouette_score(Z, labels))


def test_silhouette_subsample_is_seeded(monkeypatch):
    monkeypatch.setattr(skdec._silhouette, "MAX_SILHOUETTE_SAMPLES", 40)
    Z, _ = _blobs(3, n_samples=200)
    kwargs = dict(criterion="silhouette", n_init=1, random_state=1)
    first = select_n_clusters(Z, [2, 3, 4], **kwargs)
    again = select_n_clusters(Z, [2, 3, 4], **kwargs)
    assert first[0] == again[0] == 3
    assert first[1] == again[1]


@pytest.fixture
def few_centroid_steps(monkeypatch):
    """Shorter centroid training: these tests check plumbing, not convergence."""
    monkeypatch.setattr(_select_k, "CENTROID_STEPS", 20)


@pytest.mark.usefixtures("few_centroid_steps")
@pytest.mark.parametrize("criterion", CRITERIA)
def test_every_criterion_runs_and_is_deterministic(criterion):
    Z, _ = _blobs(4, n_samples=160)
    candidates = [2, 3, 4, 5, 6]
    first = select_n_clusters(
        Z, candidates, criterion=criterion, n_init=2, random_state=0
    )
    again = select_n_clusters(
        Z, candidates, criterion=criterion, n_init=2, random_state=0
    )
    best_k, scores, centers = first
    assert best_k in candidates
    assert list(scores) == candidates
    assert all(isinstance(v, float) and np.isfinite(v) for v in scores.values())
    assert centers.shape == (best_k, Z.shape[1])
    assert best_k == again[0]
    assert scores == again[1]
    np.testing.assert_array_equal(centers, again[2])


@pytest.mark.parametrize(
    "criterion",
    ["silhouette", "calinski_harabasz", "davies_bouldin", "prediction_strength"],
)
def test_index_criteria_find_well_separated_blobs(criterion):
    Z, _ = _blobs(4, n_samples=200)
    best_k, _, _ = select_n_clusters(
        Z, range(2, 8), criterion=criterion, n_init=2, random_state=0
    )
    assert best_k == 4


@pytest.mark.usefixtures("few_centroid_steps")
def test_kmeans_fits_do_not_depend_on_criterion():
    Z, _ = _blobs(3, n_samples=120)
    centers = [
        select_n_clusters(Z, [3], criterion=c, n_init=2, random_state=0)[2]
        for c in CRITERIA
    ]
    for other in centers[1:]:
        np.testing.assert_array_equal(centers[0], other)


def test_candidates_are_sorted_and_deduplicated():
    Z, _ = _blobs(3, n_samples=120)
    _, scores, _ = select_n_clusters(Z, [4, 2, 3, 2], n_init=1, random_state=0)
    assert list(scores) == [2, 3, 4]


def test_stability_is_corrected_for_small_k():
    # Unclustered data: raw split-half agreement is high for small k anyway,
    # the corrected score is not.
    Z = np.random.RandomState(0).uniform(size=(300, 2))
    fits = _select_k._fit_candidates(
        Z, [2, 3, 4], n_init=2, rng=np.random.RandomState(0)
    )
    observed, baseline = _select_k._stability_parts(Z, fits, np.random.RandomState(0))
    corrected = _select_k._stability(Z, fits, np.random.RandomState(0), 2)
    assert max(observed.values()) > 0.5
    assert max(abs(v) for v in corrected.values()) < 0.5
    assert corrected == {k: observed[k] - baseline[k] for k in fits}


def test_sharpest_drop_rule():
    rule = _select_k._before_sharpest_drop
    assert rule({2: 1.0, 3: 1.0, 4: 0.9, 5: 0.5, 6: 0.45}) == 4
    assert rule({7: 0.3}) == 7


@pytest.mark.parametrize(
    "candidates, error, match",
    [
        ([], ValueError, "at least one"),
        ([1, 2], ValueError, r"\[2, n_samples - 1\]"),
        ([2, 50], ValueError, r"\[2, n_samples - 1\] = \[2, 49\], got 50"),
        ([2, 3.0], TypeError, "integers"),
        ([True, 3], TypeError, "integers"),
        (5, TypeError, "sequence of integers"),
    ],
)
def test_bad_candidates(candidates, error, match):
    Z, _ = _blobs(3, n_samples=50)
    with pytest.raises(error, match=match):
        select_n_clusters(Z, candidates)


def test_bad_criterion_and_n_init():
    Z, _ = _blobs(3, n_samples=50)
    with pytest.raises(ValueError, match="criterion must be one of"):
        select_n_clusters(Z, [2, 3], criterion="gap")
    with pytest.raises(ValueError, match="n_init must be a positive integer"):
        select_n_clusters(Z, [2, 3], n_init=0)
    with pytest.raises(ValueError, match="2D array"):
        select_n_clusters(Z[:, 0], [2, 3])


def test_centroid_training_lowers_dec_loss():
    Z, y = _blobs(3, n_samples=150)
    z = torch.as_tensor(Z)
    means = np.array([Z[y == c].mean(axis=0) for c in range(3)])
    start = torch.as_tensor(means + 2.0, dtype=torch.float32)
    trained = _select_k._train_centroids(z, start, learning_rate=0.1)
    with torch.no_grad():
        before = float(_select_k._kl_to_target(z, start))
        after = float(_select_k._kl_to_target(z, trained))
    assert after < 0.8 * before


# ---------------------------------------------------------------------------
# Restarts, votes and the density criterion


def _choose(Z, candidates, criterion="davies_bouldin", n_restarts=5, seed=0):
    return _select_k.choose_n_clusters(
        Z,
        candidates,
        criterion=criterion,
        n_init=4,
        n_restarts=n_restarts,
        rng=np.random.RandomState(seed),
    )


def test_restarts_vote_and_scores_are_their_mean():
    Z, _ = _blobs(4, n_samples=200)
    choice = _choose(Z, [2, 3, 4, 5, 6])
    assert choice.n_clusters == 4
    assert choice.scores.shape == (5, 5)
    assert choice.votes.sum() == 5
    assert choice.votes.argmax() == 2
    # Each restart scored its own subsample: the rows differ between restarts.
    assert len({tuple(row) for row in choice.scores.round(12)}) == 5
    _, scores, _ = select_n_clusters(
        Z, [2, 3, 4, 5, 6], criterion="davies_bouldin", n_init=4, random_state=0
    )
    np.testing.assert_allclose(list(scores.values()), choice.scores.mean(axis=0))


def test_ties_in_votes_go_to_the_smaller_k(monkeypatch):
    # A rule voting 5, 3, 5, 3: two votes each, so 3 wins.
    picks = iter([5, 3, 5, 3])
    rule = lambda scores: next(picks)  # noqa: E731
    method = dataclasses.replace(_select_k.METHODS["silhouette"], pick=rule)
    monkeypatch.setitem(_select_k.METHODS, "silhouette", method)
    Z, _ = _blobs(4, n_samples=100)
    choice = _choose(Z, [2, 3, 4, 5], criterion="silhouette", n_restarts=4)
    assert choice.n_clusters == 3
    np.testing.assert_array_equal(choice.votes, [0, 2, 0, 2])


def test_restart_fits_do_not_depend_on_the_criterion():
    Z, _ = _blobs(3, n_samples=120)
    db = _choose(Z, [2, 3, 4], criterion="davies_bouldin")
    silhouette = _choose(Z, [2, 3, 4], criterion="silhouette")
    density = _choose(Z, [2, 3, 4], criterion="density")
    # density is scored by the silhouette on the same restarts' fits.
    np.testing.assert_array_equal(silhouette.scores, density.scores)
    np.testing.assert_array_equal(db.centers, density.centers)


def _near_pair_and_far_blob(seed=0):
    """Two blobs 3 apart and a third 30 away: the indices prefer 2."""
    centers = [(0.0, 0.0), (3.0, 0.0), (30.0, 0.0)]
    Z, y = make_blobs(
        n_samples=600, centers=centers, cluster_std=0.5, random_state=seed
    )
    return Z.astype(np.float32), y


def test_density_counts_the_density_clusters():
    Z, _ = _near_pair_and_far_blob()
    assert _select_k.density_clusters(Z)[0] == 3
    assert _choose(Z, [2, 3, 4, 5], criterion="silhouette").n_clusters == 2
    choice = _choose(Z, [2, 3, 4, 5], criterion="density")
    assert choice.n_clusters == 3
    np.testing.assert_array_equal(choice.votes, [0, 5, 0, 0])
    # The choice records that HDBSCAN decided, not the silhouette.
    assert choice.rule == "density"


@pytest.mark.parametrize("count, coverage", [(3, 0.5), (9, 0.99), (0, 0.0)])
def test_density_falls_back_to_the_silhouette(monkeypatch, count, coverage):
    # Clusters covering too few rows, or a count outside the candidates.
    monkeypatch.setattr(_select_k, "density_clusters", lambda Z: (count, coverage))
    Z, _ = _near_pair_and_far_blob()
    silhouette = _choose(Z, [2, 3, 4, 5], criterion="silhouette")
    density = _choose(Z, [2, 3, 4, 5], criterion="density")
    assert density.n_clusters == silhouette.n_clusters == 2
    np.testing.assert_array_equal(density.votes, silhouette.votes)
    assert density.rule == silhouette.rule == "silhouette"


def test_density_needs_more_rows_than_its_neighbours():
    Z, _ = _blobs(2, n_samples=10)
    assert _select_k.density_clusters(Z) == (0, 0.0)


def test_bad_n_restarts():
    Z, _ = _blobs(3, n_samples=50)
    with pytest.raises(ValueError, match="n_restarts must be a positive integer"):
        select_n_clusters(Z, [2, 3], n_restarts=0)


# ---------------------------------------------------------------------------
# One place: candidates, descriptions and the clustering search


@pytest.mark.parametrize(
    "n_clusters, expected",
    [
        (4, (4,)),
        ("auto", tuple(range(2, 21))),
        ([5, 3, 3], (3, 5)),
        (range(2, 5), (2, 3, 4)),
    ],
)
def test_candidates_resolve_from_n_clusters(n_clusters, expected):
    assert _select_k.resolve_candidates(n_clusters, 100) == expected


def test_every_method_describes_its_rule_and_scores():
    assert set(_select_k.SEARCHES) == set(_select_k.CRITERIA) | {"clustering"}
    for name, method in _select_k.METHODS.items():
        assert method.scored and method.rule, name
        # A k-means criterion carries its functions; the clustering search's
        # score is the stage's, given to search_by_clustering.
        assert (method.score is None) == (name == "clustering")
    # Thresholds are read from the constants the rules use.
    threshold = _select_k.PREDICTION_STRENGTH_THRESHOLD
    assert f"at least {threshold}" in _select_k.METHODS["prediction_strength"].rule
    coverage = f"{_select_k.DENSITY_COVERAGE:.0%}"
    assert coverage in _select_k.METHODS["density"].rule


def test_the_clustering_search_runs_plain_functions():
    # No estimator: the stage and the score are functions of their arguments.
    Z, _ = _blobs(3, n_samples=60)
    network = torch.nn.Linear(4, 4)
    calls = []

    class Outcome:
        def __init__(self, k):
            self.module, self.n_iter = k, 0

    def run_stage(autoencoder, centers, batch_seed, hooks):
        assert autoencoder is not network  # a copy per candidate
        calls.append((len(centers), batch_seed))
        hooks.record({"stage": "clustering", "loss": 0.0})
        return Outcome(len(centers))

    from skdec._distributed import LocalComm
    from skdec._hooks import Hooks

    hooks = Hooks(None, None, LocalComm())
    best, choice = _select_k.search_by_clustering(
        Z,
        (2, 3, 4),
        network,
        run_stage=run_stage,
        score=lambda k: -abs(k - 3),
        n_init=2,
        rng=np.random.RandomState(0),
        hooks=hooks,
    )
    assert [k for k, _ in calls] == [2, 3, 4]
    assert len({seed for _, seed in calls}) == 1  # one batch seed for all
    assert best.module == 3 and choice.n_clusters == 3
    assert choice.rule == "clustering" and choice.centers is None
    np.testing.assert_array_equal(choice.scores, [[-1, 0, -1]])
    np.testing.assert_array_equal(choice.votes, [0, 1, 0])
    stages = [r["stage"] for r in hooks.history]
    assert stages == ["n_clusters_search"] * 3 + ["clustering"]
