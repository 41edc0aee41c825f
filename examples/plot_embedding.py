"""
=========================
The learned embedding
=========================

DEC clusters in the embedding learned by its encoder. Projecting that
embedding to two dimensions shows how well the clusters are separated and how
they relate to the true classes. Here the embedding has 10 dimensions, so
:func:`~skdec.plotting.plot_embedding` projects it with PCA; pass
``method="tsne"`` for a t-SNE map instead.
"""

# %%
import matplotlib.pyplot as plt

from skdec import DECClusterer
from skdec.datasets import load_digits_scaled
from skdec.plotting import plot_cluster_examples, plot_embedding

X, y = load_digits_scaled()

# A small network keeps the documentation build fast (the default is the
# paper's 64-500-500-2000-10 autoencoder with 100 epochs per stage).
dec = DECClusterer(
    n_clusters=10,
    module__hidden_dims=(256, 64),
    module__latent_dim=10,
    pretrain_optimizer="adam",  # few steps on a small network: Adam
    pretrain_epochs=20,
    max_iter=1000,
    tol=0.01,
    random_state=0,
).fit(X)

# %%
# Coloured by cluster and by true digit
# -------------------------------------
# The crosses are the centroids, projected with the same PCA. Colours on the
# left are cluster numbers and on the right digits: the two numberings are
# unrelated, so compare the groupings, not the colours.
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
plot_embedding(dec, X, ax=left, random_state=0)
left.set_title("Coloured by DEC cluster")
plot_embedding(dec, X, labels=y, ax=right, show_centers=False, random_state=0)
right.set_title("Coloured by true digit")
plt.show()

# %%
# The most confident images of each cluster
# -----------------------------------------
# One row per cluster: the images with the highest soft assignment to it,
# most confident first, as in the figures of the DEC paper.
fig = plot_cluster_examples(dec, X, image_shape=(8, 8), n_examples=12)
plt.show()
