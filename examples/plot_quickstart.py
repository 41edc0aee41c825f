"""
==========================
Clustering digits with DEC
==========================

Fit :class:`~skdec.DECClusterer` to scikit-learn's bundled 8x8 digits, score
the clusters against the true digits and look at which digits end up
together. The labels are used only to evaluate the clustering, never to fit
it.
"""

# %%
# Data
# ----
# :func:`~skdec.datasets.load_digits_scaled` returns the 1797 images as rows
# of 64 pixels scaled to [0, 1], the range DEC's autoencoder expects.
from skdec import DECClusterer
from skdec.datasets import load_digits_scaled
from skdec.metrics import (
    adjusted_rand_score,
    cluster_accuracy,
    normalized_mutual_info_score,
)
from skdec.plotting import plot_confusion

X, y = load_digits_scaled()
print(X.shape)

# %%
# Fit
# ---
# A small network keeps the documentation build fast: the default is the
# paper's ``64-500-500-2000-10`` autoencoder pretrained for 100 epochs per
# stage. ``tol=0.01`` stops once fewer than 1% of the labels change between
# two refreshes of the target distribution.
dec = DECClusterer(
    n_clusters=10,
    module__hidden_dims=(256, 64),
    module__latent_dim=10,
    pretrain_optimizer="adam",  # few steps on a small network: Adam
    pretrain_epochs=20,
    max_iter=1000,
    tol=0.01,
    random_state=0,
)
labels = dec.fit_predict(X)
print(f"{dec.n_iter_} clustering iterations")

# %%
# Scores
# ------
# Cluster numbers are arbitrary, so the accuracy is taken under the best
# one-to-one matching of clusters to digits. NMI and ARI do not depend on the
# numbering either.
print(f"ACC {cluster_accuracy(y, labels):.3f}")
print(f"NMI {normalized_mutual_info_score(y, labels):.3f}")
print(f"ARI {adjusted_rand_score(y, labels):.3f}")

# %%
# Which digits are confused
# -------------------------
# Rows are the true digits; each cluster stands in the column of the digit it
# is matched with, so the diagonal holds the correctly clustered images.
ax = plot_confusion(y, labels)
ax.figure.set_size_inches(6, 5)

# %%
# New data
# --------
# The fitted model clusters new samples without refitting: ``predict`` gives
# the cluster, ``predict_proba`` the soft assignment to every cluster and
# ``transform`` the 10-dimensional embedding.
print(dec.predict(X[:5]))
print(dec.predict_proba(X[:1]).round(2))
print(dec.transform(X[:5]).shape)
