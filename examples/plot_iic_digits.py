"""
==================================================
Invariant Information Clustering on digit images
==================================================

:class:`~skdec.IICClusterer` trains a small convolutional network from
scratch so that each image and a randomly warped, noisy copy of it land in
the same cluster, while the clusters stay balanced: it maximises the mutual
information between the two assignments. No k-means and no autoencoder are
involved.

The network has several main heads that differ only by their random
initialisation. They can settle on different clusterings; the estimator
reports the head with the highest mutual information on the training data,
a choice that never looks at the labels. This example fits IIC on the 8x8
digits, compares it with k-means on the pixels, shows each head's loss during
training and the most confident images of every cluster.
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import KMeans

from skdec import IICClusterer
from skdec.datasets import load_digits_scaled
from skdec.metrics import (
    adjusted_rand_score,
    cluster_accuracy,
    normalized_mutual_info_score,
)

X, y = load_digits_scaled()

# Rows of X are 8x8 images flattened row by row: the backbone's image_shape
# (module__image_shape) turns on its convolutions and the random affine
# perturbations. Fewer epochs than the default keep the documentation build
# fast.
iic = IICClusterer(
    n_clusters=10, module__image_shape=(8, 8), max_epochs=12, random_state=0
)
start = time.perf_counter()
labels = iic.fit_predict(X)
seconds = time.perf_counter() - start
kmeans_labels = KMeans(n_clusters=10, n_init=20, random_state=0).fit_predict(X)

for name, predicted in [("k-means", kmeans_labels), ("IIC", labels)]:
    print(
        f"{name:8s} ACC {cluster_accuracy(y, predicted):.3f}  "
        f"NMI {normalized_mutual_info_score(y, predicted):.3f}  "
        f"ARI {adjusted_rand_score(y, predicted):.3f}"
    )
print(f"IIC fit: {seconds:.1f} s, chosen head {iic.chosen_head_}")

# %%
# The heads during training
# -------------------------
# ``history_`` keeps every head's loss (minus the mutual information, in
# nats) per epoch. The last record ranks the main heads on the whole data;
# the chosen head is the lowest. The best possible loss is ``-ln 10``.
main = [record for record in iic.history_ if record["stage"] == "main"]
losses = np.array([record["head_losses"] for record in main])
fig, ax = plt.subplots(figsize=(6, 4))
for head, curve in enumerate(losses.T):
    chosen = head == iic.chosen_head_
    ax.plot(
        curve,
        lw=2.5 if chosen else 1,
        label=f"head {head}" + (" (chosen)" if chosen else ""),
    )
ax.axhline(-np.log(10), color="grey", ls="--", lw=1)
ax.set_xlabel("epoch")
ax.set_ylabel("IIC loss of the main head")
ax.legend()
fig.tight_layout()

# %%
# What each cluster holds
# -----------------------
# The eight images that the chosen head assigns most confidently to each
# cluster, one row per cluster.
proba = iic.predict_proba(X)
fig, axes = plt.subplots(10, 8, figsize=(6, 7.5))
for cluster, row in enumerate(axes):
    members = np.flatnonzero(labels == cluster)
    best = members[np.argsort(-proba[members, cluster])][:8]
    for ax in row:
        ax.set_axis_off()
    for ax, index in zip(row, best, strict=False):
        ax.imshow(X[index].reshape(8, 8), cmap="gray_r")
    row[0].set_title(f"cluster {cluster}", fontsize=8, loc="left")
fig.tight_layout()
plt.show()
