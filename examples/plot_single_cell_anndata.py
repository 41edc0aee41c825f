"""
=====================================
Clustering single cells in an AnnData
=====================================

Single-cell RNA data usually lives in an :class:`anndata.AnnData`, the
container of scanpy. :func:`skdec.anndata.cluster` fits a skdec estimator to
it and writes the results where scanpy's tools write theirs: the clusters to
``adata.obs``, the embedding and the soft assignment to ``adata.obsm``, the
parameters to ``adata.uns``.

The cells here are generated, so the example needs no download and the true
cell types are known: :func:`~skdec.datasets.make_single_cell_counts` draws
negative-binomial counts of cell types of unequal size, each with its own
marker genes. The example needs ``anndata`` (``pip install
"skdec[anndata]"``).
"""

# %%
# Counts and their preprocessing
# ------------------------------
# 3000 cells, 2000 genes, 8 types. :func:`~skdec.datasets.preprocess_counts`
# runs the usual steps: each cell's counts scaled to the same total, log1p,
# the most variable genes kept, each gene scaled to unit variance.
import anndata
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from skdec import DECClusterer
from skdec.anndata import cluster
from skdec.datasets import make_single_cell_counts, preprocess_counts
from skdec.metrics import adjusted_rand_score, normalized_mutual_info_score
from skdec.plotting import plot_confusion, plot_embedding

counts, cell_types = make_single_cell_counts(
    n_cells=3000, n_genes=2000, n_types=8, random_state=0
)
X, genes = preprocess_counts(counts, n_top_genes=500, return_genes=True)
print("cells per type:", np.bincount(cell_types))

# As in a scanpy session: the kept genes, their raw counts in a layer and the
# preprocessed values in X.
adata = anndata.AnnData(counts[:, genes])
adata.layers["counts"] = adata.X.copy()
adata.X = X
adata.obs["cell_type"] = pd.Categorical(cell_types.astype(str))
print(adata)

# %%
# Clustering
# ----------
# A small network keeps the documentation build fast: the default is the
# paper's 500-500-2000-10 autoencoder with 200 pretraining epochs. ``cluster``
# fits this estimator object itself and, like scanpy's tools, returns None.
dec = DECClusterer(
    n_clusters=8,
    module__hidden_dims=(256, 64),
    module__latent_dim=10,
    pretrain_optimizer="adam",  # few steps on a small network: Adam
    pretrain_epochs=15,
    tol=0.01,
    random_state=0,
)
cluster(adata, dec)
print(adata)
print(adata.uns["dec"]["estimator"], adata.uns["dec"]["params"]["module__hidden_dims"])

ari = adjusted_rand_score(cell_types, adata.obs["dec"].cat.codes)
nmi = normalized_mutual_info_score(cell_types, adata.obs["dec"].cat.codes)
print(f"ARI {ari:.3f}, NMI {nmi:.3f}")

# %%
# The embedding, by cluster and by true type
# ------------------------------------------
# ``adata.obsm["X_dec"]`` holds the 10-dimensional embedding; here it is
# projected to two dimensions with PCA. Cluster numbers and type numbers are
# unrelated: compare the groupings, not the colours.
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
plot_embedding(dec, adata.X, ax=left, random_state=0)
left.set_title("Coloured by DEC cluster")
plot_embedding(dec, adata.X, labels=cell_types, ax=right, show_centers=False)
right.set_title("Coloured by true cell type")
plt.show()

# %%
# Which types end up together
# ---------------------------
# Rows are the true types, largest first; each cluster stands in the column of
# the type it is matched with. The soft assignment in
# ``adata.obsm["dec_proba"]`` tells how sure the model is of each cell.
ax = plot_confusion(cell_types, adata.obs["dec"].cat.codes)
ax.figure.set_size_inches(6, 5)
confidence = adata.obsm["dec_proba"].max(axis=1)
print(f"median confidence {np.median(confidence):.2f}")
