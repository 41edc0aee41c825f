"""Single-cell-like counts and their usual preprocessing, with no download.

- :func:`make_single_cell_counts`: a cell-by-gene matrix of negative-binomial
  counts from cell types of unequal size, each with its own marker genes, and
  cells of varying library size.
- :func:`preprocess_counts`: library-size normalisation, log1p, highly
  variable genes and scaling, the steps scanpy's tutorials run before
  clustering.
"""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

from ._samples_generator import _check_int

# Cells generated at a time: bounded memory at any n_cells.
_CHUNK_CELLS = 4096
# Shape of the gamma distribution of the genes' base expression: most genes
# low, a few high, as in real data.
_BASE_SHAPE = 0.6
# Standard deviation of the log of each type's expression of every gene
# around the base: types differ a little everywhere, a lot at their markers.
_TYPE_NOISE = 0.1
# Genes with normalised dispersion binned by mean, as Seurat's method does.
_N_MEAN_BINS = 20


def _check_positive(value, name):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}.")
    return float(value)


def _type_profiles(rng, n_genes, n_types, n_markers, marker_fold_change):
    """Expression proportions of every gene in every type (rows sum to 1)."""
    base = rng.gamma(_BASE_SHAPE, 1.0, size=n_genes)
    log_profiles = np.log(base) + rng.normal(0, _TYPE_NOISE, (n_types, n_genes))
    sigma = 0.3  # spread of the log fold changes of the markers
    for k in range(n_types):
        markers = rng.choice(n_genes, size=n_markers, replace=False)
        log_profiles[k, markers] += rng.normal(
            np.log(marker_fold_change), sigma, n_markers
        )
    profiles = np.exp(log_profiles)
    return profiles / profiles.sum(axis=1, keepdims=True)


