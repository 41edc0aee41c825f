"""
=================================================
DEC against k-means and autoencoder + k-means
=================================================

DEC has three stages: pretraining an autoencoder, k-means on its embedding,
and joint refinement of the encoder and the centroids. Comparing it with
k-means on the pixels and with "autoencoder + k-means" (the first two stages
alone, ``max_iter=0``) shows what each stage brings on a given data set.

The digits are small and easy: k-means on the pixels is a strong baseline
there, and the network below is much smaller than DEC's default. With the
default network, the benchmark suite (since retired: see
``benchmarks/README.md``) measured a mean ACC of 0.841 for DEC against 0.791
for k-means on the digits (three seeds,
``benchmarks/results/digits-synthetic``). The DEC paper's gains are on larger,
harder data such as MNIST.
"""

# %%
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning

from skdec import DECClusterer
from skdec.datasets import load_digits_scaled
from skdec.metrics import (
    adjusted_rand_score,
    cluster_accuracy,
    normalized_mutual_info_score,
)

X, y = load_digits_scaled()

# A small network keeps the documentation build fast (the default is the
# paper's 64-500-500-2000-10 autoencoder, 200 epochs of SGD); so few steps on
# a small network train better with Adam.
network = dict(
    module__hidden_dims=(256, 64),
    module__latent_dim=10,
    pretrain_optimizer="adam",
    pretrain_epochs=20,
)
methods = {
    "k-means": KMeans(n_clusters=10, n_init=20, random_state=0),
    "AE + k-means": DECClusterer(n_clusters=10, max_iter=0, **network, random_state=0),
    "DEC": DECClusterer(n_clusters=10, max_iter=1000, **network, random_state=0),
}

scores = {}
for name, model in methods.items():
    start = time.perf_counter()
    with warnings.catch_warnings():
        # On the digits, a fraction of a percent of the labels keeps changing
        # between refreshes, above the default tol=0.001: max_iter ends the run.
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = model.fit_predict(X)
    seconds = time.perf_counter() - start
    scores[name] = [
        cluster_accuracy(y, labels),
        normalized_mutual_info_score(y, labels),
        adjusted_rand_score(y, labels),
    ]
    print(f"{name:<13} ACC {scores[name][0]:.3f}  NMI {scores[name][1]:.3f}  "
          f"ARI {scores[name][2]:.3f}  {seconds:5.1f} s")  # fmt: skip

# %%
# Both deep methods use the same random_state, so they share the same
# pretrained autoencoder and k-means initialisation: the difference between
# them is DEC's clustering stage alone.
metrics = ["ACC", "NMI", "ARI"]
width = 0.8 / len(scores)
fig, ax = plt.subplots(figsize=(7, 4))
for i, (name, values) in enumerate(scores.items()):
    bars = ax.bar(np.arange(3) + i * width, values, width, label=name)
    ax.bar_label(bars, fmt="%.2f", fontsize="small")
ax.set_xticks(np.arange(3) + width, metrics)
ax.set_ylim(0, 1.1)
ax.set_ylabel("score (higher is better)")
ax.set_title("Digits, 10 clusters")
ax.legend(loc="upper center", ncols=3)
plt.show()
