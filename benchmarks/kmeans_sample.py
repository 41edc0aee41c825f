"""k-means on a 100k sample vs all rows: inertia on all rows and time."""
import time
import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score, pairwise_distances_argmin_min
from skdec._dec import _kmeans_sample
for n in (300_000, 1_000_000):
    X, y = make_blobs(n, n_features=10, centers=10, cluster_std=2.5, random_state=0)
    X = X.astype(np.float32)
    for name, data in (("all rows", X), ("100k sample", _kmeans_sample(X, 0))):
        t = time.time()
        c = KMeans(10, n_init=20, random_state=0).fit(data).cluster_centers_
        s = time.time() - t
        lab, d = pairwise_distances_argmin_min(X, c)
        print(f"| {n} | {name} | {np.mean(d**2):.4f} | {adjusted_rand_score(y, lab):.4f} | {s:.1f} |", flush=True)