def make_single_cell_counts(
    n_cells=10000,
    n_genes=2000,
    n_types=8,
    *,
    n_markers=30,
    marker_fold_change=4.0,
    library_size=2000.0,
    library_size_spread=0.5,
    dispersion=0.3,
    type_proportions=None,
    random_state=None,
):
    """Generate single-cell-like RNA counts of a few cell types.

    Each gene has a base expression drawn from a gamma distribution (most
    genes low, a few high). Each type expresses every gene a little
    differently from the base (log-normal, standard deviation 0.1) and its
    own ``n_markers`` marker genes, drawn at random (types may share some),
    about ``marker_fold_change`` times higher. A cell's library size (its
    total expected count) is log-normal around ``library_size``. Counts are
    negative binomial (a gamma-Poisson mixture) with mean ``library size x
    the type's proportion of the gene`` and variance ``mean + dispersion x
    mean^2``, the model of UMI counts. Nothing is downloaded.

    The matrix is built sparse, a chunk of cells at a time, so 100,000 cells
    fit in memory.

    Parameters
    ----------
    n_cells : int, default=10000
        Number of cells (rows).

    n_genes : int, default=2000
        Number of genes (columns).

    n_types : int, default=8
        Number of cell types, the true clusters.

    n_markers : int, default=30
        Number of marker genes of each type; at most ``n_genes``.

    marker_fold_change : float, default=4.0
        Typical (median) factor by which a type expresses its markers above
        the base; each marker's factor is log-normal around it (standard
        deviation 0.3 of its log).

    library_size : float, default=2000.0
        Median of the cells' expected total counts.

    library_size_spread : float, default=0.5
        Standard deviation of the log of the library sizes.

    dispersion : float, default=0.3
        Negative-binomial dispersion of the counts; 0 gives Poisson counts.

    type_proportions : array-like of shape (n_types,), default=None
        Expected share of the cells of each type (normalised to sum to 1).
        None gives shares proportional to ``1, 1/2, ..., 1/n_types``: the
        largest type is ``n_types`` times the smallest.

    random_state : int, RandomState instance or None, default=None
        Seeds the types, the library sizes and the counts.

    Returns
    -------
    counts : scipy.sparse.csr_matrix of shape (n_cells, n_genes)
        The counts, whole numbers stored as float32.

    cell_types : ndarray of shape (n_cells,)
        The type of each cell, ``0`` to ``n_types - 1`` (type 0 the largest
        by default), in random order.

    See Also
    --------
    preprocess_counts : The usual preprocessing before clustering.
    skdec.anndata.cluster : Cluster the cells of an AnnData.

    Examples
    --------
    >>> import numpy as np
    >>> from skdec.datasets import make_single_cell_counts
    >>> counts, cell_types = make_single_cell_counts(
    ...     n_cells=1000, n_genes=500, n_types=4, random_state=0)
    >>> counts.shape, counts.dtype
    ((1000, 500), dtype('float32'))
    >>> np.bincount(cell_types)
    array([486, 225, 175, 114])
    >>> bool(np.all(counts.data == np.round(counts.data)))
    True
    """
    n_cells = _check_int(n_cells, "n_cells", 1)
    n_genes = _check_int(n_genes, "n_genes", 1)
    n_types = _check_int(n_types, "n_types", 1)
    n_markers = _check_int(n_markers, "n_markers", 0)
    if n_markers > n_genes:
        raise ValueError(f"n_markers={n_markers} must be <= n_genes={n_genes}.")
    marker_fold_change = _check_positive(marker_fold_change, "marker_fold_change")
    library_size = _check_positive(library_size, "library_size")
    if not isinstance(library_size_spread, numbers.Real) or library_size_spread < 0:
        raise ValueError(
            f"library_size_spread must be >= 0, got {library_size_spread!r}."
        )
    if not isinstance(dispersion, numbers.Real) or dispersion < 0:
        raise ValueError(f"dispersion must be >= 0, got {dispersion!r}.")
    if type_proportions is None:
        proportions = 1.0 / np.arange(1, n_types + 1)
    else:
        proportions = np.asarray(type_proportions, dtype=np.float64)
        if proportions.shape != (n_types,) or not np.all(proportions >= 0):
            raise ValueError(
                f"type_proportions must hold n_types={n_types} non-negative "
                f"numbers, got {type_proportions!r}."
            )
        if proportions.sum() <= 0:
            raise ValueError("type_proportions must not all be 0.")
    proportions = proportions / proportions.sum()

    rng = check_random_state(random_state)
    profiles = _type_profiles(rng, n_genes, n_types, n_markers, marker_fold_change)
    cell_types = rng.choice(n_types, size=n_cells, p=proportions)
    libraries = library_size * np.exp(rng.normal(0, library_size_spread, n_cells))
    blocks = []
    for start in range(0, n_cells, _CHUNK_CELLS):
        stop = min(start + _CHUNK_CELLS, n_cells)
        mean = libraries[start:stop, None] * profiles[cell_types[start:stop]]
        if dispersion > 0:
            # Gamma-Poisson: a gamma rate of mean `mean`, variance
            # dispersion * mean^2, then Poisson counts of that rate.
            mean = rng.gamma(1.0 / dispersion, mean * dispersion)
        blocks.append(sp.csr_matrix(rng.poisson(mean).astype(np.float32)))
    return sp.vstack(blocks, format="csr"), cell_types


# ---------------------------------------------------------------------------
# Preprocessing


