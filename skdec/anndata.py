"""Clustering of :class:`anndata.AnnData` objects, in the style of scanpy's tools.

AnnData is an optional dependency (``pip install "skdec[anndata]"``); it is
imported when :func:`cluster` is called, never when this module is.

* :func:`cluster` fits a skdec estimator to a cell-by-gene matrix held in an
  AnnData (``X``, a layer or an ``obsm`` representation) and writes the
  labels, the embedding, the soft assignment and the parameters back into it,
  where ``sc.tl.leiden`` and ``sc.pp.pca`` put theirs. Like scanpy's tools,
  it returns None, or the AnnData copy with ``copy=True``.
"""

import numbers

import numpy as np

__all__ = ["cluster"]

# ---------------------------------------------------------------------------
# Helpers


def _import_anndata():
    """The ``anndata`` module, or an ImportError that says how to install it."""
    try:
        import anndata
    except ImportError as exc:
        raise ImportError(
            "skdec.anndata needs the anndata package, which is not installed; "
            'install it with `pip install "skdec[anndata]"` or `pip install '
            "anndata`."
        ) from exc
    return anndata


def _input_matrix(adata, use_rep, layer):
    """The matrix to cluster and a short name of where it came from.

    ``adata.X`` of a backed AnnData (an h5py dataset, or anndata's on-disk
    sparse dataset) is handed over as it is: the estimators read it in
    batches and never hold it whole.
    """
    if use_rep is not None and layer is not None:
        raise ValueError(
            f"use_rep={use_rep!r} and layer={layer!r} both given; choose one "
            "(use_rep picks an adata.obsm entry, layer an adata.layers entry)."
        )
    if layer is not None:
        if layer not in adata.layers:
            available = ", ".join(map(repr, adata.layers)) or "none"
            raise ValueError(
                f"adata.layers has no layer {layer!r}; available: {available}."
            )
        return adata.layers[layer], f"layers[{layer!r}]"
    if use_rep is None or use_rep == "X":
        if adata.X is None:
            raise ValueError("adata.X is None; pass layer= or use_rep=.")
        return adata.X, "X"
    if use_rep not in adata.obsm:
        available = ", ".join(map(repr, ["X", *adata.obsm])) or "none"
        raise ValueError(
            f"adata.obsm has no representation {use_rep!r}; available: {available}."
        )
    rep = adata.obsm[use_rep]
    # A data frame in obsm (a few named columns) is read as its values.
    return (rep.to_numpy() if hasattr(rep, "iloc") else rep), f"obsm[{use_rep!r}]"


