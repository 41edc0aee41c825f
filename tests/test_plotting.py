"""skdec.plotting draws the expected artists, headless (Agg backend)."""

import sys

import matplotlib
import numpy as np
import pytest

from skdec import DECClusterer, IDECClusterer, IICClusterer
from skdec._select_k import METHODS
from skdec.metrics import cluster_accuracy
from skdec.plotting import (
    plot_cluster_examples,
    plot_confusion,
    plot_embedding,
    plot_history,
    plot_n_clusters,
)

from .conftest import TINY, TINY_IIC

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    centers = rng.uniform(size=(3, 6))
    y = np.repeat([0, 1, 2], 40)
    X = centers[y] + 0.05 * rng.normal(size=(len(y), 6))
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def fitted(data):
    """A 2-D embedding (drawn as is) from layer-wise pretraining."""
    params = {**TINY, "module__layerwise_dropout": 0.2}
    return DECClusterer(n_clusters=3, **params, random_state=0).fit(data[0])


@pytest.fixture(scope="module")
def fitted_4d(data):
    params = {**TINY, "module__latent_dim": 4, "max_iter": 0, "update_interval": 30}
    return DECClusterer(n_clusters=3, **params, random_state=0).fit(data[0])


# ---------------------------------------------------------------------------
# plot_embedding


def test_plot_embedding_2d_draws_the_embedding_and_centres(fitted, data):
    X, _ = data
    ax = plot_embedding(fitted, X)
    points, centres = ax.collections
    np.testing.assert_allclose(points.get_offsets(), fitted.transform(X), rtol=1e-6)
    np.testing.assert_allclose(centres.get_offsets(), fitted.cluster_centers_)
    # Coloured by the predicted cluster, with one legend entry per cluster.
    assert len(np.unique(points.get_array())) == len(np.unique(fitted.predict(X)))
    legend_labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend_labels == [str(c) for c in np.unique(fitted.predict(X))]
    assert ax.get_xlabel() == "z1"


def test_plot_embedding_projects_higher_dimensions_with_pca(fitted_4d, data):
    X, y = data
    fig, ax = plt.subplots()
    returned = plot_embedding(fitted_4d, X, labels=y, ax=ax, legend=False)
    assert returned is ax
    points, centres = ax.collections
    assert points.get_offsets().shape == (len(X), 2)
    assert centres.get_offsets().shape == (3, 2)
    assert ax.get_xlabel() == "PC1"
    assert ax.get_legend() is None
    # Colours follow the given labels, not the clusters.
    np.testing.assert_array_equal(points.get_array(), y)


