"""skdec.datasets.make_single_cell_counts and preprocess_counts."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from skdec.datasets import make_single_cell_counts, preprocess_counts
from skdec.datasets._single_cell import _highly_variable


def _small(**params):
    kwargs = dict(n_cells=1200, n_genes=400, n_types=4, random_state=0)
    return make_single_cell_counts(**{**kwargs, **params})


def test_shapes_and_counts():
    counts, types = _small()
    assert sp.isspmatrix_csr(counts) and counts.shape == (1200, 400)
    assert counts.dtype == np.float32 and types.shape == (1200,)
    assert set(np.unique(types)) == {0, 1, 2, 3}
    values = counts.data
    assert values.min() > 0 and np.array_equal(values, np.round(values))
    # Sparse like real UMI data: many zeros, yet most genes expressed somewhere.
    density = counts.nnz / np.prod(counts.shape)
    assert 0.05 < density < 0.8
    assert (counts.getnnz(axis=0) > 0).mean() > 0.9


def test_random_state_fixes_everything():
    a, ya = _small(random_state=3)
    b, yb = _small(random_state=3)
    c, yc = _small(random_state=4)
    assert (a != b).nnz == 0 and np.array_equal(ya, yb)
    assert (a != c).nnz > 0 and not np.array_equal(ya, yc)


def test_types_have_unequal_sizes():
    _, types = make_single_cell_counts(20000, 50, 5, n_markers=5, random_state=0)
    shares = np.bincount(types) / len(types)
    expected = (1 / np.arange(1, 6)) / (1 / np.arange(1, 6)).sum()
    np.testing.assert_allclose(shares, expected, atol=0.01)
    _, types = make_single_cell_counts(
        20000, 50, 3, n_markers=5, type_proportions=[1, 0, 3], random_state=0
    )
    np.testing.assert_allclose(
        np.bincount(types, minlength=3) / 20000, [0.25, 0, 0.75], atol=0.01
    )


def test_library_sizes_vary_and_dispersion_adds_variance():
    def totals_and_var(**params):
        counts, _ = _small(n_types=1, n_markers=0, **params)
        totals = np.asarray(counts.sum(axis=1)).ravel()
        return totals, counts

    totals, _ = totals_and_var(library_size=1000.0, library_size_spread=0.5)
    assert 800 < np.median(totals) < 1200
    assert np.std(np.log(totals)) > 0.4
    flat, _ = totals_and_var(library_size_spread=0.0, dispersion=0.0)
    assert np.std(np.log(flat)) < 0.1
    # Same expected counts: Poisson (dispersion 0) against negative binomial.
    _, poisson = totals_and_var(library_size_spread=0.0, dispersion=0.0)
    _, nb = totals_and_var(library_size_spread=0.0, dispersion=0.5)
    dense_p, dense_nb = poisson.toarray(), nb.toarray()
    ratio = dense_p.var(0) / np.maximum(dense_p.mean(0), 1e-9)
    ratio_nb = dense_nb.var(0) / np.maximum(dense_nb.mean(0), 1e-9)
    high = dense_p.mean(0) > 5
    assert np.median(ratio[high]) < 1.3 < 2 < np.median(ratio_nb[high])


def test_markers_make_types_differ():
    counts, types = _small(n_markers=20, marker_fold_change=8.0)
    means = np.stack([counts[types == k].mean(axis=0).A1 for k in range(4)])
    # Each type has genes it expresses far above every other type.
    for k in range(4):
        others = np.delete(means, k, axis=0).max(axis=0)
        assert (means[k] > 3 * others + 0.1).sum() >= 10
    # Without markers, no type stands out so.
    counts, types = _small(n_markers=0)
    means = np.stack([counts[types == k].mean(axis=0).A1 for k in range(4)])
    assert all(
        (means[k] > 3 * np.delete(means, k, axis=0).max(axis=0) + 0.1).sum() == 0
        for k in range(4)
    )


def test_kmeans_finds_the_types_after_preprocessing():
    counts, types = _small()
    X = preprocess_counts(counts, n_top_genes=200)
    labels = KMeans(4, n_init=5, random_state=0).fit_predict(X)
    assert adjusted_rand_score(types, labels) > 0.8
    # Raw counts, without the preprocessing, cluster by library size instead.
    raw = KMeans(4, n_init=5, random_state=0).fit_predict(counts.toarray())
    assert adjusted_rand_score(types, raw) < adjusted_rand_score(types, labels)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n_cells=0), "n_cells"),
        (dict(n_genes=10, n_markers=11), "n_markers"),
        (dict(marker_fold_change=0), "marker_fold_change"),
        (dict(dispersion=-1), "dispersion"),
        (dict(type_proportions=[1, 2]), "type_proportions"),
        (dict(type_proportions=[0, 0, 0, 0]), "type_proportions"),
    ],
)
def test_generator_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _small(**kwargs)


# ---------------------------------------------------------------------------
# Preprocessing


def _manual(counts, target_sum=1e4):
    """Normalise, log1p and scale all genes, written out plainly."""
    counts = np.asarray(counts, dtype=np.float64)
    normalised = counts / counts.sum(axis=1, keepdims=True) * target_sum
    logged = np.log1p(normalised)
    return (logged - logged.mean(0)) / logged.std(0, ddof=1)


def test_every_step_on_all_genes():
    counts, _ = _small(n_cells=300, n_genes=50)
    X = preprocess_counts(counts, n_top_genes=50, max_value=None, target_sum=100.0)
    assert X.shape == (300, 50) and X.dtype == np.float32
    np.testing.assert_allclose(X, _manual(counts.toarray(), 100.0), atol=1e-4)
    np.testing.assert_allclose(X.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(X.std(0, ddof=1), 1, atol=1e-5)


def test_library_size_is_normalised_away():
    counts, _ = _small(n_cells=300, n_genes=100)
    doubled = counts.toarray()
    doubled[:150] *= 3  # deeper sequencing of half the cells
    a = preprocess_counts(counts, n_top_genes=40)
    b = preprocess_counts(doubled, n_top_genes=40)
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_dense_and_sparse_counts_give_the_same_matrix():
    counts, _ = _small(n_cells=400, n_genes=200)
    sparse, genes_s = preprocess_counts(counts, n_top_genes=60, return_genes=True)
    dense, genes_d = preprocess_counts(
        counts.toarray(), n_top_genes=60, return_genes=True
    )
    np.testing.assert_array_equal(genes_s, genes_d)
    np.testing.assert_allclose(sparse, dense, atol=1e-5)


def test_clipping():
    counts, _ = _small(n_cells=400, n_genes=200)
    unclipped = preprocess_counts(counts, n_top_genes=100, max_value=None)
    assert unclipped.max() > 2.0
    clipped = preprocess_counts(counts, n_top_genes=100, max_value=2.0)
    assert clipped.max() == pytest.approx(2.0)
    np.testing.assert_array_equal(clipped, np.minimum(unclipped, 2.0))


def test_highly_variable_genes_are_the_overdispersed_ones():
    rng = np.random.default_rng(0)
    # 400 Poisson genes of mean 5; genes 7 and 23 too, but high in half the
    # cells and low in the others.
    means = np.full((500, 400), 5.0)
    means[:250, [7, 23]] = 9.5
    means[250:, [7, 23]] = 0.5
    counts = rng.poisson(means).astype(np.float64)
    assert sorted(_highly_variable(counts, 2)) == [7, 23]
    _, genes = preprocess_counts(counts, n_top_genes=2, return_genes=True)
    assert list(genes) == [7, 23]
    # Markers of generated types are kept over the rest.
    counts, _ = _small(n_markers=10, marker_fold_change=8.0)
    X, genes = preprocess_counts(counts, n_top_genes=40, return_genes=True)
    assert X.shape == (1200, 40) and np.all(np.diff(genes) > 0)


def test_cells_without_counts_and_constant_genes_stay_finite():
    counts = np.ones((20, 6))
    counts[3] = 0  # an empty cell
    counts[:, 2] = [0, 5] * 10
    X = preprocess_counts(counts, n_top_genes=6)
    assert np.isfinite(X).all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n_top_genes=0), "n_top_genes"),
        (dict(target_sum=-1.0), "target_sum"),
        (dict(max_value=0), "max_value"),
    ],
)
def test_preprocess_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        preprocess_counts(np.ones((5, 5)), **kwargs)
    with pytest.raises(ValueError, match="non-negative"):
        preprocess_counts(-np.ones((5, 5)))