def _highly_variable(normalised, n_top_genes):
    """Indices of the ``n_top_genes`` genes of highest normalised dispersion.

    Seurat's method, after ``scanpy.pp.highly_variable_genes(flavor="seurat")``:
    the dispersion (variance / mean) of the normalised counts, its log,
    z-scored among the genes of similar mean (20 bins of the log mean).
    """
    n_cells = normalised.shape[0]
    mean = np.asarray(normalised.mean(axis=0)).ravel()
    square = normalised.multiply(normalised) if sp.issparse(normalised) else None
    mean_sq = (
        np.asarray(square.mean(axis=0)).ravel()
        if square is not None
        else np.mean(np.square(normalised, dtype=np.float64), axis=0)
    )
    var = (mean_sq - mean**2) * n_cells / max(n_cells - 1, 1)
    expressed = mean > 0
    log_dispersion = np.full(mean.shape, -np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_dispersion[expressed] = np.log(var[expressed] / mean[expressed])
    log_mean = np.log1p(mean)
    edges = np.linspace(log_mean.min(), log_mean.max(), _N_MEAN_BINS + 1)
    bins = np.clip(np.digitize(log_mean, edges[1:-1]), 0, _N_MEAN_BINS - 1)
    score = np.full(mean.shape, -np.inf)
    for b in np.unique(bins[expressed]):
        genes = expressed & (bins == b) & np.isfinite(log_dispersion)
        values = log_dispersion[genes]
        if len(values) == 1:
            score[genes] = 1.0  # a gene alone in its bin: 1, as scanpy gives
            continue
        spread = values.std(ddof=1)
        score[genes] = (values - values.mean()) / spread if spread > 0 else 0.0
    order = np.argsort(-score, kind="stable")
    return np.sort(order[:n_top_genes])


def preprocess_counts(
    counts, *, n_top_genes=1000, target_sum=1e4, max_value=10.0, return_genes=False
):
    """Normalise, log-transform, select and scale counts, as before clustering.

    The steps of scanpy's usual recipe, in its order:

    1. each cell's counts are scaled to sum to ``target_sum``
       (``sc.pp.normalize_total``);
    2. ``log1p`` (``sc.pp.log1p``);
    3. the ``n_top_genes`` highly variable genes are kept: those of highest
       dispersion (variance / mean of the normalised counts, its log z-scored
       among genes of similar mean), Seurat's method
       (``sc.pp.highly_variable_genes(flavor="seurat")``);
    4. each gene is centred and scaled to unit variance, then values above
       ``max_value`` are clipped (``sc.pp.scale(max_value=...)``).

    Sparse counts stay sparse until the selected genes are densified, so the
    memory peak is about that of the returned matrix.

    Parameters
    ----------
    counts : {array-like, sparse matrix} of shape (n_cells, n_genes)
        Raw counts, cells in rows.

    n_top_genes : int, default=1000
        Number of genes kept; all of them if there are fewer.

    target_sum : float, default=1e4
        Total of each cell's counts after normalisation.

    max_value : float or None, default=10.0
        Clip the scaled values above this; None clips nothing.

    return_genes : bool, default=False
        Also return the indices of the kept genes.

    Returns
    -------
    X : ndarray of shape (n_cells, n_top_genes), float32
        Each column of mean 0 and standard deviation 1 (before clipping);
        genes that do not vary are left at 0.

    genes : ndarray of shape (n_top_genes,)
        Indices of the kept genes in ``counts``, increasing; only if
        ``return_genes``.

    See Also
    --------
    make_single_cell_counts : Single-cell-like counts.

    Examples
    --------
    >>> import numpy as np
    >>> from skdec.datasets import make_single_cell_counts, preprocess_counts
    >>> counts, cell_types = make_single_cell_counts(
    ...     n_cells=500, n_genes=300, n_types=3, random_state=0)
    >>> X, genes = preprocess_counts(counts, n_top_genes=100, return_genes=True)
    >>> X.shape, X.dtype, genes.shape
    ((500, 100), dtype('float32'), (100,))
    >>> print(np.abs(X.mean(axis=0)).max() < 0.1, X.max() <= 10)
    True True
    """
    n_top_genes = _check_int(n_top_genes, "n_top_genes", 1)
    target_sum = _check_positive(target_sum, "target_sum")
    if max_value is not None:
        max_value = _check_positive(max_value, "max_value")
    if sp.issparse(counts):
        counts = sp.csr_matrix(counts, dtype=np.float64)
    else:
        counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2:
        raise ValueError(f"counts must be 2-D, got shape {counts.shape}.")
    if (counts.data if sp.issparse(counts) else counts).min(initial=0) < 0:
        raise ValueError("counts must be non-negative.")
    totals = np.asarray(counts.sum(axis=1)).ravel()
    # Cells without counts stay at 0 rather than dividing by 0.
    factors = np.divide(target_sum, totals, out=np.zeros_like(totals), where=totals > 0)
    if sp.issparse(counts):
        normalised = sp.diags(factors) @ counts
    else:
        normalised = counts * factors[:, None]
    genes = _highly_variable(normalised, min(n_top_genes, counts.shape[1]))
    selected = normalised[:, genes]
    # float32 from here on, in place: the peak is about the returned matrix.
    X = selected.astype(np.float32)
    X = X.toarray() if sp.issparse(X) else X
    np.log1p(X, out=X)
    mean = X.mean(axis=0, dtype=np.float64)
    std = X.std(axis=0, dtype=np.float64, ddof=1) if len(X) > 1 else np.zeros_like(mean)
    X -= mean.astype(np.float32)
    X /= np.where(std > 0, std, 1.0).astype(np.float32)  # constant genes stay 0
    if max_value is not None:
        np.minimum(X, max_value, out=X)
    return (X, genes) if return_genes else X
