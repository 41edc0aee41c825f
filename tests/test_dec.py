"""Behaviour of DECClusterer as a scikit-learn estimator."""

import sys
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils._param_validation import InvalidParameterError
from threadpoolctl import threadpool_limits

from skdec import DECClusterer, _nn, _train
from skdec._distributed import LocalComm
from skdec._hooks import Hooks
from skdec.callbacks import ProgressBar
from skdec.metrics import accuracy_scorer, ari_scorer, nmi_scorer, silhouette_scorer

from .conftest import TINY


def _fit(X, **params):
    params = {**TINY, "n_clusters": 3, "random_state": 0, **params}
    # TINY's settings that these params leave unused would be warned about.
    if params["max_iter"] == 0:
        params["update_interval"] = 30  # no clustering stage
    init = params.get("init", "kmeans")
    if not isinstance(init, str) or init == "manifold":
        params["n_init"] = 20  # no k-means restarts
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return DECClusterer(**params).fit(X)


def test_well_separated_clusters_are_found(blobs):
    X, y = blobs
    dec = _fit(X, pretrain_epochs=20, max_iter=100)
    assert adjusted_rand_score(y, dec.labels_) > 0.95


def test_labels_equal_predict_and_argmax_proba(blobs):
    X, _ = blobs
    dec = _fit(X)
    proba = dec.predict_proba(X)
    np.testing.assert_array_equal(dec.labels_, dec.predict(X))
    np.testing.assert_array_equal(dec.predict(X), proba.argmax(axis=1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert proba.shape == (len(X), 3)


def test_same_random_state_gives_identical_results(blobs):
    X, _ = blobs
    a, b = _fit(X), _fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    c = _fit(X, random_state=1)
    assert not np.array_equal(a.transform(X), c.transform(X))


def test_global_random_states_are_untouched(blobs):
    X, _ = blobs
    torch_state = torch.random.get_rng_state()
    numpy_state = np.random.get_state()[1].copy()  # noqa: NPY002
    _fit(X)
    assert torch.equal(torch_state, torch.random.get_rng_state())
    legacy_state = np.random.get_state()[1]  # noqa: NPY002
    np.testing.assert_array_equal(numpy_state, legacy_state)


def test_transform_is_the_embedding(blobs):
    X, _ = blobs
    dec = _fit(X, module__latent_dim=4)
    Z = dec.transform(X)
    assert Z.shape == (len(X), 4)
    assert Z.dtype == np.float32
    assert dec.transform(X.astype(np.float64)).dtype == np.float64
    assert dec.cluster_centers_.shape == (3, 4)
    names = dec.get_feature_names_out()
    assert list(names) == [f"decclusterer{i}" for i in range(4)]


def test_max_iter_zero_is_autoencoder_plus_kmeans(blobs):
    X, _ = blobs
    dec = _fit(X, max_iter=0)
    assert dec.n_iter_ == 0
    Z = dec.transform(X)
    sq = ((Z[:, None, :] - dec.cluster_centers_[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(dec.labels_, sq.argmin(axis=1))


def test_clustering_stage_moves_centroids_and_stops_on_tol(blobs):
    X, _ = blobs
    before = _fit(X, max_iter=0)
    after = _fit(X, tol=1.0, update_interval=4, max_iter=50)
    # tol=1 stops at the first comparison of labels, after one interval.
    assert after.n_iter_ == 4
    assert not np.allclose(before.cluster_centers_, after.cluster_centers_)


def test_convergence_warning_when_max_iter_is_reached(blobs):
    X, _ = blobs
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        DECClusterer(3, **{**TINY, "max_iter": 3, "tol": 0.0}).fit(X)


@pytest.mark.parametrize(
    "params, n_records",
    [
        ({"module__layerwise_dropout": 0.2, "pretrain_epochs": 3}, (2 + 1) * 3),
        ({"pretrain_epochs": 3}, 3),
        ({"pretrain_epochs": 0, "pretrain_optimizer": "auto"}, 0),
    ],
    ids=["layerwise", "end_to_end", "none"],
)
def test_history_records_each_stage(blobs, params, n_records):
    X, _ = blobs
    dec = _fit(X, **params)
    pre = [r for r in dec.history_ if r["stage"].startswith("pretrain")]
    assert len(pre) == n_records
    # Pretraining, one k-means start, then the clustering stage's refreshes.
    stages = [r["stage"] for r in dec.history_]
    assert stages[len(pre)] == "init" and stages.count("init") == 1
    assert set(stages[len(pre) + 1 :]) == {"clustering"}
    clustering = [r for r in dec.history_ if r["stage"] == "clustering"]
    assert clustering[0]["iteration"] == 0 and clustering[0]["delta_label"] is None
    assert all(0 <= r["delta_label"] <= 1 for r in clustering[1:])
    # DEC's clustering objective is KL(P || Q).
    assert all(r["loss"] == r["kl"] for r in clustering)


def test_layerwise_pretraining_reduces_reconstruction_loss(blobs):
    X, _ = blobs
    dec = _fit(
        X,
        module__layerwise_dropout=0.2,
        module__hidden_dims=(32, 16),
        pretrain_epochs=15,
    )
    for stage in ("pretrain_layer_0", "pretrain_layer_1", "pretrain_finetune"):
        losses = [r["loss"] for r in dec.history_ if r["stage"] == stage]
        assert len(losses) == 15
        assert losses[-1] < losses[0]


def test_progress_bars_are_a_callback(blobs, capsys):
    X, _ = blobs
    _fit(X)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    _fit(X, callbacks=[ProgressBar()])
    err = capsys.readouterr().err
    assert "pretrain_end_to_end" in err and "clustering" in err


def test_score_is_the_silhouette_in_the_embedding(blobs):
    X, _ = blobs
    dec = _fit(X)
    expected = silhouette_score(dec.transform(X), dec.predict(X))
    assert dec.score(X) == pytest.approx(expected)
    assert dec.score(X) == silhouette_scorer(dec, X)


def test_score_ranks_a_collapsed_fit_last(blobs):
    X, _ = blobs
    dec = _fit(X)
    # Every centroid but one far away: all samples in one cluster.
    dec.module_.centroids.data[1:] += 1e3
    assert np.unique(dec.predict(X)).size == 1
    assert dec.score(X) == -1.0


def test_clone_is_unfitted_with_same_params(blobs):
    X, _ = blobs
    dec = _fit(X)
    copy = clone(dec)
    assert copy.get_params() == dec.get_params()
    assert not hasattr(copy, "labels_")


def test_joblib_round_trip(blobs, tmp_path):
    X, _ = blobs
    dec = _fit(X)
    joblib.dump(dec, tmp_path / "dec.joblib")
    loaded = joblib.load(tmp_path / "dec.joblib")
    np.testing.assert_array_equal(loaded.predict(X), dec.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), dec.predict_proba(X))


def test_pipeline_in_grid_search_with_skdec_scorers(blobs):
    X, y = blobs
    X = X * 40 - 7  # MinMaxScaler brings it back to [0, 1]
    params = {**TINY, "pretrain_epochs": 15, "max_iter": 60, "random_state": 0}
    pipe = make_pipeline(MinMaxScaler(), DECClusterer(**params))
    search = GridSearchCV(
        pipe,
        {"decclusterer__n_clusters": [2, 3, 5]},
        scoring={"acc": accuracy_scorer, "nmi": nmi_scorer, "ari": ari_scorer},
        refit="acc",
        cv=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert search.best_params_ == {"decclusterer__n_clusters": 3}
    assert search.cv_results_["mean_test_ari"][1] > 0.9
    assert search.predict(X).shape == y.shape


def test_set_output_pandas(blobs):
    pd = pytest.importorskip("pandas")
    X, _ = blobs
    X = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    dec = _fit(X).set_output(transform="pandas")
    np.testing.assert_array_equal(dec.feature_names_in_, X.columns)
    frame = dec.transform(X)
    assert list(frame.columns) == ["decclusterer0", "decclusterer1"]


def test_inference_does_not_depend_on_batch_composition(blobs):
    X, _ = blobs
    dec = _fit(X)
    full = dec.predict_proba(X)
    one_by_one = np.vstack([dec.predict_proba(X[i : i + 1]) for i in range(10)])
    np.testing.assert_allclose(full[:10], one_by_one, rtol=1e-6, atol=1e-7)


def test_device_validation(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="device='tpu'"):
        _fit(X, device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            _fit(X, device="cuda")
    assert _fit(X, device="cpu").labels_.shape == (len(X),)


def test_n_clusters_auto_finds_the_true_number():
    X, y = make_blobs(
        n_samples=200, centers=4, n_features=6, center_box=(-10, 10), random_state=1
    )
    X = MinMaxScaler().fit_transform(X)
    dec = _fit(
        X,
        n_clusters=range(2, 8),
        module__latent_dim=3,
        pretrain_epochs=200,
        batch_size=64,
        pretrain_batch_size=64,
    )
    assert dec.n_clusters_ == 4
    np.testing.assert_array_equal(dec.n_clusters_candidates_, [2, 3, 4, 5, 6, 7])
    assert dec.n_clusters_rule_ in ("density", "silhouette")
    # The default criterion scores by the silhouette: largest at the chosen k.
    assert dec.n_clusters_scores_.argmax() == 2
    assert dec.cluster_centers_.shape[0] == 4
    assert adjusted_rand_score(y, dec.labels_) > 0.95


def test_n_clusters_auto_is_the_same_with_one_and_two_threads(blobs):
    X, _ = blobs
    before = torch.get_num_threads()
    fits = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            with threadpool_limits(threads):
                fits.append(
                    _fit(
                        X,
                        n_clusters=range(2, 7),
                        module__hidden_dims=(128,),
                        pretrain_epochs=60,
                    )
                )
    finally:
        torch.set_num_threads(before)
    one, two = fits
    assert one.n_clusters_ == two.n_clusters_ == 3
    # Five restarts voted, most of them for the chosen k.
    assert one.n_clusters_votes_.sum() == 5
    assert one.n_clusters_votes_.argmax() == one.n_clusters_ - 2
    assert one.n_clusters_restart_scores_.shape == (5, 5)
    np.testing.assert_allclose(
        one.n_clusters_scores_, one.n_clusters_restart_scores_.mean(axis=0)
    )


def test_n_clusters_search_names_the_criterion_used(blobs):
    X, _ = blobs

    def scores(criterion):
        dec = _fit(X, n_clusters=range(2, 5), n_clusters_search=criterion)
        # Both criteria are largest at the chosen k, and decided it.
        assert dec.n_clusters_scores_.argmax() == dec.n_clusters_ - 2
        assert dec.n_clusters_rule_ == criterion
        return dec.n_clusters_scores_

    silhouette, calinski_harabasz = scores("silhouette"), scores("calinski_harabasz")
    # Same fit up to the criterion: only the scores' kind differs.
    assert np.all(np.abs(silhouette) <= 1)
    assert np.all(calinski_harabasz > 1)
    with pytest.raises(InvalidParameterError, match="n_clusters_search"):
        _fit(X, n_clusters="auto", n_clusters_search="gap")


def test_fixed_n_clusters_records_itself_as_the_only_candidate(blobs):
    X, _ = blobs
    dec = _fit(X)
    assert dec.n_clusters_ == 3
    np.testing.assert_array_equal(dec.n_clusters_candidates_, [3])
    assert np.isnan(dec.n_clusters_scores_).all()
    assert dec.n_clusters_restart_scores_.shape == (1, 1)
    np.testing.assert_array_equal(dec.n_clusters_votes_, [1])
    assert dec.n_clusters_rule_ == "n_clusters"


@pytest.mark.parametrize(
    "bad, error, message",
    [
        ([1, 5], ValueError, r"n_clusters.*\[2, n_samples - 1\]"),
        ([2, 500], ValueError, r"n_clusters.*got 500"),
        ([2.5, 4], TypeError, "n_clusters.*integers"),
        ([], ValueError, "n_clusters.*at least one"),
        ("auto", ValueError, "n_clusters='auto' tries 2 to 20.*n_samples=20"),
    ],
)
def test_n_clusters_candidates_are_validated(blobs, bad, error, message):
    X, _ = blobs
    with pytest.raises(error, match=message):
        _fit(X[:20], n_clusters=bad)


def test_candidates_are_resolved_once_per_fit(blobs, monkeypatch):
    from skdec import _dec_base

    calls = []
    resolve = _dec_base.resolve_candidates

    def counted(*args):
        calls.append(args)
        return resolve(*args)

    monkeypatch.setattr(_dec_base, "resolve_candidates", counted)
    _fit(blobs[0], n_clusters=range(2, 5))
    assert len(calls) == 1


@pytest.mark.parametrize("scale", [0.5, 5.0])
def test_embedding_is_rescaled_to_embedding_scale(blobs, scale):
    X, _ = blobs
    dec = _fit(X, max_iter=0, embedding_scale=scale)
    Z = dec.transform(X)
    spread = np.sqrt(((Z - Z.mean(axis=0)) ** 2).sum(axis=1).mean())
    assert spread == pytest.approx(scale, rel=1e-4)


def test_embedding_scale_none_keeps_the_learned_scale(blobs):
    X, _ = blobs
    kept = _fit(X, max_iter=0, embedding_scale=None)
    rescaled = _fit(X, max_iter=0, embedding_scale=5.0)
    Z_kept, Z_rescaled = kept.transform(X), rescaled.transform(X)
    # Same autoencoder up to one factor: the same embedding, stretched.
    factor = np.linalg.norm(Z_rescaled) / np.linalg.norm(Z_kept)
    assert factor != pytest.approx(1.0, abs=0.05)
    np.testing.assert_allclose(Z_rescaled, factor * Z_kept, rtol=1e-4, atol=1e-4)


def test_sgd_pretraining_learns_to_reconstruct(blobs):
    X, _ = blobs
    dec = _fit(
        X, pretrain_optimizer="sgd", module__hidden_dims=(64,), pretrain_epochs=30
    )
    losses = [r["loss"] for r in dec.history_ if r["stage"] == "pretrain_end_to_end"]
    assert len(losses) == 30
    assert losses[-1] < 0.5 * losses[0]


def test_auto_sgd_rate_adapts_to_the_data_scale():
    # Standardised data scaled by 2 (mean square 4): DEC-keras' SGD rate 1.0
    # barely reduces the squared error, the "auto" rate (0.25 / 4) trains.
    X, y = make_blobs(
        n_samples=300, centers=3, n_features=6, cluster_std=2.0, random_state=0
    )
    X = 2 * (X - X.mean(axis=0)) / X.std(axis=0)
    params = dict(
        n_clusters=3,
        module__hidden_dims=(128, 128),
        module__latent_dim=2,
        pretrain_optimizer="sgd",
        pretrain_epochs=50,
        max_iter=0,
        random_state=0,
    )
    fits = {
        rate: DECClusterer(**params, pretrain_learning_rate=rate).fit(X)
        for rate in ("auto", 1.0)
    }
    losses = {
        rate: [r["loss"] for r in fit.history_ if r["stage"] == "pretrain_end_to_end"]
        for rate, fit in fits.items()
    }
    assert losses["auto"][-1] < 0.25 * losses["auto"][0]
    assert losses[1.0][-1] > 0.5 * losses[1.0][0]
    assert adjusted_rand_score(y, fits["auto"].labels_) > 0.9


def test_auto_pretrain_learning_rate_rule():
    from skdec._train import auto_pretrain_learning_rate

    images = torch.full((10, 4), 0.5)  # mean(X²) = 0.25: DEC-keras' rate
    standardised = torch.full((10, 4), 2.0)  # mean(X²) = 4
    local = LocalComm()
    assert auto_pretrain_learning_rate("sgd", images, local) == 1.0
    rate = auto_pretrain_learning_rate("sgd", standardised, local)
    assert rate == pytest.approx(1 / 16)
    assert auto_pretrain_learning_rate("sgd", torch.zeros(3, 2), local) == 1.0
    assert auto_pretrain_learning_rate("adam", standardised, local) == 1e-3


def test_auto_pretraining_rule():
    from skdec._train import Plateau, auto_pretraining

    local = LocalComm()
    # DEC-keras' 200 epochs of 256 rows at most, ended once the loss has
    # levelled off over 1,000 steps (in whole epochs): 8 steps an epoch on
    # digits' 1,797 rows, 274 on 70,000.
    assert auto_pretraining(1797, "auto", "auto", local) == (
        256,
        200,
        Plateau(125, 0.01),
    )
    assert auto_pretraining(70_000, "auto", "auto", local) == (
        256,
        200,
        Plateau(4, 0.01),
    )
    assert auto_pretraining(10**7, "auto", "auto", local)[2].window == 1
    # A given batch size sets the window's epochs; given epochs, no plateau.
    assert auto_pretraining(10_000, 64, "auto", local) == (64, 200, Plateau(7, 0.01))
    assert auto_pretraining(10_000, "auto", 5, local) == (256, 5, None)


def test_pretraining_plan_resolves_every_auto_in_one_place():
    from skdec._train import Plateau, PretrainingPlan, plan_pretraining

    local = LocalComm()
    standardised = torch.full((1797, 4), 2.0)  # mean(X²) = 4
    auto = dict(optimizer="auto", learning_rate="auto", batch_size="auto")
    plan = plan_pretraining(
        standardised, **auto, epochs="auto", low_power=False, comm=local
    )
    assert plan == PretrainingPlan("sgd", 1 / 16, 256, 200, Plateau(125, 0.01))
    # Data rescaled for its tiny entries trains with Adam at Adam's rate.
    plan = plan_pretraining(standardised, **auto, epochs=5, low_power=True, comm=local)
    assert plan == PretrainingPlan("adam", 1e-3, 256, 5, None)
    # Given values are kept as they are.
    given = dict(optimizer="sgd", learning_rate=0.1, batch_size=64, epochs=3)
    plan = plan_pretraining(standardised, **given, low_power=True, comm=local)
    assert plan == PretrainingPlan("sgd", 0.1, 64, 3, None)


def test_plateau_ends_only_when_the_best_loss_stops_falling():
    from skdec._train import Plateau

    plateau = Plateau(window=2, tol=0.1)
    assert not plateau.reached([1.0, 0.5])  # no epochs before the window yet
    assert not plateau.reached([1.0, 0.5, 0.4, 0.3])  # 0.3 < 0.9 * 0.5
    # One noisy epoch is not a plateau: the window's best still improves.
    assert not plateau.reached([1.0, 0.5, 0.9, 0.3])
    assert plateau.reached([1.0, 0.5, 0.48, 0.47])  # 0.47 > 0.9 * 0.5


def test_auto_epochs_stop_where_the_loss_levels_off():
    # Noise that a 2-d code cannot reconstruct: the loss levels off early.
    X = np.random.default_rng(0).random((200, 10), dtype=np.float32)
    params = dict(
        module__hidden_dims=(16,),
        module__latent_dim=2,
        pretrain_batch_size=2,
        max_iter=0,
    )
    auto = _fit(X, pretrain_epochs="auto", **params)
    stage = [r for r in auto.history_ if r["stage"] == "pretrain_end_to_end"]
    assert len(stage) < 200 and stage[-1].get("plateau") is True
    assert not any(r.get("plateau") for r in stage[:-1])
    # The same epochs as a fixed count, computed alike up to the stop.
    fixed = _fit(X, pretrain_epochs=len(stage), **params)
    np.testing.assert_array_equal(auto.transform(X), fixed.transform(X))


def test_auto_pretraining_is_dec_keras_on_small_data(blobs):
    X, _ = blobs
    params = dict(pretrain_optimizer="sgd", max_iter=0)
    auto = _fit(X, pretrain_epochs="auto", pretrain_batch_size="auto", **params)
    keras = _fit(X, pretrain_epochs=200, pretrain_batch_size=256, **params)
    np.testing.assert_array_equal(auto.transform(X), keras.transform(X))
    stage = [r for r in auto.history_ if r["stage"] == "pretrain_end_to_end"]
    assert len(stage) == 200


def test_pretraining_uses_pretrain_batch_size_alone(blobs):
    X, _ = blobs
    params = dict(pretrain_epochs=3, max_iter=0)
    base = _fit(X, **params).transform(X)
    with pytest.warns(UserWarning, match="batch_size not used: max_iter=0"):
        other_clustering_batch = _fit(X, batch_size=16, **params).transform(X)
    other_pretrain_batch = _fit(X, pretrain_batch_size=16, **params).transform(X)
    np.testing.assert_array_equal(base, other_clustering_batch)
    assert not np.allclose(base, other_pretrain_batch)


# ---------------------------------------------------------------------------
# init: where the clustering stage starts


def test_init_array_places_the_centroids(blobs):
    X, y = blobs
    centers = np.array([[-2.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
    dec = _fit(X, init=centers, max_iter=0)
    np.testing.assert_allclose(dec.cluster_centers_, centers, rtol=1e-6)
    init = [r for r in dec.history_ if r["stage"] == "init"]
    assert len(init) == 1 and init[0]["n_clusters"] == 3


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_init_array_is_not_modified_by_fit(blobs, dtype):
    init = np.array([[-2.0, 0.0], [0.0, 2.0], [2.0, 0.0]], dtype=dtype)
    before = init.copy()
    dec = _fit(blobs[0], init=init)
    assert dec.n_iter_ > 0  # the centroids moved during training
    np.testing.assert_array_equal(init, before)
    assert not np.array_equal(dec.cluster_centers_, before)


@pytest.mark.parametrize(
    ("init", "params", "message"),
    [
        (np.zeros((2, 2)), {}, r"shape \(2, 2\).*\(3, 2\)"),
        (np.full((3, 2), np.nan), {}, "NaN or infinity"),
        (np.zeros((3, 2)), {"n_clusters": "auto"}, "needs an int n_clusters"),
    ],
)
def test_init_array_is_checked_before_training(blobs, init, params, message):
    dec = DECClusterer(**{**TINY, "n_clusters": 3, "n_init": 20, **params}, init=init)
    with pytest.raises(ValueError, match=message):
        dec.fit(blobs[0])


def test_manifold_init(blobs):
    pytest.importorskip("umap")
    X, y = blobs
    dec = _fit(X, init="manifold")
    assert adjusted_rand_score(y, dec.labels_) > 0.9


def test_manifold_init_keeps_the_thread_count_and_its_warnings(blobs):
    # UMAP's numba once left torch on every core, and its n_jobs warning
    # reached the user.
    pytest.importorskip("umap")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            DECClusterer(
                **{**TINY, "n_clusters": 3, "n_init": 20, "random_state": 0},
                init="manifold",
            ).fit(blobs[0])
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    assert not [w for w in caught if "overridden" in str(w.message)]


def test_manifold_init_without_umap_says_what_to_install(blobs, monkeypatch):
    # A None entry in sys.modules makes ``import umap`` raise ImportError.
    monkeypatch.setitem(sys.modules, "umap", None)
    with pytest.raises(ImportError, match="pip install umap-learn"):
        _fit(blobs[0], init="manifold")


def test_spectral_start_follows_the_graph_not_the_centroids():
    from sklearn.datasets import make_moons

    from skdec._starts import spectral_start

    Z, y = make_moons(300, noise=0.04, random_state=0)
    Z = Z.astype(np.float32)
    start = spectral_start(Z, 2, n_init=5, seed=0)
    labels = start.posterior.argmax(axis=1)
    # The moons are not convex: k-means cuts them, the graph does not.
    kmeans = KMeans(2, n_init=5, random_state=0).fit_predict(Z)
    assert adjusted_rand_score(y, kmeans) < 0.6
    assert adjusted_rand_score(y, labels) > 0.95
    # A one-hot partition, the centroids its clusters' means, and seeded.
    np.testing.assert_array_equal(start.posterior.sum(axis=1), 1.0)
    means = [Z[labels == j].mean(axis=0) for j in range(2)]
    np.testing.assert_allclose(start.centers, means, rtol=1e-6)
    again = spectral_start(Z, 2, n_init=5, seed=0)
    np.testing.assert_array_equal(again.posterior, start.posterior)


def test_spectral_init_learns_its_partition_first(blobs):
    X, y = blobs
    dec = _fit(X, init="spectral", max_iter=100, tol=0.0)
    assert adjusted_rand_score(y, dec.labels_) > 0.9
    targets = [r.get("target") for r in dec.history_ if r["stage"] == "clustering"]
    assert targets[:10] == ["start"] * 10 and targets[10] is None


def test_start_target_is_learned_before_dec_takes_over(blobs):
    # The clustering stage first learns a given partition (here the true
    # classes, with centroids that start elsewhere), and the stopping rule
    # waits until DEC's own target takes over.
    X, y = blobs
    X = torch.from_numpy(X)
    autoencoder = _nn.StackedAutoencoder(
        6, (16,), 2, generator=torch.Generator().manual_seed(0)
    )
    module = _nn.DECModule(autoencoder, torch.zeros(3, 2) + torch.eye(3, 2))
    start_target = torch.eye(3)[torch.as_tensor(y)]
    hooks = Hooks(None, None, LocalComm())
    outcome = _train.train_clustering(
        module,
        X,
        max_iter=200,
        update_interval=10,
        tol=1.0,  # would stop at the second refresh but for the start target
        batch_size=32,
        learning_rate=0.1,
        generator=torch.Generator().manual_seed(0),
        device=torch.device("cpu"),
        comm=LocalComm(),
        hooks=hooks,
        start_target=start_target,
        start_steps=150,
    )
    holding = [r for r in hooks.history if r.get("target") == "start"]
    assert [record["iteration"] for record in holding] == list(range(0, 150, 10))
    # Stops at the first refresh after it.
    assert outcome.converged and outcome.n_iter == 150
    with torch.no_grad():
        labels = module(X)[1].argmax(dim=1).numpy()
    assert adjusted_rand_score(y, labels) > 0.9


def test_manifold_start_history_marks_the_start_target(blobs):
    pytest.importorskip("umap")
    dec = _fit(blobs[0], init="manifold", max_iter=100, tol=0.0)
    targets = [r.get("target") for r in dec.history_ if r["stage"] == "clustering"]
    # 10 refresh intervals of 5 steps learn the mixture's partition.
    assert targets[:10] == ["start"] * 10 and targets[10] is None
