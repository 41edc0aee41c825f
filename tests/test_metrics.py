"""Tests for :mod:`skdec.metrics`."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score as sk_ari
from sklearn.metrics import normalized_mutual_info_score as sk_nmi
from sklearn.metrics import silhouette_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skdec import DECClusterer, metrics
from skdec.metrics import (
    accuracy_scorer,
    adjusted_rand_score,
    ari_scorer,
    cluster_accuracy,
    matched_labels,
    nmi_scorer,
    normalized_mutual_info_score,
    silhouette_scorer,
)


def brute_force_accuracy(labels_true, labels_pred):
    """Max accuracy over every one-to-one map from clusters to classes.

    Works sample by sample (no contingency matrix) so that it shares no code
    with the implementation. The smaller label set is padded with dummy labels
    that never match, which models unmatched clusters (or classes).
    """
    classes = sorted(set(labels_true))
    clusters = sorted(set(labels_pred))
    size = max(len(classes), len(clusters))
    padded = classes + [object() for _ in range(size - len(classes))]
    best = 0.0
    for perm in itertools.permutations(range(size), len(clusters)):
        mapping = {c: padded[p] for c, p in zip(clusters, perm, strict=True)}
        hits = sum(
            mapping[p] == t for t, p in zip(labels_true, labels_pred, strict=True)
        )
        best = max(best, hits / len(labels_true))
    return best


@pytest.mark.parametrize("seed", range(60))
def test_cluster_accuracy_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_samples = int(rng.integers(1, 25))
    # Cover fewer, as many and more clusters than classes.
    n_classes = int(rng.integers(1, 5))
    n_clusters = int(rng.integers(1, 6))
    class_values = rng.choice([-7, -1, 0, 3, 10, 42], size=n_classes, replace=False)
    cluster_values = rng.choice([-2, 0, 1, 5, 8, 99], size=n_clusters, replace=False)
    labels_true = rng.choice(class_values, size=n_samples).tolist()
    labels_pred = rng.choice(cluster_values, size=n_samples).tolist()

    expected = brute_force_accuracy(labels_true, labels_pred)
    result = cluster_accuracy(labels_true, labels_pred)
    assert result == pytest.approx(expected)
    assert isinstance(result, float)


@pytest.mark.parametrize(
    ("labels_true", "labels_pred", "expected"),
    [
        # More clusters than classes: the best cluster per class counts.
        ([0, 0, 0, 1, 1, 1], [0, 0, 1, 2, 2, 3], 4 / 6),
        # Fewer clusters than classes: one class stays unmatched.
        ([0, 0, 1, 1, 2, 2], [5, 5, 5, 5, 6, 6], 4 / 6),
        # A single cluster gets the most common class.
        ([0, 1, 1, 2, 2, 2], [0, 0, 0, 0, 0, 0], 3 / 6),
        # The greedy choice (cluster 0 -> class 0, 3 hits) is not optimal.
        ([0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 0, 1, 1], 5 / 7),
    ],
)
def test_cluster_accuracy_known_values(labels_true, labels_pred, expected):
    assert cluster_accuracy(labels_true, labels_pred) == pytest.approx(expected)
    assert brute_force_accuracy(labels_true, labels_pred) == pytest.approx(expected)


def test_cluster_accuracy_perfect_relabelling():
    rng = np.random.default_rng(0)
    labels_true = rng.integers(0, 5, size=200)
    relabel = np.array([3, 0, 4, 1, 2])
    assert cluster_accuracy(labels_true, relabel[labels_true]) == 1.0
    assert cluster_accuracy(labels_true, labels_true) == 1.0


def test_cluster_accuracy_string_and_mixed_labels():
    labels_true = ["cat", "cat", "dog", "dog", "bird"]
    assert cluster_accuracy(labels_true, ["x", "x", "y", "y", "z"]) == 1.0
    assert cluster_accuracy(labels_true, [-1, -1, 7, 7, 7]) == pytest.approx(0.8)
    assert cluster_accuracy(np.array(labels_true), ("a", "b", "b", "b", "c")) == (
        pytest.approx(0.8)
    )


def test_cluster_accuracy_single_sample():
    assert cluster_accuracy([3], ["a"]) == 1.0


def test_cluster_accuracy_mismatched_lengths():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        cluster_accuracy([0, 1, 1], [0, 1])


def test_cluster_accuracy_empty():
    with pytest.raises(ValueError, match="empty"):
        cluster_accuracy([], [])


@pytest.mark.parametrize(
    ("labels_true", "labels_pred", "name"),
    [
        (np.zeros((4, 2)), np.zeros(4), "labels_true"),
        (np.zeros(4), np.zeros((4, 1)), "labels_pred"),
        (np.int64(0), np.zeros(1), "labels_true"),
    ],
)
def test_cluster_accuracy_not_1d(labels_true, labels_pred, name):
    with pytest.raises(ValueError, match=f"{name} must be 1-D"):
        cluster_accuracy(labels_true, labels_pred)


# --- property tests --------------------------------------------------------


@st.composite
def label_pairs(draw, max_classes=4, max_clusters=6, max_size=40):
    n_samples = draw(st.integers(1, max_size))
    labels_true = draw(
        st.lists(
            st.integers(0, max_classes - 1), min_size=n_samples, max_size=n_samples
        )
    )
    labels_pred = draw(
        st.lists(
            st.integers(0, max_clusters - 1), min_size=n_samples, max_size=n_samples
        )
    )
    return np.array(labels_true), np.array(labels_pred)


@st.composite
def label_pairs_and_relabelling(draw):
    labels_true, labels_pred = draw(label_pairs())
    # A bijection of the predicted label values onto arbitrary (also negative)
    # integers; any relabelling is a permutation of a superset of values.
    new_values = draw(st.permutations(list(range(-6, 6))))
    relabelled = np.array(new_values)[labels_pred]
    return labels_true, labels_pred, relabelled


@settings(max_examples=50, deadline=None)
@given(label_pairs_and_relabelling())
def test_scores_invariant_to_relabelling(data):
    labels_true, labels_pred, relabelled = data
    for score in (cluster_accuracy, normalized_mutual_info_score, adjusted_rand_score):
        assert score(labels_true, relabelled) == pytest.approx(
            score(labels_true, labels_pred), abs=1e-12
        )


@settings(max_examples=50, deadline=None)
@given(label_pairs())
def test_cluster_accuracy_bounds(data):
    labels_true, labels_pred = data
    acc = cluster_accuracy(labels_true, labels_pred)
    assert 0.0 <= acc <= 1.0
    n_classes = np.unique(labels_true).size
    n_clusters = np.unique(labels_pred).size
    # The cells of the padded square contingency matrix split into
    # max(n_classes, n_clusters) disjoint matchings, so the best one holds at
    # least that fraction of the samples.
    assert acc >= 1 / max(n_classes, n_clusters) - 1e-12
    # Matching any single (class, cluster) pair is feasible.
    _, counts = np.unique(
        np.stack([labels_true, labels_pred]), axis=1, return_counts=True
    )
    assert acc >= counts.max() / labels_true.size - 1e-12


@settings(max_examples=50, deadline=None)
@given(label_pairs())
def test_single_cluster_accuracy_is_majority_class_frequency(data):
    labels_true, _ = data
    single = np.zeros_like(labels_true)
    majority = np.bincount(labels_true).max() / labels_true.size
    assert cluster_accuracy(labels_true, single) == pytest.approx(majority)


@settings(max_examples=50, deadline=None)
@given(label_pairs())
def test_scores_symmetric(data):
    labels_true, labels_pred = data
    for score in (cluster_accuracy, normalized_mutual_info_score, adjusted_rand_score):
        assert score(labels_true, labels_pred) == pytest.approx(
            score(labels_pred, labels_true), abs=1e-12
        )


@settings(max_examples=50, deadline=None)
@given(label_pairs())
def test_matched_labels_consistent_with_accuracy(data):
    labels_true, labels_pred = data
    matched = matched_labels(labels_true, labels_pred)
    assert matched.shape == labels_true.shape
    assert np.mean(matched == labels_true) == pytest.approx(
        cluster_accuracy(labels_true, labels_pred)
    )
    # Matching is one-to-one: the partition is unchanged up to the merge of
    # unmatched clusters into the fill value, and matched clusters get
    # distinct classes.
    n_unmatched = max(np.unique(labels_pred).size - np.unique(labels_true).size, 0)
    assert set(np.unique(matched)) <= set(np.unique(labels_true)) | {-1}
    assert np.unique(matched).size == np.unique(labels_pred).size - max(
        n_unmatched - 1, 0
    )


# --- matched_labels ----------------------------------------------------------


def test_matched_labels_relabels_onto_true_values():
    labels_true = np.array([10, 10, 20, 20, 30, 30])
    labels_pred = np.array([2, 2, 0, 0, 1, 0])
    matched = matched_labels(labels_true, labels_pred)
    np.testing.assert_array_equal(matched, [10, 10, 20, 20, 30, 20])
    assert matched.dtype == labels_true.dtype


def test_matched_labels_unmatched_clusters_get_minus_one():
    matched = matched_labels([0, 0, 1, 1, 1, 1], [5, 5, 6, 6, 7, 8])
    np.testing.assert_array_equal(matched, [0, 0, 1, 1, -1, -1])


def test_matched_labels_default_fill_avoids_existing_classes():
    # -1 is a class, so the unmatched cluster gets min(classes) - 1 == -4.
    matched = matched_labels([-1, -1, -3, 4, 4], [0, 0, 1, 2, 3])
    assert matched.tolist() in ([-1, -1, -3, 4, -4], [-1, -1, -3, -4, 4])
    # Unsigned labels are promoted so that the negative fill value fits.
    matched = matched_labels(np.array([0, 0, 1], dtype=np.uint8), [0, 1, 2])
    assert matched.tolist() in ([0, -1, 1], [-1, 0, 1])
    assert np.issubdtype(matched.dtype, np.signedinteger)


def test_matched_labels_fewer_clusters_than_classes():
    # Cluster 1 goes to its majority class "a", cluster 2 to "c"; "b" is left
    # without a cluster.
    matched = matched_labels(["a", "a", "b", "c"], [1, 1, 1, 2])
    assert matched.tolist() == ["a", "a", "a", "c"]


def test_matched_labels_strings_and_fill_value():
    labels_true = ["cat", "cat", "dog", "dog"]
    matched = matched_labels(labels_true, [0, 0, 1, 2], fill_value="none")
    assert matched.tolist() in (
        ["cat", "cat", "dog", "none"],
        ["cat", "cat", "none", "dog"],
    )
    # A fill value of another type falls back to an object array.
    matched = matched_labels(labels_true, [0, 1, 2, 2], fill_value=-1)
    assert matched.dtype == object
    assert matched.tolist() in ([-1, "cat", "dog", "dog"], ["cat", -1, "dog", "dog"])


def test_matched_labels_strings_need_fill_value_only_when_unmatched():
    labels_true = ["cat", "cat", "dog", "dog"]
    assert matched_labels(labels_true, [1, 1, 0, 0]).tolist() == labels_true
    with pytest.raises(ValueError, match="fill_value"):
        matched_labels(labels_true, [0, 1, 2, 2])


def test_matched_labels_rejects_fill_value_that_is_a_class():
    with pytest.raises(ValueError, match="fill_value=1"):
        matched_labels([0, 1], [0, 1], fill_value=1)


def test_matched_labels_validates_inputs():
    with pytest.raises(ValueError, match="inconsistent"):
        matched_labels([0, 1], [0])
    with pytest.raises(ValueError, match="empty"):
        matched_labels([], [])


# --- scorers -----------------------------------------------------------------


def test_reexports_are_sklearn_functions():
    assert normalized_mutual_info_score is sk_nmi
    assert adjusted_rand_score is sk_ari
    for name in metrics.__all__:
        assert hasattr(metrics, name)


@pytest.fixture(scope="module")
def blobs():
    return make_blobs(n_samples=150, centers=3, random_state=0)


def _grid_search(scoring, refit=True):
    return GridSearchCV(
        KMeans(n_init=2, random_state=0),
        {"n_clusters": [2, 3, 4]},
        scoring=scoring,
        refit=refit,
        cv=2,
    )


@pytest.mark.parametrize("scorer", [accuracy_scorer, nmi_scorer, ari_scorer])
def test_scorer_selects_true_number_of_clusters(blobs, scorer):
    X, y = blobs
    search = _grid_search(scorer).fit(X, y)
    assert search.best_params_ == {"n_clusters": 3}
    assert 0.0 < search.best_score_ <= 1.0


def test_scorers_in_dict_with_refit(blobs):
    X, y = blobs
    scoring = {"acc": accuracy_scorer, "nmi": nmi_scorer, "ari": ari_scorer}
    search = _grid_search(scoring, refit="acc").fit(X, y)
    assert search.best_params_ == {"n_clusters": 3}
    for name in scoring:
        scores = search.cv_results_[f"mean_test_{name}"]
        assert np.argmax(scores) == 1
    # Refitted on all data, the chosen model should recover the blobs well.
    assert cluster_accuracy(y, search.predict(X)) > 0.8


def test_scorer_value_matches_metric(blobs):
    X, y = blobs
    model = KMeans(n_clusters=3, n_init=2, random_state=0).fit(X)
    pred = model.predict(X)
    assert accuracy_scorer(model, X, y) == pytest.approx(cluster_accuracy(y, pred))
    assert nmi_scorer(model, X, y) == pytest.approx(sk_nmi(y, pred))
    assert ari_scorer(model, X, y) == pytest.approx(sk_ari(y, pred))


# -- silhouette_scorer (label-free) ---------------------------------------------


class _FixedClusterer:
    """Stand-in estimator: identity embedding, labels given up front."""

    def __init__(self, labels):
        self.labels = np.asarray(labels)

    def transform(self, X):
        return np.asarray(X)

    def predict(self, X):
        return self.labels


def test_silhouette_scorer_value_is_silhouette_of_embedding(blobs):
    X, _ = blobs
    model = make_pipeline(
        MinMaxScaler(), KMeans(n_clusters=3, n_init=2, random_state=0)
    )
    model.fit(X)
    expected = silhouette_score(model.transform(X), model.predict(X))
    assert silhouette_scorer(model, X) == pytest.approx(expected)
    # Computed in the embedding, not on X.
    assert silhouette_scorer(model, X) != pytest.approx(
        silhouette_score(X, model.predict(X))
    )


@pytest.mark.parametrize("labels", [[0, 0, 0, 0], [0, 1, 2, 3]])
def test_silhouette_scorer_undefined_silhouette_is_worst(labels):
    X = np.arange(8.0).reshape(4, 2)
    assert silhouette_scorer(_FixedClusterer(labels), X) == -1.0


def test_silhouette_scorer_subsamples_large_inputs_with_a_fixed_seed():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(6000, 2))
    labels = (X[:, 0] > 0).astype(int)
    estimator = _FixedClusterer(labels)
    score = silhouette_scorer(estimator, X)
    assert score == silhouette_scorer(estimator, X)
    rows = np.random.RandomState(0).choice(6000, 5000, replace=False)
    assert score == pytest.approx(silhouette_score(X[rows], labels[rows]))
    full = silhouette_score(X, labels)
    assert score != pytest.approx(full, abs=1e-12)
    assert score == pytest.approx(full, abs=0.02)


@pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)
def test_silhouette_scorer_grid_search_without_labels():
    X, _ = make_blobs(
        n_samples=150, centers=3, n_features=4, cluster_std=0.5, random_state=0
    )
    X = MinMaxScaler().fit_transform(X).astype(np.float32)
    dec = DECClusterer(
        module__hidden_dims=(16,),
        module__latent_dim=2,
        pretrain_epochs=10,
        max_iter=30,
        n_init=2,
        random_state=0,
    )
    search = GridSearchCV(
        dec, {"n_clusters": [2, 3, 4, 5]}, scoring=silhouette_scorer, cv=2
    ).fit(X)
    assert search.best_params_ == {"n_clusters": 3}
    assert np.argmax(search.cv_results_["mean_test_score"]) == 1
    assert search.best_estimator_.n_clusters == 3