def test_plot_embedding_tsne_draws_no_centres(fitted_4d, data):
    X, _ = data
    ax = plot_embedding(fitted_4d, X, method="tsne", random_state=0)
    assert len(ax.collections) == 1
    assert ax.collections[0].get_offsets().shape == (len(X), 2)
    assert ax.get_xlabel() == "t-SNE 1"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "umap"}, "method must be"),
        ({"labels": [0, 1]}, "labels must have shape"),
    ],
)
def test_plot_embedding_rejects_bad_arguments(fitted, data, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_embedding(fitted, data[0], **kwargs)


def test_plotting_needs_a_fitted_estimator(data):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        plot_embedding(DECClusterer(), data[0])


# ---------------------------------------------------------------------------
# plot_history


def test_plot_history_draws_every_stage(fitted):
    fig = plot_history(fitted)
    ax_pre, ax_kl, ax_delta = fig.axes
    # hidden_dims=(16,): two layer-wise pairs and the fine-tuning.
    stages = [line.get_label() for line in ax_pre.get_lines()]
    assert stages == ["pretrain_layer_0", "pretrain_layer_1", "pretrain_finetune"]
    n_epochs = TINY["pretrain_epochs"]
    assert ax_pre.get_lines()[-1].get_xdata()[-1] == 3 * n_epochs

    clustering = [r for r in fitted.history_ if r["stage"] == "clustering"]
    (kl_line,) = ax_kl.get_lines()
    np.testing.assert_array_equal(
        kl_line.get_xdata(), [r["iteration"] for r in clustering]
    )
    np.testing.assert_allclose(kl_line.get_ydata(), [r["kl"] for r in clustering])
    changes, tol_line = ax_delta.get_lines()
    assert len(changes.get_xdata()) == len(clustering) - 1  # none for the first
    assert tol_line.get_label() == "tol = 0.001"


def test_plot_history_without_pretraining_and_on_given_axes(data):
    params = {**TINY, "pretrain_epochs": 0, "pretrain_optimizer": "auto"}
    dec = DECClusterer(n_clusters=3, **params, random_state=0)
    dec.fit(data[0])
    fig, axes = plt.subplots(3, 1)
    assert plot_history(dec, axes=axes) is fig
    assert not axes[0].get_lines()
    assert axes[0].texts[0].get_text() == "no pretraining"
    with pytest.raises(ValueError, match="three Axes"):
        plot_history(dec, axes=axes[:2])


def test_plot_history_of_idec_names_its_objective(data):
    idec = IDECClusterer(n_clusters=3, **TINY, random_state=0).fit(data[0])
    _, ax_loss, _ = plot_history(idec).axes
    clustering = [r for r in idec.history_ if r["stage"] == "clustering"]
    np.testing.assert_allclose(
        ax_loss.get_lines()[0].get_ydata(), [r["loss"] for r in clustering]
    )
    assert ax_loss.get_ylabel() == "MSE + gamma KL(P || Q)"
    # The note on the rising objective is on the panel.
    assert "may rise" in ax_loss.texts[0].get_text()


def test_plot_history_of_iic_draws_its_passes(data):
    iic = IICClusterer(n_clusters=3, **TINY_IIC, random_state=0)
    iic.set_params(max_epochs=4).fit(data[0])
    (ax,) = plot_history(iic).axes
    assert ax.get_title() == "Training"
    assert ax.get_ylabel() == "IIC loss -I(P) (nats)"
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"overcluster", "main"}
    main = [r["loss"] for r in iic.history_ if r["stage"] == "main"]
    np.testing.assert_allclose(lines["main"].get_ydata(), main)
    # Both passes of an epoch share its x position.
    np.testing.assert_array_equal(lines["main"].get_xdata(), [1, 2, 3, 4])
    with pytest.raises(ValueError, match="one Axes"):
        plot_history(iic, axes=[ax, ax, ax])


# ---------------------------------------------------------------------------
# plot_cluster_examples


def test_plot_cluster_examples_shows_most_confident_first(fitted, data):
    X, _ = data
    fig = plot_cluster_examples(fitted, X, (2, 3), n_examples=4)
    assert len(fig.axes) == 3 * 4
    proba = fitted.predict_proba(X)
    labels = proba.argmax(axis=1)
    for cluster in range(3):
        row = fig.axes[cluster * 4 : (cluster + 1) * 4]
        members = np.flatnonzero(labels == cluster)
        expected = members[np.argsort(-proba[members, cluster])][:4]
        shown = [ax.images[0].get_array() for ax in row if ax.images]
        assert len(shown) == len(expected)
        for image, index in zip(shown, expected, strict=True):
            np.testing.assert_array_equal(image, X[index].reshape(2, 3))
        assert row[0].get_ylabel() == str(cluster)


def test_plot_cluster_examples_checks_the_image_shape(fitted, data):
    with pytest.raises(ValueError, match="holds 4 pixels but X has 6 features"):
        plot_cluster_examples(fitted, data[0], (2, 2))
    with pytest.raises(ValueError, match="n_examples"):
        plot_cluster_examples(fitted, data[0], (2, 3), n_examples=0)


# ---------------------------------------------------------------------------
# plot_confusion


def test_plot_confusion_puts_matched_clusters_on_the_diagonal():
    rng = np.random.RandomState(0)
    y = rng.randint(3, size=200)
    # Clusters 7, 4, 9 stand for classes 0, 1, 2; cluster 5 is left over.
    labels = np.array([7, 4, 9])[y]
    labels[:20] = 5
    labels[20:40] = 4
    ax = plot_confusion(y, labels)
    counts = ax.images[0].get_array()
    assert counts.shape == (3, 4)
    assert counts.sum() == len(y)
    assert np.trace(counts) / len(y) == pytest.approx(cluster_accuracy(y, labels))
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["7", "4", "9", "5"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "1", "2"]
    assert len(ax.texts) == counts.size
    assert ax.get_title() == f"Accuracy after matching: {np.trace(counts) / 200:.3f}"


def test_plot_confusion_with_string_classes_and_given_axes():
    fig, ax = plt.subplots()
    returned = plot_confusion(["b", "b", "a", "a", "c"], [0, 0, 1, 1, 1], ax=ax)
    assert returned is ax
    np.testing.assert_array_equal(ax.images[0].get_array(), [[2, 0], [0, 2], [1, 0]])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "0"]


