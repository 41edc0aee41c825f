"""The reclustering study's fits (see README.md); run as a script.

Usage: brb.py VARIANTS_JSON SEEDS OUT_JSON [EXTRA_PARAMS_JSON]
"""

import json
import os
import sys
import time


def main(variants, seeds, out, extra):
    # The patched tree (README.md), ahead of any installed skdec.
    sys.path.insert(0, os.environ.get("SKDEC_TREE", "/tmp/brb"))
    import torch
    from sklearn.metrics import normalized_mutual_info_score as nmi
    from sklearn.neighbors import NearestNeighbors

    from skdec import DECClusterer, IDECClusterer
    from skdec.datasets import load_digits_scaled
    from skdec.metrics import cluster_accuracy

    torch.set_num_threads(1)
    X, y = load_digits_scaled()

    def purity(Z, k=10):
        nn = NearestNeighbors(n_neighbors=k + 1).fit(Z)
        idx = nn.kneighbors(Z, return_distance=False)[:, 1:]
        return float((y[idx] == y[:, None]).mean())

    rows = []
    for seed in seeds:
        for v in variants:
            cls = IDECClusterer if v.get("cls") == "idec" else DECClusterer
            est = cls(
                10,
                random_state=seed,
                memory="brb_cache",
                max_iter=v.get("max_iter", 4000),
                **extra,
            )
            if v.get("opt"):
                est._cluster_optimizer = v["opt"]
                est.learning_rate = v["lr"]
            if v.get("plan"):
                est._recluster_plan = tuple(v["plan"])
            start = time.perf_counter()
            est.fit(X)
            labels = est.labels_
            row = dict(
                seed=seed,
                **v,
                acc=cluster_accuracy(y, labels),
                nmi=nmi(y, labels),
                n_iter=est.n_iter_,
                seconds=time.perf_counter() - start,
                purity=purity(est.transform(X)),
            )
            rows.append(row)
            print(json.dumps(row), flush=True)
    with open(out, "w") as file:
        json.dump(rows, file)


if __name__ == "__main__":
    main(
        json.loads(sys.argv[1]),
        [int(s) for s in sys.argv[2].split(",")],
        sys.argv[3],
        json.loads(sys.argv[4]) if len(sys.argv) > 4 else {},
    )
