"""Choosing n_clusters without labels: ``n_clusters_search="clustering"``
and ``GridSearchCV`` with the default ``score``."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils._param_validation import InvalidParameterError

from skdec import DECClusterer

from .conftest import TINY

# Enough pretraining for an embedding that separates the blobs.
SEARCH = {
    **TINY,
    "module__latent_dim": 3,
    "pretrain_epochs": 100,
    "batch_size": 32,
    "pretrain_batch_size": 32,
    "max_iter": 60,
}


@pytest.fixture(scope="module")
def four_blobs():
    X, y = make_blobs(
        n_samples=160, centers=4, n_features=6, center_box=(-10, 10), random_state=0
    )
    return MinMaxScaler().fit_transform(X).astype(np.float32), y


def _search(X, **params):
    params = {
        **SEARCH,
        "n_clusters": range(2, 7),
        "n_clusters_search": "clustering",
        "random_state": 0,
        **params,
    }
    return DECClusterer(**params).fit(X)


@pytest.fixture(scope="module")
def searched(four_blobs):
    return _search(four_blobs[0])


def test_clustering_search_finds_the_true_number(searched):
    assert searched.n_clusters_ == 4
    assert searched.n_clusters_rule_ == "clustering"
    np.testing.assert_array_equal(searched.n_clusters_candidates_, [2, 3, 4, 5, 6])
    assert searched.cluster_centers_.shape[0] == 4


def test_clustering_search_scores_are_the_silhouettes(searched, four_blobs):
    X, _ = four_blobs
    scores = searched.n_clusters_scores_
    assert scores.shape == (5,)
    assert np.all((scores >= -1) & (scores <= 1))
    # The best score is the chosen candidate's, and it is the fitted model's
    # own label-free score on the training data.
    assert scores.argmax() == searched.n_clusters_ - 2
    assert scores.max() == pytest.approx(searched.score(X), abs=1e-6)


def test_clustering_search_history(searched):
    stages = [r["stage"] for r in searched.history_]
    n_pre = sum(stage.startswith("pretrain") for stage in stages)
    n_search = len(searched.n_clusters_candidates_)
    assert n_pre > 0
    assert all(stage.startswith("pretrain") for stage in stages[:n_pre])
    search = searched.history_[n_pre : n_pre + n_search]
    assert [r["stage"] for r in search] == ["n_clusters_search"] * n_search
    assert [r["n_clusters"] for r in search] == [2, 3, 4, 5, 6]
    # The loss is minus the silhouette; every stage is timed.
    np.testing.assert_allclose(
        [-r["loss"] for r in search], searched.n_clusters_scores_
    )
    assert all(r["seconds"] > 0 for r in search)
    # Then the chosen candidate's clustering stage, and nothing else.
    rest = stages[n_pre + n_search :]
    assert rest and set(rest) == {"clustering"}


def test_clustering_search_is_reproducible(searched, four_blobs):
    again = _search(four_blobs[0])
    assert again.n_clusters_ == searched.n_clusters_
    np.testing.assert_allclose(again.n_clusters_scores_, searched.n_clusters_scores_)
    np.testing.assert_array_equal(again.labels_, searched.labels_)


@pytest.mark.parametrize("bad", ["dec", "Clustering", "kmeans", None])
def test_invalid_n_clusters_search_is_a_clear_error(four_blobs, bad):
    with pytest.raises(InvalidParameterError, match="n_clusters_search"):
        _search(four_blobs[0], n_clusters_search=bad)


def test_grid_search_with_default_scoring_finds_the_true_number():
    X, _ = make_blobs(
        n_samples=160, centers=3, n_features=6, center_box=(-10, 10), random_state=0
    )
    X = MinMaxScaler().fit_transform(X).astype(np.float32)
    estimator = DECClusterer(**SEARCH, random_state=0)
    search = GridSearchCV(estimator, {"n_clusters": [2, 3, 4, 5]}, cv=2).fit(X)
    assert search.best_params_ == {"n_clusters": 3}
    # The default scoring is score(): a silhouette, so in [-1, 1].
    scores = search.cv_results_["mean_test_score"]
    assert np.all((scores >= -1) & (scores <= 1))
    assert scores.argmax() == 1