def test_plot_confusion_validates_labels():
    with pytest.raises(ValueError, match="1-D"):
        plot_confusion([[0, 1]], [0, 1])


# ---------------------------------------------------------------------------
# Missing matplotlib


# ---------------------------------------------------------------------------
# plot_n_clusters


@pytest.mark.parametrize(
    "search, ylabel",
    [
        ("clustering", "silhouette after the clustering stage"),
        ("davies_bouldin", "Davies-Bouldin index of k-means"),
        ("silhouette", "silhouette of k-means"),
        ("density", "silhouette of k-means"),
    ],
)
def test_plot_n_clusters_draws_every_candidate_and_the_choice(data, search, ylabel):
    X, _ = data
    dec = DECClusterer(
        n_clusters=range(2, 6), n_clusters_search=search, **TINY, random_state=0
    ).fit(X)
    ax = plot_n_clusters(dec)
    scores, chosen = ax.lines
    np.testing.assert_array_equal(scores.get_xdata(), [2, 3, 4, 5])
    np.testing.assert_allclose(scores.get_ydata(), dec.n_clusters_scores_)
    np.testing.assert_array_equal(chosen.get_xdata(), [dec.n_clusters_])
    np.testing.assert_allclose(
        chosen.get_ydata(), [dec.n_clusters_scores_[dec.n_clusters_ - 2]]
    )
    assert ax.get_ylabel() == ylabel
    assert ax.get_xlabel() == "number of clusters k"
    # The title names the rule that decided, as the fitted attribute does.
    assert (
        ax.get_title() == f"k = {dec.n_clusters_}: {METHODS[dec.n_clusters_rule_].rule}"
    )
    legend = [t.get_text() for t in ax.get_legend().texts]
    if search == "clustering":
        # One stage per candidate: nothing to spread, no vote.
        assert dec.n_clusters_rule_ == "clustering"
        assert legend == [f"chosen: {dec.n_clusters_}"]
        assert not ax.collections
        return
    # The restarts' range is shaded.
    restarts = dec.n_clusters_restart_scores_
    assert restarts.shape == (5, 4)
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(restarts.min())
    assert band[:, 1].max() == pytest.approx(restarts.max())
    assert legend[0] == "range over 5 restarts"
    if dec.n_clusters_rule_ != "density":
        votes = dec.n_clusters_votes_[dec.n_clusters_ - 2]
        assert legend[1] == f"chosen: {dec.n_clusters_} ({votes} of 5 votes)"


def test_plot_n_clusters_says_when_hdbscan_decided(data):
    # The case: HDBSCAN's count (2) decided every vote while the
    # silhouette alone favours 4. The plot must not credit the votes.
    X, _ = data
    dec = DECClusterer(n_clusters=range(2, 6), **TINY, random_state=0).fit(X)
    dec.n_clusters_ = 2
    dec.n_clusters_rule_ = "density"
    dec.n_clusters_restart_scores_ = np.tile([0.30, 0.35, 0.50, 0.40], (5, 1))
    dec.n_clusters_scores_ = dec.n_clusters_restart_scores_.mean(axis=0)
    dec.n_clusters_votes_ = np.array([5, 0, 0, 0])
    ax = plot_n_clusters(dec)
    assert ax.get_title().startswith("k = 2: HDBSCAN's number of density clusters")
    assert "75%" in ax.get_title()
    legend = [t.get_text() for t in ax.get_legend().texts]
    assert legend[1] == "chosen: 2 by HDBSCAN (the silhouette alone: 4)"
    assert "votes" not in " ".join(legend)


def test_plot_n_clusters_on_given_axes_for_idec(data):
    X, _ = data
    idec = IDECClusterer(
        n_clusters=[2, 3], n_clusters_search="clustering", **TINY, random_state=0
    ).fit(X)
    _, ax = plt.subplots()
    assert plot_n_clusters(idec, ax=ax) is ax
    assert ax.get_ylabel() == "silhouette after the clustering stage"


def test_plot_n_clusters_needs_a_search(fitted):
    with pytest.raises(ValueError, match="search over n_clusters.*n_clusters=3"):
        plot_n_clusters(fitted)


def test_missing_matplotlib_gives_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install \"skdec\[plot\]\""):
        plot_confusion([0, 1], [1, 0])
