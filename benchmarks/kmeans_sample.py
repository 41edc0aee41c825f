"""k-means start on large data: a 100,000-row sample against all rows.

DECClusterer fits its k-means start on a random sample of the embedding when
it has more than ``KMEANS_MAX_SAMPLES`` rows. This compares the centroids of
the sample with those of all rows on generated 10-D blobs (an embedding's
width): mean squared distance of all rows to their nearest centroid, ARI of
the assignment against the blobs, and seconds.

    OMP_NUM_THREADS=1 python -m benchmarks.kmeans_sample
"""

import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score, pairwise_distances_argmin_min

from skdec._dec import _kmeans_sample


def main(sizes=(300_000, 1_000_000)):
    print("| rows | fitted on | mean sq. distance (all rows) | ARI | seconds |")
    print("|---|---|---|---|---|")
    for n in sizes:
        X, y = make_blobs(n, n_features=10, centers=10, cluster_std=2.5, random_state=0)
        X = X.astype(np.float32)
        for name, data in (("all rows", X), ("100k sample", _kmeans_sample(X, 0))):
            start = time.perf_counter()
            centers = KMeans(10, n_init=20, random_state=0).fit(data).cluster_centers_
            seconds = time.perf_counter() - start
            labels, distances = pairwise_distances_argmin_min(X, centers)
            ari = adjusted_rand_score(y, labels)
            print(
                f"| {n} | {name} | {np.mean(distances**2):.4f} | {ari:.4f} "
                f"| {seconds:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