def _storable(value):
    """``value`` as something anndata writes to .h5ad, or None if it cannot be."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, list | tuple | range) and value:
        items = [_storable(v) for v in value]
        return None if any(v is None for v in items) else items
    return None


def _stored_params(estimator):
    """``get_params(deep=False)`` values anndata can write; the others dropped.

    None values are left out too: anndata writes None to .h5ad only from
    version 0.12 on. Classes, callbacks and random states are left out.
    """
    params = {}
    for name, value in estimator.get_params(deep=False).items():
        stored = _storable(value)
        if stored is not None:
            params[name] = stored
    return params


# ---------------------------------------------------------------------------
# Public function


def cluster(
    adata, estimator=None, *, use_rep=None, layer=None, key_added="dec", copy=False
):
    """Cluster the cells of an AnnData and write the results into it.

    Fits ``estimator`` to ``adata.X``, to a layer or to a representation in
    ``adata.obsm``, then writes what scanpy's tools write: the labels to
    ``adata.obs``, the embedding and the soft assignment to ``adata.obsm``
    and the parameters to ``adata.uns``. Like scanpy's tools
    (``sc.tl.leiden``), it returns None, or the AnnData copy with
    ``copy=True``.

    The fitted estimator is the one passed in: it is fitted in place, not
    cloned, so its fitted attributes (``history_``, ``cluster_centers_``)
    and methods (``predict`` on new cells, ``save``) are at hand afterwards.

    Parameters
    ----------
    adata : anndata.AnnData
        Cells in rows. ``adata.X`` may be a dense array, a sparse matrix or,
        in backed mode (``anndata.read_h5ad(path, backed="r")``), the
        matrix on disk: it is then read in batches, never loaded whole.

    estimator : estimator, default=None
        A skdec estimator (:class:`~skdec.DECClusterer`,
        :class:`~skdec.IDECClusterer`, :class:`~skdec.IICClusterer`) or
        another clusterer with ``fit`` and ``labels_``, fitted in place.
        None means ``DECClusterer()`` with its defaults: 8 clusters, the
        paper's ``d-500-500-2000-10`` autoencoder on the chosen matrix as it
        is (every column: no PCA is run first), ``random_state=None`` (so
        another call gives other clusters). That estimator is not returned;
        ``adata.uns[key_added]`` keeps its parameters. Pass an estimator to
        choose ``n_clusters`` and a seed, and to keep the fitted model.

    use_rep : str, default=None
        Key of ``adata.obsm`` to cluster (e.g. ``"X_pca"``); None or ``"X"``
        means ``adata.X``. Cannot be given with ``layer``.

    layer : str, default=None
        Key of ``adata.layers`` to cluster instead of ``adata.X``. Cannot be
        given with ``use_rep``.

    key_added : str, default="dec"
        Name under which the results are written:

        - ``adata.obs[key_added]``: the cluster of each cell, a categorical
          of strings ``"0"``, ``"1"``, ... (as ``sc.tl.leiden`` writes), one
          category per cluster of the model, empty ones included;
        - ``adata.obsm["X_" + key_added]``: the embedding,
          ``estimator.transform``;
        - ``adata.obsm[key_added + "_proba"]``: the soft assignment,
          ``estimator.predict_proba``; column ``j`` is category ``str(j)``;
        - ``adata.uns[key_added]``: ``{"estimator": class name, "params":
          parameters, "input": "X" | "layers['...']" | "obsm['...']"}``.
          ``params`` holds the ``get_params(deep=False)`` values that an
          .h5ad file can store (numbers, strings, booleans and their lists);
          None values, classes and callbacks are left out.

        The embedding and the soft assignment are skipped for an estimator
        without ``transform`` or ``predict_proba``.

    copy : bool, default=False
        If False, write into ``adata``. If True, leave ``adata`` untouched
        and write into a copy, which is returned. A backed AnnData cannot be
        copied without reading its matrix into memory: ``copy=True`` raises
        for one.

    Returns
    -------
    adata : anndata.AnnData or None
        None if ``copy=False`` (the results are in ``adata``); the copy
        holding the results if ``copy=True``. The fitted estimator is the
        ``estimator`` passed in.

    Raises
    ------
    ImportError
        If anndata is not installed.

    ValueError
        If both ``use_rep`` and ``layer`` are given, if the layer or the
        representation does not exist (the message lists those that do), or
        if ``copy=True`` with a backed AnnData.

    See Also
    --------
    skdec.datasets.make_single_cell_counts : Single-cell-like counts.
    skdec.datasets.preprocess_counts : The usual preprocessing of counts.

    Notes
    -----
    Per-cell arrays go to ``adata.obsm``, not ``adata.uns``: ``obsm`` is
    subset with the cells (``adata[mask]``), ``uns`` is not, so a soft
    assignment kept in ``uns`` would no longer match the cells of a subset.

    With ``copy=False``, a view (``adata[mask]``) becomes an AnnData of its
    own when the results are written, as with scanpy's tools (anndata warns
    with an ``ImplicitModificationWarning``); the AnnData it was a view of is
    left untouched.

    Examples
    --------
    >>> import anndata
    >>> from sklearn.datasets import make_blobs
    >>> from skdec import DECClusterer
    >>> from skdec.anndata import cluster
    >>> X, _ = make_blobs(n_samples=200, centers=3, n_features=8, random_state=0)
    >>> adata = anndata.AnnData(X.astype("float32"))
    >>> dec = DECClusterer(3, module__hidden_dims=(16,), module__latent_dim=2,
    ...                    pretrain_epochs=5, tol=0.01, random_state=0)
    >>> cluster(adata, dec)  # returns None, like sc.tl.leiden
    >>> adata.obs["dec"].cat.categories.tolist()
    ['0', '1', '2']
    >>> adata.obsm["X_dec"].shape, adata.obsm["dec_proba"].shape
    ((200, 2), (200, 3))
    >>> adata.uns["dec"]["estimator"], adata.uns["dec"]["params"]["n_clusters"]
    ('DECClusterer', 3)

    ``dec`` itself is fitted: it assigns new cells to the same clusters.

    >>> bool((dec.predict(X.astype("float32")) == dec.labels_).all())
    True

    With ``copy=True``, ``adata`` is left as it is and the copy is returned:

    >>> plain = anndata.AnnData(X.astype("float32"))
    >>> result = cluster(plain, dec, key_added="dec_copy", copy=True)
    >>> "dec_copy" in result.obs, "dec_copy" in plain.obs
    (True, False)
    """
    anndata = _import_anndata()
    if not isinstance(adata, anndata.AnnData):
        raise TypeError(f"adata must be an anndata.AnnData, got {type(adata)}.")
    if not isinstance(key_added, str) or not key_added:
        raise ValueError(f"key_added must be a non-empty string, got {key_added!r}.")
    X, source = _input_matrix(adata, use_rep, layer)
    if copy and adata.isbacked:
        raise ValueError(
            "copy=True would read the backed matrix into memory; use copy=False "
            "(the results go to the in-memory obs, obsm and uns), or "
            "adata.to_memory() first."
        )
    if estimator is None:
        from ._dec import DECClusterer

        estimator = DECClusterer()
    estimator.fit(X)
    labels = np.asarray(estimator.labels_)
    proba = estimator.predict_proba(X) if hasattr(estimator, "predict_proba") else None
    embedding = estimator.transform(X) if hasattr(estimator, "transform") else None

    import pandas as pd  # a dependency of anndata

    if copy:
        adata = adata.copy()
    n_categories = proba.shape[1] if proba is not None else int(labels.max()) + 1
    categories = [str(j) for j in range(n_categories)]
    adata.obs[key_added] = pd.Categorical.from_codes(labels, categories=categories)
    if embedding is not None:
        adata.obsm["X_" + key_added] = np.asarray(embedding)
    if proba is not None:
        adata.obsm[key_added + "_proba"] = np.asarray(proba)
    adata.uns[key_added] = {
        "estimator": type(estimator).__name__,
        "params": _stored_params(estimator),
        "input": source,
    }
    return adata if copy else None
